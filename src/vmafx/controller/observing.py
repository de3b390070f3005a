"""What the service tells its metrics about, as a port (`ControllerMetrics` implements it with
prometheus-client; `NO_METRICS` ignores everything, for tests and tools)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from vmafx.core.jobs import Job


class JobMetrics(Protocol):
    def submitted(self, jobs: Sequence[Job]) -> None:
        """New jobs were stored."""
        ...

    def claimed(self, job: Job, seconds: float | None = None) -> None:
        """A node claimed `job` (now running under attempt `job.attempt`); `seconds`: how long
        the controller took to hand it out once there was work for the puller."""
        ...

    def finished(self, job: Job) -> None:
        """`job` just reached a terminal state."""
        ...

    def requeued(self, reason: str, count: int = 1) -> None:
        """Running jobs went back to pending (`lease_expired`, `released`, `drained`)."""
        ...


class _NoMetrics:
    def submitted(self, jobs: Sequence[Job]) -> None:
        return None

    def claimed(self, job: Job, seconds: float | None = None) -> None:
        return None

    def finished(self, job: Job) -> None:
        return None

    def requeued(self, reason: str, count: int = 1) -> None:
        return None


NO_METRICS: JobMetrics = _NoMetrics()
