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

    def batch(self, kind: str, size: int, seconds: float) -> None:
        """A group commit (`claim`, `renewal`) served `size` requests in one store transaction
        that took `seconds`."""
        ...

    def swept(self, step: str, seconds: float) -> None:
        """A sweeper step (`lock`, `expire`, `refresh`, `prune`, `vacuum`) took `seconds`."""
        ...

    def loop_lag(self, seconds: float) -> None:
        """The event loop ran a due timer `seconds` late (something held it)."""
        ...

    def gc_pause(self, generation: int, seconds: float) -> None:
        """A garbage collection of `generation` (0-2) held the interpreter `seconds`."""
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

    def batch(self, kind: str, size: int, seconds: float) -> None:
        return None

    def swept(self, step: str, seconds: float) -> None:
        return None

    def loop_lag(self, seconds: float) -> None:
        return None

    def gc_pause(self, generation: int, seconds: float) -> None:
        return None


NO_METRICS: JobMetrics = _NoMetrics()
