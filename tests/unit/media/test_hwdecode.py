"""NVDEC decoding for scoring, as argv and graph text: which inputs go to the GPU, how frames
come back, and what `--decode auto` picks. Never run on GPU hardware (docs/gpu.md)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from vmafx.core.media import VideoInfo
from vmafx.errors import UsageError
from vmafx.media.graph import Input, ScoreOptions, build_score_command
from vmafx.media.hwdecode import (
    AUTO_MIN_PIXELS,
    check_mode,
    choose_decode,
    download_chain,
    input_args,
    nvdec_format,
)


def info(path="x.mp4", w=1920, h=1080, pix_fmt="yuv420p", codec="h264"):
    return VideoInfo(path, w, h, pix_fmt, 8, Fraction(24), False, 10, 10 / 24, codec, "mp4")


def graph_of(argv):
    return argv[argv.index("-filter_complex") + 1]


def options_before(argv, url):
    """The argv items between the previous input's `-i URL` and this input's `-i url`."""
    end = argv.index(url)
    starts = [i + 2 for i, a in enumerate(argv[: end - 1]) if a == "-i"]
    return argv[(starts[-1] if starts else 0) : end]


@pytest.mark.parametrize(
    ("pix_fmt", "chain"),
    [
        ("yuv420p", "hwdownload,format=nv12,format=yuv420p"),
        ("yuv420p10le", "hwdownload,format=p010le,format=yuv420p10le"),
        ("yuv444p", "hwdownload,format=yuv444p"),
    ],
)
def test_frames_come_back_in_the_inputs_own_pixel_format(pix_fmt, chain):
    assert download_chain(info(pix_fmt=pix_fmt)) == chain


def test_inputs_nvdec_cannot_take_stay_on_the_cpu():
    assert nvdec_format(info(codec="rawvideo")) is None  # y4m, raw YUV
    assert nvdec_format(info(pix_fmt="yuv422p")) is None  # 4:2:2: Blackwell only
    assert nvdec_format(info(pix_fmt="yuvj420p")) is None  # full range: not a plain copy
    assert nvdec_format(info(codec="prores")) is None
    with pytest.raises(ValueError, match="cannot be decoded"):
        download_chain(info(codec="prores"))


def test_the_gpu_ordinal_is_passed_when_known():
    assert input_args() == ["-hwaccel", "cuda", "-hwaccel_output_format", "cuda"]
    assert input_args(3)[-2:] == ["-hwaccel_device", "3"]


def test_cuda_decode_keeps_frames_on_the_gpu_until_the_graph_downloads_them():
    ref, dis = info("ref.mp4"), info("dis.mp4", pix_fmt="yuv420p10le", codec="hevc")
    cmd = build_score_command(
        "ffmpeg",
        (Input("ref.mp4"), ref),
        [(Input("dis.mp4"), dis)],
        ScoreOptions(decode="cuda", cuda_device=1),
        "/t",
    )
    for url in ("file:ref.mp4", "file:dis.mp4"):
        before = options_before(cmd.argv, url)
        assert before[before.index("-hwaccel") : before.index("-hwaccel") + 6] == [
            "-hwaccel", "cuda", "-hwaccel_output_format", "cuda", "-hwaccel_device", "1",
        ]  # fmt: skip
    graph = graph_of(cmd.argv)
    assert graph.startswith("[0:v]hwdownload,format=nv12,format=yuv420p,settb=1/24,setpts=N")
    # the 10-bit distorted comes back as P010, then to its own format, then to the reference's
    assert (
        "[1:v]hwdownload,format=p010le,format=yuv420p10le,settb=1/24,setpts=N,format=yuv420p[d0]"
        in graph
    )
    assert cmd.decoded == ["cuda", "cuda"]


def test_a_y4m_reference_is_decoded_on_the_cpu_beside_a_gpu_decoded_distorted():
    ref = info("ref.y4m", codec="rawvideo")
    cmd = build_score_command(
        "ffmpeg",
        (Input("ref.y4m"), ref),
        [(Input("dis.mp4"), info("dis.mp4"))],
        ScoreOptions(decode="cuda"),
        "/t",
    )
    assert "-hwaccel" not in options_before(cmd.argv, "file:ref.y4m")
    assert "-hwaccel" in options_before(cmd.argv, "file:dis.mp4")
    graph = graph_of(cmd.argv)
    assert graph.startswith("[0:v]settb=")
    assert "[1:v]hwdownload," in graph
    assert cmd.decoded == ["cpu", "cuda"]


def test_cpu_decode_builds_the_command_it_always_built():
    args = ((Input("ref.mp4"), info("ref.mp4")), [(Input("d.mp4"), info("d.mp4"))])
    plain = build_score_command("ffmpeg", *args, ScoreOptions(), "/t")
    assert "-hwaccel" not in plain.argv
    assert "hwdownload" not in graph_of(plain.argv)
    assert plain.decoded == ["cpu", "cpu"]


def test_auto_decodes_on_the_gpu_only_with_a_gpu_and_large_frames():
    big, small = info(), info(w=576, h=324)
    assert AUTO_MIN_PIXELS == 1920 * 1080
    choice = choose_decode("auto", big, [big], nvidia_gpu=True)
    assert (choice.used, choice.asked) == ("cuda", "auto")
    no_gpu = choose_decode("auto", big, [big], nvidia_gpu=False)
    assert (no_gpu.used, no_gpu.reason) == ("cpu", "no NVIDIA GPU detected")
    too_small = choose_decode("auto", small, [small], nvidia_gpu=True)
    assert too_small.used == "cpu"
    assert "576x324" in too_small.reason
    assert choose_decode("auto", small, [small], nvidia_gpu=True, min_pixels=1).used == "cuda"


def test_cuda_asked_for_inputs_nvdec_cannot_decode_is_a_cpu_run_that_says_why():
    raw = info("ref.y4m", codec="rawvideo")
    choice = choose_decode("cuda", raw, [info("dis.y4m", codec="rawvideo")], nvidia_gpu=True)
    assert choice.used == "cpu"
    assert "ref.y4m is rawvideo" in choice.reason
    assert choose_decode("cuda", raw, [info()], nvidia_gpu=False).used == "cuda"
    assert choose_decode("cpu", info(), [info()], nvidia_gpu=True).to_json() == {
        "asked": "cpu", "used": "cpu", "reason": "asked for",
    }  # fmt: skip


def test_an_unknown_mode_is_a_usage_error_that_lists_the_modes():
    with pytest.raises(UsageError, match="--decode 'gpu'") as caught:
        check_mode("gpu")
    assert "cpu (the default), cuda" in (caught.value.hint or "")
