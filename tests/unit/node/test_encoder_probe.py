"""Encoder verification with a scripted runner: trial per listed encoder, reasons, cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmafx.core.nodes import GpuInfo
from vmafx.errors import FfmpegCancelledError, FfmpegNotFoundError, FfmpegTimeoutError
from vmafx.media.encoders import HwDevices
from vmafx.media.runner import RunResult
from vmafx.node.encoder_probe import (
    NOT_BUILT,
    EncoderFailure,
    EncoderReport,
    headline,
    parse_encoder_list,
    probe_encoders,
)
from vmafx.testing import FakeRunner

ENCODERS_TEXT = """Encoders:
 V..... = Video
 ------
 V....D libx264              libx264 H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10 (codec h264)
 V....D libx265              libx265 H.265 / HEVC (codec hevc)
 V....D h264_nvenc           NVIDIA NVENC H.264 encoder (codec h264)
 V..... h264_qsv             H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10 (Intel Quick Sync Video acceleration) (codec h264)
 A....D aac                  AAC (Advanced Audio Coding)
"""
NVENC_STDERR = """[h264_nvenc @ 0x562f32815840] Cannot load libcuda.so.1
[vost#0:0/h264_nvenc @ 0x562f32814cc0] [enc:h264_nvenc @ 0x562f32815700] Error while opening encoder - maybe incorrect parameters such as bit_rate, rate, width or height.
[out#0/null @ 0x562f32814100] Nothing was written into output file, because at least one of its streams received no packets.
"""
L4 = GpuInfo(vendor="nvidia", name="NVIDIA L4", uuid="GPU-9", memory_mb=23034, driver="550.54.15")


def answer(argv: list[str]) -> RunResult:
    if "-encoders" in argv:
        return RunResult(argv, 0, "", 0.0, ENCODERS_TEXT)
    encoder = argv[argv.index("-c:v") + 1]
    if encoder == "h264_nvenc":
        return RunResult(argv, 255, NVENC_STDERR, 0.0)
    if encoder == "h264_qsv":
        raise FfmpegTimeoutError("ffmpeg ran past its timeout", argv=argv, stderr_tail="stuck")
    return RunResult(argv, 0, "", 0.0)


@pytest.fixture
def ffmpeg(tmp_path: Path) -> str:
    binary = tmp_path / "ffmpeg"
    binary.write_text("not really ffmpeg")
    return str(binary)


def probe(ffmpeg: str, runner: FakeRunner, cache: Path, **kwargs) -> EncoderReport:
    return probe_encoders(ffmpeg, runner, cache_dir=cache, **kwargs)


def trials(runner: FakeRunner) -> list[str]:
    return [argv[argv.index("-c:v") + 1] for argv in runner.calls if "-c:v" in argv]


def test_only_encoders_whose_trial_succeeded_are_verified(ffmpeg, tmp_path):
    report = probe(ffmpeg, FakeRunner(answer), tmp_path / "cache")
    assert report.verified == {"libx264", "libx265"}
    assert not report.from_cache


def test_a_listed_encoder_that_fails_its_trial_says_why(ffmpeg, tmp_path):
    report = probe(ffmpeg, FakeRunner(answer), tmp_path / "cache")
    failure = report.failures["h264_nvenc"]
    assert failure.reason == "exit code 255: Cannot load libcuda.so.1"
    assert "Nothing was written" in failure.stderr_tail


def test_a_trial_past_its_timeout_fails_and_names_the_timeout(ffmpeg, tmp_path):
    report = probe(ffmpeg, FakeRunner(answer), tmp_path / "cache", timeout_s=15)
    assert report.failures["h264_qsv"].reason == "trial encode ran past 15 s"


def test_an_encoder_this_ffmpeg_does_not_list_is_not_tried(ffmpeg, tmp_path):
    runner = FakeRunner(answer)
    report = probe(ffmpeg, runner, tmp_path / "cache")
    assert report.failures["libsvtav1"].reason == NOT_BUILT
    assert "libsvtav1" not in trials(runner)
    assert sorted(trials(runner)) == ["h264_nvenc", "h264_qsv", "libx264", "libx265"]


def test_a_crashing_driver_is_a_failure_not_an_error(ffmpeg, tmp_path):
    def crash(argv: list[str]) -> RunResult:
        if "-encoders" in argv:
            return RunResult(argv, 0, "", 0.0, ENCODERS_TEXT)
        raise FfmpegCancelledError("ffmpeg was killed by signal 11 before it finished.", argv=argv)

    report = probe(ffmpeg, FakeRunner(crash), tmp_path / "cache", encoders=["h264_nvenc"])
    assert (
        report.failures["h264_nvenc"].reason == "ffmpeg was killed by signal 11 before it finished."
    )


def test_a_missing_ffmpeg_is_an_error(ffmpeg, tmp_path):
    def missing(argv: list[str]) -> RunResult:
        raise FfmpegNotFoundError("Could not start ffmpeg", argv=argv)

    with pytest.raises(FfmpegNotFoundError):
        probe(ffmpeg, FakeRunner(missing), tmp_path / "cache")


def test_the_second_probe_reads_the_cache_and_runs_nothing(ffmpeg, tmp_path):
    first = probe(ffmpeg, FakeRunner(answer), tmp_path / "cache", gpus=[L4])
    runner = FakeRunner(answer)
    second = probe(ffmpeg, runner, tmp_path / "cache", gpus=[L4])
    assert runner.calls == []
    assert second.from_cache
    assert (second.verified, second.failures) == (first.verified, first.failures)


def test_refresh_probes_again(ffmpeg, tmp_path):
    probe(ffmpeg, FakeRunner(answer), tmp_path / "cache")
    runner = FakeRunner(answer)
    assert not probe(ffmpeg, runner, tmp_path / "cache", refresh=True).from_cache
    assert runner.calls


@pytest.mark.parametrize(
    "change",
    [
        {"gpus": [GpuInfo(vendor="nvidia", name="NVIDIA L4", uuid="GPU-9", driver="560.28.03")]},
        {"gpus": [GpuInfo(vendor="nvidia", name="Tesla P4", uuid="GPU-7", driver="550.54.15")]},
        {"devices": HwDevices(render_device="/dev/dri/renderD129")},
        {"encoders": ["libx264"]},
    ],
)
def test_a_new_driver_gpu_device_or_encoder_list_is_probed_again(ffmpeg, tmp_path, change):
    probe(ffmpeg, FakeRunner(answer), tmp_path / "cache", gpus=[L4])
    runner = FakeRunner(answer)
    kwargs = {"gpus": [L4], **change}
    assert not probe(ffmpeg, runner, tmp_path / "cache", **kwargs).from_cache


def test_a_rebuilt_ffmpeg_is_probed_again(ffmpeg, tmp_path):
    probe(ffmpeg, FakeRunner(answer), tmp_path / "cache")
    Path(ffmpeg).write_text("a different, newer build")
    assert not probe(ffmpeg, FakeRunner(answer), tmp_path / "cache").from_cache


def test_a_corrupt_cache_is_ignored(ffmpeg, tmp_path):
    probe(ffmpeg, FakeRunner(answer), tmp_path / "cache")
    for path in (tmp_path / "cache").iterdir():
        path.write_text("{ truncated")
    report = probe(ffmpeg, FakeRunner(answer), tmp_path / "cache")
    assert not report.from_cache and report.verified == {"libx264", "libx265"}


def test_an_unwritable_cache_costs_only_a_re_probe(ffmpeg, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    report = probe(ffmpeg, FakeRunner(answer), blocker / "cache")
    assert report.verified == {"libx264", "libx265"}


def test_the_report_survives_json():
    report = EncoderReport(
        frozenset({"libx264"}), {"h264_nvenc": EncoderFailure("no driver", "tail")}
    )
    assert EncoderReport.from_json(report.to_json()) == report


def test_the_encoder_list_parser_keeps_names_only():
    assert parse_encoder_list(ENCODERS_TEXT) == {
        "libx264", "libx265", "h264_nvenc", "h264_qsv", "aac",
    }  # fmt: skip


def test_the_headline_is_the_first_complaint_without_its_prefix():
    assert headline(NVENC_STDERR) == "Cannot load libcuda.so.1"
    assert headline("Svt[info]: banner\n[AMF @ 0x7f] DLL libamfrt64.so.1 failed to open\n") == (
        "DLL libamfrt64.so.1 failed to open"
    )
    assert headline("") == "no message"
