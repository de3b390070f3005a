"""Start `vmafx score`'s probe run before the rest of the scoring path is imported.

`vmafx score` runs ffmpeg twice: one probe of every input (`vmafx.media.inputprobe`), then the
scoring run. The probe needs only the ffmpeg path and the input paths, so it can start as soon
as the command line is parsed; the scorer, the graph builder and the output code are imported
while it runs (issue 13: process start to the scoring ffmpeg in ≤ 100 ms). `PrestartedRunner`
hands the running probe to the first `run` asked for with exactly its argv; any other argv
(a later change to how inputs are probed, a remote input) starts its own process as before, and
the early one is stopped. Nothing changes in what a command means: the input policy's checks
run on every path before the early probe starts, exactly as `probe_inputs` runs them, and where
one fails no probe starts early and the normal path reports the error in its usual order.
"""

from __future__ import annotations

from collections.abc import Sequence

from vmafx.errors import VmafxError
from vmafx.media.runner import (
    CancelToken,
    ProgressCallback,
    RunResult,
    Started,
    SubprocessRunner,
)


class PrestartedRunner:
    """A `SubprocessRunner` whose first run may already be under way."""

    def __init__(self, inner: SubprocessRunner, started: Started | None) -> None:
        self._inner = inner
        self._started = started

    @property
    def prestarted(self) -> bool:
        """Whether a run is waiting to be claimed."""
        return self._started is not None

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout_s: float | None = None,
        cancel: CancelToken | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> RunResult:
        started, self._started = self._started, None
        if started is not None:
            if list(argv) == started.argv and on_progress is None:
                return self._inner.finish(started, timeout_s=timeout_s, cancel=cancel)
            self._inner.discard(started)
        return self._inner.run(argv, timeout_s=timeout_s, cancel=cancel, on_progress=on_progress)

    def close(self) -> None:
        """Stop a run nobody claimed (the command failed before it needed the probe)."""
        started, self._started = self._started, None
        if started is not None:
            self._inner.discard(started)


def prestart_probe(
    ffmpeg: str, paths: Sequence[str], has_raw: bool, *, early: bool = True
) -> PrestartedRunner:
    """A runner with the probe of `paths` already started where that is safe: local files that
    pass the input policy (no URL: those are probed as they always were), no raw YUV (whose
    format comes from options checked later). `early=False`: none (the scorer was told to try
    without a probe run, `LibvmafScorer(unprobed=True)`)."""
    from vmafx.media.inputprobe import probe_command  # noqa: PLC0415
    from vmafx.media.probe import _check_exists, is_raw  # noqa: PLC0415

    runner = SubprocessRunner()
    if not early or has_raw or any("://" in path or is_raw(path) for path in paths):
        return PrestartedRunner(runner, None)
    try:
        for path in paths:
            _check_exists(path)
        started = runner.start(probe_command(ffmpeg, paths))
    except VmafxError:
        return PrestartedRunner(runner, None)
    return PrestartedRunner(runner, started)
