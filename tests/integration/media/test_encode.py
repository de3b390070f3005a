"""Encode argv run by the real ffmpeg: every software encoder on a tiny lavfi-made source, with
trim, scale, audio and progress checked on the output; and every hardware encoder's options
checked against what this ffmpeg build declares (hardware is never run on real hardware here)."""

from __future__ import annotations

import re
from pathlib import Path

import av
import pytest

from vmafx.media.encoder_options import RateControl
from vmafx.media.encoders import ENCODERS, EncodeSpec, encode_argv
from vmafx.media.ffmpeg import locate
from vmafx.media.probe import probe
from vmafx.media.runner import Progress, SubprocessRunner, check_returncode

pytestmark = pytest.mark.integration

SOURCE_FPS = 24


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s of 160x96 testsrc2 at 24 fps with a sine tone, lossless (FFV1 + FLAC in Matroska)."""
    path = tmp_path_factory.mktemp("encode") / "source.mkv"
    argv = [
        locate(), "-hide_banner", "-nostdin", "-v", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size=160x96:rate={SOURCE_FPS}:duration=2",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2",
        "-c:v", "ffv1", "-c:a", "flac", str(path),
    ]  # fmt: skip
    check_returncode(SubprocessRunner().run(argv, timeout_s=30), "making the encode source")
    return path


@pytest.mark.parametrize(
    ("encoder", "codec"),
    [
        ("libx264", "h264"),
        ("libx265", "hevc"),
        ("libsvtav1", "av1"),
        ("libaom-av1", "av1"),
        ("libvpx-vp9", "vp9"),
    ],
)
def test_a_software_encode_trims_scales_and_decodes(source, tmp_path, encoder, codec):
    output = tmp_path / f"out_{encoder}.mkv"
    spec = EncodeSpec(
        source=str(source),
        output=str(output),
        codec=codec,
        hw="never",
        rate_control=RateControl("crf", 35),
        preset="ultrafast",
        width=96,
        height=64,
        trim_start_s=0.5,
        trim_duration_s=1.0,
    )
    progress: list[Progress] = []
    result = SubprocessRunner().run(
        encode_argv(locate(), spec, encoder), timeout_s=60, on_progress=progress.append
    )
    check_returncode(result, f"encoding with {encoder}")
    info = probe(str(output))
    assert (info.width, info.height) == (96, 64)
    assert info.codec in {codec, "libdav1d"}  # PyAV names AV1 by its decoder
    assert abs(info.frame_count - SOURCE_FPS) <= 1
    assert info.duration_s == pytest.approx(1.0, abs=0.1)
    assert progress and progress[-1].done


def test_audio_none_drops_the_audio_and_bitrate_mode_encodes(source, tmp_path):
    output = tmp_path / "silent.mp4"
    spec = EncodeSpec(
        source=str(source),
        output=str(output),
        codec="h264",
        hw="never",
        rate_control=RateControl("bitrate", 300),
        audio="none",
    )
    check_returncode(
        SubprocessRunner().run(encode_argv(locate(), spec, "libx264"), timeout_s=60), "encoding"
    )
    with av.open(str(output)) as container:
        assert [stream.type for stream in container.streams] == ["video"]


def _help(topic: str) -> str:
    runner = SubprocessRunner(max_stderr_lines=100_000)
    return runner.run([locate(), "-hide_banner", "-h", topic], timeout_s=30).stdout


def _options(text: str) -> dict[str, set[str]]:
    """Option name → its named constants, from one block of ffmpeg help."""
    options: dict[str, set[str]] = {}
    current: set[str] | None = None
    for line in text.splitlines():
        option = re.match(r"^\s{0,3}-([\w-]+)(\[:<stream_spec>\])?\s", line)
        constant = re.match(r"^\s{4,}(\w+)\s+-?\d+\s", line)
        if option:
            current = options.setdefault(option.group(1), set())
        elif constant and current is not None:
            current.add(constant.group(1))
    return options


@pytest.fixture(scope="module")
def generic_options() -> set[str]:
    """The ffmpeg CLI's own options and every encoder's common (AVCodecContext) options."""
    text = _help("full")
    cli = text.split("AVOptions:")[0]
    codec = text.split("AVCodecContext AVOptions:")[1]
    codec = re.split(r"\n\S[^\n]*AVOptions:", codec)[0]
    return set(_options(cli)) | set(_options(codec))


HARDWARE = sorted(name for name, info in ENCODERS.items() if info.hardware)


@pytest.mark.parametrize("encoder", HARDWARE)
def test_every_hardware_option_exists_in_this_ffmpeg_build(encoder, generic_options):
    private = _options(_help(f"encoder={encoder}"))
    codec = ENCODERS[encoder].codec
    for mode, value in (("crf", 28), ("qp", 30), ("bitrate", 2000)):
        spec = EncodeSpec(
            source="in.mov",
            output="out.mkv",
            codec=codec,
            hw="require",
            encoder=encoder,
            rate_control=RateControl(mode, value),
            preset="slow",
        )
        argv = encode_argv(locate(), spec, encoder)
        video = argv[argv.index("-c:v") + 2 : argv.index("-c:a")]
        for name, value_text in zip(video[::2], video[1::2], strict=True):
            key = name.lstrip("-").split(":")[0]
            assert key in private or key in generic_options, f"{encoder}: no option {name}"
            constants = private.get(key, set())
            if constants and not re.fullmatch(r"[-\d.]+k?", value_text):
                assert value_text in constants, f"{encoder}: {name} {value_text} not in {constants}"
