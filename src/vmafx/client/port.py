"""`ControllerClient`: what the CLI, the node, the tuner and the corpus driver ask a controller.

Every method takes and returns core values; the caller's credentials are the client's own
(a token given when it was built). Errors are `VmafxError`s: the same classes the controller
raised (e.g. `StaleAttemptError` for a fenced report, `UnavailableError` when unreachable).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Protocol

from vmafx.core.gpuusage import GpuUsage
from vmafx.core.jobs import Job, JsonObject
from vmafx.core.messages import (
    Claim,
    ConcurrencyResult,
    DrainResult,
    HeartbeatAnswer,
    JobDetails,
    JobFilter,
    JobPage,
    JobRef,
    JobRequest,
    NodeRegistration,
    NodeReport,
    NodeView,
    ResumeResult,
    RunningJob,
    Submitted,
)
from vmafx.core.nodes import NodeCapabilities
from vmafx.core.retries import BulkResult


class ControllerClient(Protocol):
    # --- jobs ----------------------------------------------------------------------------------
    async def submit_job(self, request: JobRequest) -> Submitted: ...

    async def submit_jobs(
        self, requests: Sequence[JobRequest], *, batch_id: str | None = None
    ) -> list[Submitted]:
        """One call, one transaction; `batch_id` is given to jobs that name none."""
        ...

    async def get_job(self, job_id: str) -> JobDetails: ...

    async def list_jobs(
        self, where: JobFilter | None = None, *, limit: int = 100, cursor: str | None = None
    ) -> JobPage: ...

    async def cancel_job(self, job_id: str, reason: str | None = None) -> str:
        """Cancel; returns the controller's message ("cancellation requested", "job already …")."""
        ...

    async def cancel_jobs(self, where: JobFilter, *, reason: str | None = None) -> BulkResult:
        """Cancel in one call the jobs `where.job_ids` names, or (none named) every pending or
        running job matching `where`."""
        ...

    async def retry_jobs(self, where: JobFilter) -> BulkResult:
        """Retry in one call the failed jobs named or matching (`vmafx.core.retries`)."""
        ...

    async def job_frames(self, job_id: str) -> JsonObject:
        """A completed job's full per-frame series (`vmafx.core.frames.document`)."""
        ...

    async def retry_job(self, job_id: str) -> Submitted:
        """A new job doing what failed job `job_id` did, linked to it; again: the same one."""
        ...

    def watch_jobs(
        self, where: JobFilter | None = None, *, snapshot_only: bool = False
    ) -> AsyncIterator[Job]:
        """The matching jobs now, then every change until the caller stops iterating."""
        ...

    # --- nodes ---------------------------------------------------------------------------------
    async def register_node(
        self, name: str, capabilities: NodeCapabilities
    ) -> NodeRegistration: ...

    async def heartbeat(
        self,
        session: NodeRegistration,
        *,
        running: Sequence[RunningJob] = (),
        draining: bool = False,
        gpu_usage: Sequence[GpuUsage] = (),
    ) -> HeartbeatAnswer: ...

    async def pull_work(
        self,
        session: NodeRegistration,
        *,
        queues: Sequence[str] | None = None,
        wait_s: float = 0.0,
        capabilities: NodeCapabilities | None = None,
    ) -> Claim | None: ...

    async def report_result(self, session: NodeRegistration, report: NodeReport) -> str:
        """Report; returns "" when applied, else why not (a repeat, a cancelled job)."""
        ...

    async def release_jobs(
        self,
        session: NodeRegistration,
        jobs: Sequence[JobRef],
        *,
        reason: str = "",
        end_session: bool = False,
    ) -> list[str]: ...

    async def list_nodes(self, *, include_offline: bool = False) -> list[NodeView]: ...

    async def drain_node(self, node_id: str, *, release_jobs: bool = False) -> DrainResult: ...

    async def resume_node(self, node_id: str) -> ResumeResult: ...

    async def set_node_concurrency(
        self, node_id: str, limits: Mapping[str, int]
    ) -> ConcurrencyResult: ...

    async def close(self) -> None: ...
