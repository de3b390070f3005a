"""LibvmafScorer with a scripted ffmpeg: sizes refused before the run, metrics checked after it,
crashes on odd inputs reported as libvmaf's, flat references warned about."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import pytest

from vmafx.core.media import VideoInfo
from vmafx.errors import (
    FfmpegCancelledError,
    LibvmafCrashError,
    MetricUnavailableError,
    MissingMetricError,
)
from vmafx.media.ffmpeg import FfmpegInfo
from vmafx.media.graph import ScoreOptions
from vmafx.media.runner import RunResult
from vmafx.media.scorer import LibvmafScorer, ScoreRequest
from vmafx.node.outcomes import is_machine_fault
from vmafx.testing import FakeRunner

FRAMES = 4
DECODED = "".join(
    f"[in#{i}/mp4 @ 0x1]   Input stream #{i}:0 (video): 4 packets read (99 bytes); "
    f"{FRAMES} frames decoded; 0 decode errors;\n"
    for i in range(2)
)
VMAF_FRAME = {
    **{f"integer_adm_scale{i}": 0.95 for i in range(4)},
    **{f"integer_vif_scale{i}": 0.9 for i in range(4)},
    "integer_adm2": 0.95,
    "integer_aim": 0.0,
    "integer_motion2": 1.0,
    "mse_y": 10.0,
    "vmaf_v0.6.1": 90.0,
}


def info(width: int, height: int, path: str) -> VideoInfo:
    return VideoInfo(
        path, width, height, "yuv420p", 8, Fraction(25), False, FRAMES, 0.16, "h264", "mp4"
    )


def scorer_for(
    runner: FakeRunner, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> LibvmafScorer:
    scorer = LibvmafScorer(FfmpegInfo("ffmpeg", "9.0", frozenset({"libvmaf"})), runner)
    probed = (info(*size, "ref.mp4"), [info(*size, "dis.mp4")])
    monkeypatch.setattr(scorer, "probe_all", lambda request: probed)
    return scorer


def writes_log(metrics: dict[str, float]) -> FakeRunner:
    """A runner whose ffmpeg 'succeeds' and writes a libvmaf log with `metrics` every frame."""

    def respond(argv: list[str]) -> RunResult:
        graph = argv[argv.index("-filter_complex") + 1]
        for path in re.findall(r"log_path=(.+?vmaf_\d+\.json)", graph):
            frames = [{"frameNum": n, "metrics": metrics} for n in range(FRAMES)]
            Path(path).write_text(json.dumps({"version": "3", "frames": frames}))
        return RunResult(argv, 0, DECODED, 0.1)

    return FakeRunner(respond)


def request(*features: str) -> ScoreRequest:
    return ScoreRequest(
        "ref.mp4", ("dis.mp4",), ScoreOptions(features=features, feature_vector=False)
    )


def test_a_metric_libvmaf_silently_skipped_fails_the_run(monkeypatch):
    scorer = scorer_for(writes_log(VMAF_FRAME), (1920, 1080), monkeypatch)
    with pytest.raises(MissingMetricError) as caught:
        scorer.score(request("float_ms_ssim"))
    assert caught.value.metric == "float_ms_ssim" and caught.value.distorted == "dis.mp4"


def test_a_metric_the_size_rules_out_is_refused_before_ffmpeg_runs(monkeypatch):
    runner = writes_log(VMAF_FRAME)
    with pytest.raises(MetricUnavailableError):
        scorer_for(runner, (160, 90), monkeypatch).score(request("cambi"))
    assert runner.calls == []


def crashing(returncode: int) -> FakeRunner:
    def respond(argv: list[str]) -> RunResult:
        raise FfmpegCancelledError(
            f"ffmpeg was killed by signal {-returncode} before it finished.",
            argv=argv,
            returncode=returncode,
            hint="Nothing was scored; check memory (a 4K job takes ~1.25 GB) and run it again.",
        )

    return FakeRunner(respond)


def test_a_segfault_on_a_small_input_is_a_libvmaf_crash_the_farm_does_not_retry(monkeypatch):
    scorer = scorer_for(crashing(-11), (40, 40), monkeypatch)
    with pytest.raises(LibvmafCrashError) as caught:
        scorer.score(request())
    error = caught.value
    assert error.signal == 11 and error.exit_code == 9
    assert "libvmaf crashed (SIGSEGV, signal 11)" in error.message and "40x40" in error.message
    assert "check memory" not in str(error)
    assert error.__context__ is None and not is_machine_fault(error)


def test_a_kill_on_an_ordinary_input_stays_a_machine_fault(monkeypatch):
    for returncode, size in ((-11, (1920, 1080)), (-9, (40, 40))):
        scorer = scorer_for(crashing(returncode), size, monkeypatch)
        with pytest.raises(FfmpegCancelledError) as caught:
            scorer.score(request())
        assert is_machine_fault(caught.value)


def test_a_flat_reference_gives_a_warning_and_keeps_the_score(monkeypatch):
    flat = {**VMAF_FRAME, "vmaf_v0.6.1": 97.428043, "mse_y": 47961.0}
    flat.update({f"integer_adm_scale{i}": 1.0 for i in range(4)})
    result = scorer_for(writes_log(flat), (320, 180), monkeypatch).score(request()).results[0]
    assert result.pooled["vmaf_v0.6.1"].mean == pytest.approx(97.428043)
    assert len(result.warnings) == 1 and "flat" in result.warnings[0]
    assert result.as_dict()["warnings"] == list(result.warnings)


def test_a_textured_reference_gives_no_warning(monkeypatch):
    result = scorer_for(writes_log(VMAF_FRAME), (320, 180), monkeypatch).score(request())
    assert result.results[0].warnings == ()
    assert result.as_dict()["results"][0]["warnings"] == []


def test_one_model_is_keyed_by_its_name_and_the_old_vmaf_key_stays_as_an_alias(monkeypatch):
    result = scorer_for(writes_log(VMAF_FRAME), (320, 180), monkeypatch).score(request()).results[0]
    assert list(result.pooled) == ["vmaf_v0.6.1"] and result.models == ("vmaf_v0.6.1",)
    pooled = result.as_dict()["pooled"]
    assert pooled["vmaf"] == pooled["vmaf_v0.6.1"] and pooled["vmaf"]["mean"] == 90.0
