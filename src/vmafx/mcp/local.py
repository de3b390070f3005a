"""Scoring on this machine when no farm is configured: the same `LibvmafScorer` and
`ScoreRequest` as `vmafx score`, run in a worker thread so the server keeps answering.

Progress (frames done of frames expected) goes back to the event loop for the client's progress
notifications; a cancelled tool call stops ffmpeg through the scorer's `CancelToken`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import anyio
import anyio.from_thread
import anyio.to_thread

from vmafx.config import ffmpeg_settings
from vmafx.core.metrics import libvmaf_feature
from vmafx.core.scores import ScoreReport
from vmafx.media.ffmpeg import ffmpeg_info
from vmafx.media.graph import ScoreOptions
from vmafx.media.runner import CancelToken, SubprocessRunner
from vmafx.media.scorer import LibvmafScorer, Scorer, ScoreRequest, default_threads

#: Called on the event loop with (frames done, frames expected).
OnProgress = Callable[[int, int], Awaitable[None]]
#: Builds the scorer; `vmafx score`'s by default, a fake in tests.
MakeScorer = Callable[[], Scorer]


def libvmaf_scorer() -> Scorer:
    """`vmafx score`'s scorer: VMAFX_FFMPEG or imageio-ffmpeg's binary, checked for libvmaf."""
    return LibvmafScorer(ffmpeg_info(ffmpeg_settings().path), SubprocessRunner())


def score_request(
    reference: str,
    distorted: Sequence[str],
    *,
    models: Sequence[str],
    features: Sequence[str],
    subsample: int,
    scale: bool,
    timeout_s: float | None,
) -> ScoreRequest:
    """The request `vmafx score REF DIS… --model … --feature …` builds (every core, feature
    vector on, no sync); a metric's user name becomes its extractor (`ssim` → `float_ssim`)."""
    options = ScoreOptions(
        models=tuple(models),
        features=tuple(dict.fromkeys(libvmaf_feature(name) for name in features)),
        subsample=subsample,
        threads=default_threads(),
        scale=scale,
    )
    return ScoreRequest(reference, tuple(distorted), options, timeout_s=timeout_s)


class LocalScoring:
    """Runs score requests one at a time (each already uses every core)."""

    def __init__(self, make_scorer: MakeScorer = libvmaf_scorer) -> None:
        self._make_scorer = make_scorer
        self._lock = anyio.Lock()
        self.last_versions: dict[str, str] = {}

    async def score(self, request: ScoreRequest, on_progress: OnProgress) -> ScoreReport:
        cancel = CancelToken()
        last = [-1]

        async def forward(done: int, total: int) -> None:
            await on_progress(done, total)

        def progress(done: int, total: int) -> None:  # in the worker thread
            if done != last[0]:
                last[0] = done
                anyio.from_thread.run(forward, done, total)

        def work() -> ScoreReport:
            return self._make_scorer().score(request, on_progress=progress, cancel=cancel)

        async with self._lock:
            try:
                report = await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
            except anyio.get_cancelled_exc_class():
                # The thread is left to finish: the token makes ffmpeg stop within moments.
                cancel.cancel("the MCP client cancelled the call")
                raise
        self.last_versions = dict(report.versions)
        return report
