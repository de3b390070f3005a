"""`--max-parallel N`: several distorted inputs scored in passes of at most N (issue 13 item 3)."""

from __future__ import annotations

import pytest
from tests.conftest import MEDIA

from vmafx.media.graph import ScoreOptions
from vmafx.media.inputprobe import locate_ffmpeg
from vmafx.media.runner import RunResult, SubprocessRunner
from vmafx.media.scorer import LibvmafScorer, ScoreRequest

pytestmark = pytest.mark.integration
REF = str(MEDIA / "ref.y4m")
DISTORTED = tuple(str(MEDIA / name) for name in ("dis.mp4", "dis.mkv", "dis.mov"))


class CountingRunner(SubprocessRunner):
    def __init__(self) -> None:
        super().__init__()
        self.scoring: list[list[str]] = []

    def run(self, argv, **kwargs) -> RunResult:  # type: ignore[no-untyped-def,override]
        if "-filter_complex" in argv:
            self.scoring.append(list(argv))
        return super().run(argv, **kwargs)


def _score(max_parallel: int | None) -> tuple[dict[str, float], int]:
    runner = CountingRunner()
    scorer = LibvmafScorer(locate_ffmpeg(), runner)
    options = ScoreOptions(features=("ffmpeg:psnr",), threads=2, feature_vector=False)
    request = ScoreRequest(REF, DISTORTED, options, max_parallel=max_parallel)
    report = scorer.score(request)
    means = {f"{r.distorted} {k}": p.mean for r in report.results for k, p in r.pooled.items()}
    return means, len(runner.scoring)


def test_max_parallel_scores_in_passes_with_the_same_figures_in_the_same_order():
    together, runs = _score(None)
    apart, passes = _score(2)
    assert (runs, passes) == (1, 2)
    assert list(apart) == list(together) and apart == together
