"""Scoring with no probe run first (`LibvmafScorer(unprobed=True)`, issue 13): the same report
and the same refusals as the probed path, with fewer ffmpeg runs."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import MEDIA

from vmafx.core.scores import ScoreReport
from vmafx.errors import MismatchError, NotVideoError, VmafxError
from vmafx.media.ffmpeg import locate
from vmafx.media.graph import ScoreOptions
from vmafx.media.inputprobe import locate_ffmpeg
from vmafx.media.runner import RunResult, SubprocessRunner
from vmafx.media.scorer import LibvmafScorer, ScoreRequest

pytestmark = pytest.mark.integration
REF = str(MEDIA / "ref.y4m")


class CountingRunner(SubprocessRunner):
    def __init__(self) -> None:
        super().__init__()
        self.argvs: list[list[str]] = []

    def run(self, argv: Sequence[str], **kwargs: Any) -> RunResult:
        self.argvs.append(list(argv))
        return super().run(argv, **kwargs)

    @property
    def probes(self) -> int:
        return sum("-filter_complex" not in argv for argv in self.argvs)


def _score(request: ScoreRequest, *, unprobed: bool) -> tuple[ScoreReport, CountingRunner]:
    runner = CountingRunner()
    report = LibvmafScorer(locate_ffmpeg(), runner, unprobed=unprobed).score(request)
    return report, runner


def _essence(report: ScoreReport) -> list[dict[str, Any]]:
    """Everything a report says about each input, but the time it took."""
    return [
        {
            "distorted": r.distorted,
            "frame_count": r.frame_count,
            "scored_frames": r.scored_frames,
            "pooled": r.pooled,
            "frames": r.frames,
            "features": r.features,
            "adjustments": r.adjustments,
            "warnings": r.warnings,
        }
        for r in report.results
    ] + [report.versions]


@pytest.fixture(scope="module")
def other_pix_fmt(tmp_path_factory: pytest.TempPathFactory) -> str:
    """dis.mp4's frames in 4:4:4 (the graph then needs a format filter)."""
    out = tmp_path_factory.mktemp("pixfmt") / "dis444.mkv"
    subprocess.run(
        [locate(), "-hide_banner", "-v", "error", "-y", "-i", str(MEDIA / "dis.mp4"),
         "-pix_fmt", "yuv444p", "-c:v", "libx264", "-crf", "30", str(out)],
        check=True,
    )  # fmt: skip
    return str(out)


@pytest.mark.parametrize(
    ("distorted", "runs"),
    [
        (("dis.mp4",), 1),
        (("dis.mkv",), 1),
        (("dis.webm",), 1),
        (("dis.ivf",), 1),
        (("dis.mov",), 1),
        (("dis.mp4", "dis.webm", "dis.mkv"), 1),
        (("dis_small.mp4",), 2),  # needs a scale filter: the scaled graph runs second
    ],
)
def test_the_unprobed_run_reports_what_the_probed_path_reports(
    distorted: tuple[str, ...], runs: int
):
    request = ScoreRequest(REF, tuple(str(MEDIA / d) for d in distorted), ScoreOptions(threads=2))
    probed, probed_runner = _score(request, unprobed=False)
    unprobed, runner = _score(request, unprobed=True)
    assert _essence(unprobed) == _essence(probed)
    assert probed_runner.probes == 1
    assert runner.probes == 0
    assert len(runner.argvs) == runs


def test_a_pixel_format_that_differs_gets_the_format_filter_without_a_probe(other_pix_fmt: str):
    request = ScoreRequest(REF, (other_pix_fmt,), ScoreOptions(threads=2))
    probed, _ = _score(request, unprobed=False)
    unprobed, runner = _score(request, unprobed=True)
    assert _essence(unprobed) == _essence(probed)
    assert unprobed.results[0].adjustments == ("format=yuv420p",)
    assert [("format=yuv420p" in " ".join(argv)) for argv in runner.argvs] == [False, True]


@pytest.mark.parametrize(
    ("distorted", "error", "words"),
    [
        ("dis_30fps.mp4", MismatchError, "fps; frames would be compared out of step"),
        ("dis_short.mp4", MismatchError, "has 6; comparing them frame by frame"),
        ("corrupt.mp4", NotVideoError, "is not a video vmafx can read"),
    ],
)
def test_refusals_are_the_probed_paths_word_for_word(
    distorted: str, error: type[VmafxError], words: str
):
    request = ScoreRequest(REF, (str(MEDIA / distorted),), ScoreOptions(threads=2))
    with pytest.raises(error) as probed:
        _score(request, unprobed=False)
    with pytest.raises(error) as unprobed:
        _score(request, unprobed=True)
    assert words in unprobed.value.message
    assert unprobed.value.message == probed.value.message


def test_a_missing_input_is_refused_before_ffmpeg_starts(tmp_path: Path):
    runner = CountingRunner()
    request = ScoreRequest(REF, (str(tmp_path / "gone.mp4"),), ScoreOptions(threads=2))
    with pytest.raises(VmafxError, match="gone.mp4"):
        LibvmafScorer(locate_ffmpeg(), runner, unprobed=True).score(request)
    assert runner.argvs == []


def test_a_frame_rate_sync_or_several_passes_are_probed_as_before():
    dis = (str(MEDIA / "dis.mp4"), str(MEDIA / "dis.mkv"))
    for request in (
        ScoreRequest(REF, dis[:1], ScoreOptions(threads=2, sync_fps=True)),
        ScoreRequest(REF, dis, ScoreOptions(threads=2), max_parallel=1),
    ):
        _, runner = _score(request, unprobed=True)
        assert runner.probes == 1
