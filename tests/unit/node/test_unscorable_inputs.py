"""Inputs libvmaf cannot score fail the job at once (never retried as a machine fault); a score
job's result carries the scorer's warnings."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import MEDIA

from vmafx.core.jobs import Job, JobKind, Requirements
from vmafx.core.pooling import pool
from vmafx.core.scores import ScoreReport, ScoreResult
from vmafx.core.specs import parse_spec, validate_spec
from vmafx.errors import (
    FfmpegCancelledError,
    InputTooSmallError,
    LibvmafCrashError,
    MetricUnavailableError,
    MissingMetricError,
)
from vmafx.media.runner import CancelToken
from vmafx.node.handlers.base import JobContext
from vmafx.node.handlers.score import ScoreHandler
from vmafx.node.outcomes import Verdict, decide, is_machine_fault
from vmafx.node.placement import GpuPool


def crash() -> LibvmafCrashError:
    return LibvmafCrashError(
        "libvmaf crashed (SIGSEGV, signal 11) while scoring against /m/tiny.mp4 (40x40, yuv420p).",
        signal=11,
        returncode=-11,
    )


@pytest.mark.parametrize(
    "error",
    [
        InputTooSmallError("libvmaf needs frames of at least 18x18", path="/m/a", size="16x16"),
        MetricUnavailableError("cambi needs 216", metric="cambi", path="/m/a", size="160x90"),
        MissingMetricError("no cambi values for /m/b", metric="cambi", distorted="/m/b"),
        crash(),
    ],
)
def test_an_input_libvmaf_cannot_score_fails_at_once_with_its_message(error):
    decision = decide(error, CancelToken(), attempt=1, node="n")
    assert (decision.verdict, decision.outcome, decision.message) == (
        Verdict.FAIL,
        "failed",
        str(error),
    )


def wrapped_crash() -> None:
    try:
        raise FfmpegCancelledError("ffmpeg was killed by signal 11", returncode=-11)
    except FfmpegCancelledError as inner:
        raise crash() from inner


def test_a_libvmaf_crash_is_the_inputs_fault_even_when_it_wraps_a_signal():
    with pytest.raises(LibvmafCrashError) as caught:
        wrapped_crash()
    assert not is_machine_fault(caught.value)


@dataclasses.dataclass
class WarningScorer:
    warnings: tuple[str, ...]

    def score(self, request, *, on_progress=None, cancel=None) -> ScoreReport:
        vmaf = [97.4] * 4
        result = ScoreResult(
            distorted=request.distorted[0],
            frame_count=4,
            scored_frames=4,
            pooled={"vmaf": pool(vmaf)},
            frames={"vmaf": vmaf},
            frame_nums=(0, 1, 2, 3),
            features=None,
            warnings=self.warnings,
        )
        return ScoreReport(request.reference, (result,), {"ffmpeg": "9", "libvmaf": "3"}, 1.0)


def score_context(root: Path) -> JobContext:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    spec: dict[str, Any] = {
        "reference": str(root / "ref.y4m"),
        "distorted": [str(root / "dis.mp4")],
        "per_frame": False,
    }
    job = Job(
        id="0b5e6c1a-2d3f-4e5a-8b9c-0d1e2f3a4b5c",
        tenant="dev",
        kind=JobKind.SCORE,
        queue="score",
        spec=validate_spec(JobKind.SCORE, spec),
        created_at=now,
        updated_at=now,
        available_at=now,
        requirements=Requirements(),
        attempt=1,
    )
    return JobContext(
        job=job,
        spec=parse_spec(job.kind, job.spec),
        scoring_roots=(str(root),),
        cancel=CancelToken(),
        progress=lambda p: None,
        gpus=GpuPool(),
    )


def test_a_score_jobs_result_carries_the_warnings_per_input_and_at_the_top(tmp_path):
    root = tmp_path / "media"
    root.mkdir()
    for name in ("ref.y4m", "dis.mp4"):
        shutil.copy(MEDIA / name, root / name)
    warning = "The reference is flat (no detail for VMAF to compare) in 4 of 4 scored frames"
    output = ScoreHandler(WarningScorer((warning,)), tmp_path / "out").run(score_context(root))
    assert output.result["results"][0]["warnings"] == [warning]
    assert output.result["warnings"] == [f"{root / 'dis.mp4'}: {warning}"]
    assert output.score == pytest.approx(97.4)
