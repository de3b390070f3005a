"""`FakeClipExecutor`: a `ClipExecutor` that answers in-process, for tests of the driver.

It runs no ffmpeg and no worker process: `respond(job)` decides each outcome (by default a
plausible scored row from `fake_values`), and every job, cancel and close is recorded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from vmafx.core.features import NAMES_V1
from vmafx.core.pooling import POOL_METHODS
from vmafx.corpus.clips import ClipJob, ClipOutcome, ClipScored, Value


def fake_values(job: ClipJob) -> dict[str, Value]:
    """Measured columns as a real run has them, with values derived from the clip id."""
    seed = sum(job.id.encode()) % 97
    values: dict[str, Value] = {
        "width": 64,
        "height": 36,
        "fps": 24.0,
        "frame_count": 8,
        "scored_frames": 8,
    }
    values |= {f"vmaf_{p}": 50.0 + seed / 10 + i for i, p in enumerate(POOL_METHODS)}
    values |= {name: seed / 100 + i / 1000 for i, name in enumerate(NAMES_V1)}
    values |= {"ffmpeg_version": "fake-ffmpeg", "libvmaf_version": "fake-libvmaf"}
    return values


def scored(job: ClipJob) -> ClipOutcome:
    return ClipScored(job.id, fake_values(job), 0.01)


@dataclasses.dataclass
class FakeClipExecutor:
    """Outcomes from `respond`, in job order; records what it was asked."""

    respond: Callable[[ClipJob], ClipOutcome] = scored
    seen: list[str] = dataclasses.field(default_factory=list)
    cancelled: bool = False
    closed: bool = False

    def run(self, jobs: Iterable[ClipJob]) -> Iterator[ClipOutcome]:
        for job in jobs:
            self.seen.append(job.id)
            yield self.respond(job)

    def cancel(self) -> None:
        self.cancelled = True

    def close(self) -> None:
        self.closed = True

    def describe(self) -> dict[str, Any]:
        return {"executor": "fake"}
