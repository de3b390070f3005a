"""Fakes shipped with vmafx for tests (its own and its users'): same ports, no subprocess."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from vmafx.media.runner import CancelToken, Progress, ProgressCallback, RunResult


@dataclasses.dataclass
class FakeRunner:
    """An `FfmpegRunner` that answers from a script and records every argv it was given.

    `respond(argv) -> RunResult` decides the answer; `progress` frames are reported first.
    """

    respond: Callable[[list[str]], RunResult]
    progress: Sequence[Progress] = ()
    calls: list[list[str]] = dataclasses.field(default_factory=list)

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout_s: float | None = None,
        cancel: CancelToken | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> RunResult:
        self.calls.append(list(argv))
        for step in self.progress:
            if on_progress is not None:
                on_progress(step)
        return self.respond(list(argv))


def ok(stdout: str = "", stderr: str = "") -> Callable[[list[str]], RunResult]:
    """A response that always succeeds with the given output."""
    return lambda argv: RunResult(argv, 0, stderr, 0.0, stdout)
