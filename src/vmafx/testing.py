"""Fakes shipped with vmafx for tests (its own and its users'): same ports, no subprocess."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vmafx.client.port import ControllerClient
from vmafx.controller.auth import DEV_PRINCIPAL, Principal
from vmafx.controller.inputs import InputPolicy
from vmafx.controller.service import ControllerService, ServiceSettings
from vmafx.core.clock import Clock, FakeClock
from vmafx.core.gpuusage import GpuUsage
from vmafx.core.jobs import Job, JobKind, JsonObject, new_batch_id
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
    cancel_answer,
)
from vmafx.core.nodes import NodeCapabilities
from vmafx.core.retries import BulkResult
from vmafx.core.specs import JobSpec, parse_spec
from vmafx.core.submissions import new_job
from vmafx.media.runner import CancelToken, Progress, ProgressCallback, RunResult
from vmafx.scheduler import Scheduler
from vmafx.store import InMemoryJobStore, JobStore


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


@dataclasses.dataclass
class FakeToolRunner:
    """A GPU-tool `ToolRunner` (vmafx.node.gpus) answering from `outputs`, keyed by tool name.

    A value is the tool's stdout, or a callable of argv giving it; None or absent means the tool
    is missing, failed or timed out. Every call is recorded with its timeout.
    """

    outputs: dict[str, str | Callable[[list[str]], str | None] | None]
    calls: list[tuple[list[str], float]] = dataclasses.field(default_factory=list)

    def run(self, argv: Sequence[str], timeout_s: float) -> str | None:
        self.calls.append((list(argv), timeout_s))
        answer = self.outputs.get(argv[0])
        return answer(list(argv)) if callable(answer) else answer


# --- jobs ------------------------------------------------------------------------------------
#: The spec `make_job` gives each kind when none is given (paths need not exist).
DEFAULT_SPECS: dict[JobKind, JsonObject] = {
    JobKind.SCORE: {"reference": "/media/ref.mp4", "distorted": "/media/dist.mp4"},
    JobKind.ENCODE: {"source": "/media/a.mov", "output": "/media/a.mp4", "codec": "h264"},
}


def make_job(
    kind: JobKind = JobKind.SCORE,
    *,
    tenant: str = "acme",
    spec: Mapping[str, Any] | JobSpec | None = None,
    now: datetime | None = None,
    **fields: Any,
) -> Job:
    """A job for tests of any layer: a valid pending job (`new_job`'s keywords go through), then
    any other `Job` field replaced (`state=`, `attempt=`, `lease=`, ...)."""
    made = {name: fields.pop(name) for name in _NEW_JOB_KEYWORDS if name in fields}
    if spec is None:
        spec = DEFAULT_SPECS[kind]
    typed = parse_spec(kind, spec) if isinstance(spec, Mapping) else spec
    job = new_job(tenant=tenant, spec=typed, now=now or FakeClock().now(), **made)
    return dataclasses.replace(job, **fields) if fields else job


_NEW_JOB_KEYWORDS = (
    "queue",
    "priority",
    "requirements",
    "parent_id",
    "batch_id",
    "idempotency_key",
    "job_id",
)


# --- the controller, in process --------------------------------------------------------------
class FakeControllerClient:
    """A `ControllerClient` that calls a `ControllerService` in this process, as `principal`.

    Build a whole in-memory controller with `FakeControllerClient.in_memory()`; its `service`,
    `store` and `clock` are there for tests to inspect and move.
    """

    def __init__(self, service: ControllerService, principal: Principal | None = None) -> None:
        self.service = service
        self.principal = principal or DEV_PRINCIPAL

    @classmethod
    def in_memory(
        cls,
        *,
        scoring_roots: Sequence[str | Path] = (),
        clock: Clock | None = None,
        principal: Principal | None = None,
        settings: ServiceSettings | None = None,
    ) -> FakeControllerClient:
        scheduler = Scheduler()
        service = ControllerService(
            InMemoryJobStore(scheduler),
            clock=clock or FakeClock(),
            scheduler=scheduler,
            inputs=InputPolicy(scoring_roots),
            settings=settings,
        )
        return cls(service, principal)

    def as_(self, principal: Principal) -> FakeControllerClient:
        """The same controller, called as someone else."""
        return FakeControllerClient(self.service, principal)

    @property
    def store(self) -> JobStore:
        return self.service.store

    @property
    def clock(self) -> Clock:
        return self.service.clock

    async def submit_job(self, request: JobRequest) -> Submitted:
        return await self.service.submit_job(self.principal, request)

    async def submit_jobs(
        self, requests: Sequence[JobRequest], *, batch_id: str | None = None
    ) -> list[Submitted]:
        batch_id = batch_id or new_batch_id()  # as the gRPC transport does
        return await self.service.submit_jobs(self.principal, requests, batch_id=batch_id)

    async def get_job(self, job_id: str) -> JobDetails:
        return await self.service.get_job(self.principal, job_id)

    async def list_jobs(
        self, where: JobFilter | None = None, *, limit: int = 100, cursor: str | None = None
    ) -> JobPage:
        return await self.service.list_jobs(self.principal, where, limit=limit, cursor=cursor)

    async def cancel_job(self, job_id: str, reason: str | None = None) -> str:
        return cancel_answer(await self.service.cancel_job(self.principal, job_id, reason))

    async def cancel_jobs(self, where: JobFilter, *, reason: str | None = None) -> BulkResult:
        return await self.service.cancel_jobs(self.principal, where, reason)

    async def retry_jobs(self, where: JobFilter) -> BulkResult:
        return await self.service.retry_jobs(self.principal, where)

    async def retry_job(self, job_id: str) -> Submitted:
        return await self.service.retry_job(self.principal, job_id)

    async def job_frames(self, job_id: str) -> JsonObject:
        return await self.service.job_frames(self.principal, job_id)

    def watch_jobs(
        self, where: JobFilter | None = None, *, snapshot_only: bool = False
    ) -> AsyncIterator[Job]:
        return self.service.watch_jobs(self.principal, where, snapshot_only=snapshot_only)

    async def register_node(self, name: str, capabilities: NodeCapabilities) -> NodeRegistration:
        return await self.service.register_node(self.principal, name, capabilities)

    async def heartbeat(
        self,
        session: NodeRegistration,
        *,
        running: Sequence[RunningJob] = (),
        draining: bool = False,
        gpu_usage: Sequence[GpuUsage] = (),
    ) -> HeartbeatAnswer:
        return await self.service.heartbeat(
            self.principal,
            session.node_id,
            session.session_token,
            running=running,
            draining=draining,
            gpu_usage=gpu_usage,
        )

    async def pull_work(
        self,
        session: NodeRegistration,
        *,
        queues: Sequence[str] | None = None,
        wait_s: float = 0.0,
        capabilities: NodeCapabilities | None = None,
    ) -> Claim | None:
        return await self.service.pull_work(
            self.principal,
            session.node_id,
            session.session_token,
            queues=queues,
            wait_s=wait_s,
            capabilities=capabilities,
        )

    async def report_result(self, session: NodeRegistration, report: NodeReport) -> str:
        outcome = await self.service.report_result(
            self.principal, session.node_id, session.session_token, report
        )
        return outcome.message

    async def release_jobs(
        self,
        session: NodeRegistration,
        jobs: Sequence[JobRef],
        *,
        reason: str = "",
        end_session: bool = False,
    ) -> list[str]:
        return await self.service.release_jobs(
            self.principal,
            session.node_id,
            session.session_token,
            jobs,
            reason=reason,
            end_session=end_session,
        )

    async def list_nodes(self, *, include_offline: bool = False) -> list[NodeView]:
        return await self.service.list_nodes(self.principal, include_offline=include_offline)

    async def drain_node(self, node_id: str, *, release_jobs: bool = False) -> DrainResult:
        return await self.service.drain_node(self.principal, node_id, release_jobs=release_jobs)

    async def resume_node(self, node_id: str) -> ResumeResult:
        return await self.service.resume_node(self.principal, node_id)

    async def set_node_concurrency(
        self, node_id: str, limits: Mapping[str, int]
    ) -> ConcurrencyResult:
        return await self.service.set_node_concurrency(self.principal, node_id, limits)

    async def close(self) -> None:
        await self.service.close()


if TYPE_CHECKING:
    _conforms: ControllerClient = FakeControllerClient.in_memory()
