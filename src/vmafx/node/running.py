"""The jobs this node runs now: what the heartbeat names, and where a cancel is delivered.

Handlers update a task's progress from their worker thread (one attribute assignment); the
event loop reads it for heartbeats and partial reports.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter

from vmafx.core.messages import Claim, JobRef, NodeRegistration, RunningJob
from vmafx.media.runner import CancelToken
from vmafx.node.handlers.base import JobProgress

#: Why ffmpeg was stopped, as the node says it.
CANCELLED_BY_CONTROLLER = "cancelled by the controller"
SHUTTING_DOWN = "node shutting down"
LEASE_LOST = "lease lost: the controller no longer knows this node's session"


@dataclasses.dataclass(eq=False)
class RunningTask:
    claim: Claim
    session: NodeRegistration
    cancel: CancelToken = dataclasses.field(default_factory=CancelToken)
    started: float = dataclasses.field(default_factory=time.monotonic)
    progress: JobProgress | None = None

    @property
    def job_id(self) -> str:
        return self.claim.job.id

    @property
    def ref(self) -> JobRef:
        return JobRef(self.claim.job.id, self.claim.job.attempt)

    def running_job(self) -> RunningJob:
        progress = self.progress or JobProgress()
        return RunningJob(
            job_id=self.job_id,
            attempt=self.claim.job.attempt,
            progress=progress.fraction,
            frames=progress.frames,
            fps=progress.fps,
            eta_s=progress.eta_s,
            phase=progress.phase,
            encoder=progress.encoder,
        )


class RunningJobs:
    def __init__(self) -> None:
        self._tasks: dict[str, RunningTask] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._tasks

    def add(self, task: RunningTask) -> None:
        self._tasks[task.job_id] = task

    def remove(self, task: RunningTask) -> None:
        if self._tasks.get(task.job_id) is task:
            del self._tasks[task.job_id]

    def tasks(self) -> list[RunningTask]:
        return list(self._tasks.values())

    def snapshot(self, session: NodeRegistration | None = None) -> list[RunningJob]:
        """What a heartbeat names, sorted by job id (only jobs claimed under `session`)."""
        return [
            task.running_job()
            for task in sorted(self._tasks.values(), key=lambda t: t.job_id)
            if session is None or task.session.node_id == session.node_id
        ]

    def by_queue(self) -> dict[str, int]:
        return dict(Counter(task.claim.job.queue for task in self._tasks.values()))

    def cancel(self, job_id: str, reason: str) -> bool:
        task = self._tasks.get(job_id)
        if task is None or task.cancel.cancelled:
            return False
        task.cancel.cancel(reason)
        return True

    def cancel_all(self, reason: str) -> int:
        return sum(self.cancel(job_id, reason) for job_id in list(self._tasks))

    def cancel_session(self, session: NodeRegistration, reason: str) -> int:
        """Cancel the jobs claimed under `session` (its leases are gone with it)."""
        return sum(
            self.cancel(task.job_id, reason)
            for task in list(self._tasks.values())
            if task.session.node_id == session.node_id
        )
