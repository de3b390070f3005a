"""What clients and nodes ask the controller and what it answers, as plain core values.

The controller service takes and returns these; each transport (gRPC, HTTP, the in-process
fake) converts its own wire types to and from them, so no transport type reaches the service.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from vmafx.core.attempts import Attempt, Attribution
from vmafx.core.gpuusage import GpuUsage
from vmafx.core.jobs import Job, JobKind, JobState, JsonObject, Requirements
from vmafx.core.nodes import NodeSession
from vmafx.core.specs import JobSpec, parse_spec


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class JobRequest:
    """A job as a submitter asks for it: its spec already typed, parsed once at the door (CLI,
    HTTP, gRPC, MCP); the service checks the rest (priority, queue, key, input policy).

    `JobRequest.parse(kind=..., spec={...})` parses a JSON spec (UsageError naming the field).
    """

    spec: JobSpec
    queue: str | None = None
    priority: int = 0
    requirements: Requirements = dataclasses.field(default_factory=Requirements)
    parent_id: str | None = None
    batch_id: str | None = None
    idempotency_key: str | None = None

    @property
    def kind(self) -> JobKind:
        return self.spec.kind

    @classmethod
    def parse(cls, *, kind: JobKind, spec: Any, **fields: Any) -> JobRequest:
        """A request whose JSON `spec` is parsed into `kind`'s typed spec, or UsageError."""
        return cls(spec=parse_spec(kind, spec), **fields)


@dataclasses.dataclass(frozen=True, slots=True)
class Submitted:
    """A submitted job; `deduplicated` when its idempotency key matched an earlier job."""

    job: Job
    deduplicated: bool = False


def cancel_answer(job: Job) -> str:
    """What CancelJob says of the job it was asked to cancel, as every client reads it."""
    return (
        "cancellation requested" if job.state is JobState.CANCELLED else f"job already {job.state}"
    )


@dataclasses.dataclass(frozen=True, slots=True)
class JobPage:
    """Jobs newest first; pass `next_cursor` back for the next page (None: no more)."""

    jobs: list[Job]
    next_cursor: str | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class JobFilter:
    """Filters for listing and watching jobs; empty or None means no filter on that field.

    `node_id` matches jobs running under that node's lease. `search` is the search text of
    `vmafx.core.jobsearch` (file names, id prefix, node, error; `state:` and the like).
    """

    states: tuple[JobState, ...] = ()
    kinds: tuple[JobKind, ...] = ()
    queues: tuple[str, ...] = ()
    job_ids: tuple[str, ...] = ()
    batch_id: str | None = None
    parent_id: str | None = None
    node_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    search: str | None = None

    def matches(self, job: Job) -> bool:
        """Whether `job` passes the structured filters (`search` is checked by the caller)."""
        return (
            (not self.states or job.state in self.states)
            and (not self.kinds or job.kind in self.kinds)
            and (not self.queues or job.queue in self.queues)
            and (self.batch_id is None or job.batch_id == self.batch_id)
            and (self.parent_id is None or job.parent_id == self.parent_id)
            and (
                self.node_id is None
                or (job.lease is not None and job.lease.session_id == self.node_id)
            )
            and (self.created_after is None or job.created_at >= self.created_after)
            and (self.created_before is None or job.created_at < self.created_before)
            and (not self.job_ids or job.id in self.job_ids)
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class JobDetails:
    """A job with every attempt so far, oldest first."""

    job: Job
    attempts: tuple[Attempt, ...] = ()

    @property
    def last_attempt(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NodeRegistration:
    """A node's new session: its id and the secret it sends with every node call."""

    node_id: str
    session_token: str = dataclasses.field(repr=False)
    heartbeat_interval_s: float
    lease_ttl_s: float


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunningJob:
    """A job a node runs, as its heartbeat names it. `progress` is a fraction in [0, 1]."""

    job_id: str
    attempt: int = 0
    progress: float | None = None
    frames: int | None = None
    fps: float | None = None
    eta_s: float | None = None
    #: What the job does now ("encoding", "scoring", "decoding") and with which encoder.
    phase: str | None = None
    encoder: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HeartbeatAnswer:
    """`ok` false with `session_unknown`: the node must register again."""

    ok: bool
    cancel_job_ids: tuple[str, ...] = ()
    session_unknown: bool = False
    drain: bool = False
    #: Jobs at once per queue an operator set for the node (None: unchanged).
    concurrency: Mapping[str, int] | None = None
    #: Seconds until the next heartbeat the controller wants (None: keep the one in use); it
    #: grows with the farm (`vmafx.scheduler.cadence`).
    heartbeat_interval_s: float | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """A job a node just claimed, with the lease it holds and the roots inputs must lie under.

    `signed_inputs`/`signed_outputs`: the job's object-storage URLs (as in its spec) → signed
    GET/PUT URLs valid for this claim only (bearer credentials: hidden from repr, never
    stored or logged)."""

    job: Job
    lease_ttl_s: float
    scoring_roots: tuple[str, ...] = ()
    signed_inputs: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)
    signed_outputs: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NodeReport:
    """A node's report on one job.

    `attempt` 0 means the job's current attempt (original nodes know no attempts). A final
    report with `error` fails the job; without, it completes it with `result` (for an original
    node: `{"score": score, "features": features}`). A partial report records `progress`.
    """

    job_id: str
    attempt: int = 0
    final: bool = True
    error: str | None = None
    result: JsonObject | None = None
    score: float | None = None
    features: Mapping[str, float] = dataclasses.field(default_factory=dict)
    partial_scores: tuple[float, ...] = ()
    progress: float | None = None
    attribution: Attribution | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ReportOutcome:
    """The job after a report; `applied` false when it was a repeat or the job had ended."""

    job: Job
    applied: bool
    message: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class JobRef:
    """A job a node holds, with the attempt it was given when it claimed it."""

    job_id: str
    attempt: int


class NodeState(StrEnum):
    LIVE = "live"
    DRAINING = "draining"
    OFFLINE = "offline"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NodeView:
    """A node as the registry sees it, with the jobs it runs now."""

    session: NodeSession
    state: NodeState
    running_job_ids: tuple[str, ...] = ()
    slots_in_use: Mapping[str, int] = dataclasses.field(default_factory=dict)
    #: The GPUs' load from the node's last heartbeat that carried it, and when it came.
    gpu_usage: tuple[GpuUsage, ...] = ()
    gpu_usage_at: datetime | None = None
    #: An operator drained the node (DRAINING without it: the node is stopping on its own).
    drain_requested: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class DrainResult:
    ok: bool
    released_job_ids: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class ResumeResult:
    ok: bool
    was_drained: bool


@dataclasses.dataclass(frozen=True, slots=True)
class ConcurrencyResult:
    """A node's per-queue limits and slots after an operator changed them."""

    concurrency: Mapping[str, int]
    slots: int
