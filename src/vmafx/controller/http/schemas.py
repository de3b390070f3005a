"""The HTTP API's JSON shapes (pydantic): what a request may hold and what a response holds.

Requests refuse unknown fields (`extra="forbid"`) and take numbers and strings strictly, so a
typo or a quoted number is an error naming the field, not a silently ignored value. The spec
is checked against its kind's typed spec (`vmafx.core.specs`), whose JSON Schema the OpenAPI
document shows (`spec_schemas`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from pydantic.config import JsonDict

from vmafx.controller.http.spec_schemas import spec_schemas
from vmafx.core.events import EventType
from vmafx.core.jobs import JobKind, JobState
from vmafx.core.messages import NodeState

_EXAMPLE_SPEC: JsonDict = {"reference": "/media/ref.mp4", "distorted": ["/media/dis.mp4"]}
_EXAMPLE_JOB: JsonDict = {
    "kind": "score",
    "queue": "score",
    "priority": 10,
    "spec": _EXAMPLE_SPEC,
    "requirements": {"backend": "cuda", "labels": {"tier": "heavy"}},
    "idempotency_key": "upload-4711",
}


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RequirementsModel(_Request):
    """Hard filters a node must meet to run the job (unset: any node on the queue)."""

    backend: StrictStr | None = None
    gpu_vendor: StrictStr | None = None
    encoder: StrictStr | None = None
    min_gpu_memory_mb: StrictInt | None = Field(default=None, ge=0)
    labels: dict[StrictStr, StrictStr] = Field(default_factory=dict)


#: The spec's schema: the one of its kind (`<kind> spec`), from the typed specs.
_SPEC = Field(json_schema_extra={"anyOf": spec_schemas()})  # type: ignore[dict-item]


class JobIn(_Request):
    """A job to submit. `spec` depends on `kind` (see DESIGN.md §3.2)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE_JOB]})

    kind: JobKind
    spec: dict[str, Any] = _SPEC
    queue: StrictStr | None = None
    priority: StrictInt = 0
    requirements: RequirementsModel | None = None
    parent_id: StrictStr | None = None
    batch_id: StrictStr | None = None
    idempotency_key: StrictStr | None = Field(default=None, max_length=255)


class BatchIn(_Request):
    """Many jobs in one transaction: one invalid job rejects them all."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"batch_id": "nightly-42", "jobs": [_EXAMPLE_JOB]}]},
    )

    jobs: list[JobIn] = Field(min_length=1)
    batch_id: StrictStr | None = None


class CancelIn(_Request):
    reason: StrictStr | None = Field(default=None, max_length=1000)


class DrainIn(_Request):
    release_jobs: StrictBool = False


class ConcurrencyIn(_Request):
    concurrency: dict[StrictStr, StrictInt] = Field(
        description="Jobs at once per queue (0 turns a queue off); queues not named keep theirs",
        examples=[{"encode": 2, "score": 1}],
    )


# --- responses ----------------------------------------------------------------------------------
class LeaseOut(BaseModel):
    node_id: str
    node_name: str
    expires_at: datetime


class GpuOut(BaseModel):
    vendor: str
    name: str
    uuid: str = ""
    index: int = 0
    memory_mb: int = 0
    driver: str | None = None


class AttemptOut(BaseModel):
    """One claim of the job by one node: who ran it, on what, and how it ended."""

    number: int
    node_id: str
    node_name: str
    host: str
    where: str = Field(description="`host / GPU model`, as the Jobs page shows it")
    gpu: GpuOut | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    encoder: str | None = None
    fallback: bool = False
    started_at: datetime
    ended_at: datetime | None = None
    outcome: str | None = None
    error: str | None = None


class JobOut(BaseModel):
    """A job as the one codec writes it (`vmafx.core.job_json`); times in UTC, to the ms."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "1d3c5e9a-6a53-4f52-9d59-2f1f8a9f3b10",
                    "tenant": "acme",
                    "state": "pending",
                    "attempt": 0,
                    "created_at": "2025-01-01T12:00:00Z",
                    "updated_at": "2025-01-01T12:00:00Z",
                    **_EXAMPLE_JOB,
                }
            ]
        }
    )

    id: str
    tenant: str
    kind: JobKind
    queue: str
    priority: int
    state: JobState
    spec: dict[str, Any]
    requirements: RequirementsModel
    attempt: int = Field(description="Claims so far; the current attempt's fencing number")
    lost_leases: int = 0
    lease: LeaseOut | None = None
    where: str | None = Field(
        default=None, description="The last attempt's `host / GPU` (or the running node's name)"
    )
    progress: float | None = None
    progress_detail: dict[str, Any] | None = Field(
        default=None,
        description="A running job's phase (encoding, scoring, decoding), frames, fps, eta_s "
        "and encoder, as its node last reported",
    )
    score: float | None = Field(
        default=None,
        description="Headline VMAF of a score job, or of an encode job scored after encoding",
    )
    result: dict[str, Any] | None = None
    error: str | None = None
    pending_reason: str | None = Field(default=None, description="Why no node runs it yet")
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    parent_id: str | None = None
    batch_id: str | None = None
    idempotency_key: str | None = None
    inputs: list[str] = Field(
        default_factory=list, description="The files the job reads (reference first)"
    )
    outputs: list[str] = Field(default_factory=list, description="The files the job writes")
    retry_of: str | None = Field(default=None, description="The job this one retries")


class SubmittedOut(JobOut):
    deduplicated: bool = Field(
        default=False, description="True when the idempotency key matched an earlier job"
    )


class JobDetailOut(JobOut):
    attempts: list[AttemptOut] = Field(default_factory=list)


class JobPageOut(BaseModel):
    jobs: list[JobOut]
    next_cursor: str | None = Field(description="Pass back as `cursor` for the next page")


class JobCountsOut(BaseModel):
    """How many jobs match the filters, in all and per state."""

    total: int
    states: dict[JobState, int]


class BulkIn(BaseModel):
    """Which jobs a bulk action takes: `job_ids` (at most 10,000), or every job matching the
    filters (the query parameters of GET /v1/jobs, as fields) when `all_matching` is true."""

    job_ids: list[str] = Field(default_factory=list, max_length=10_000)
    all_matching: bool = False
    state: list[JobState] = Field(default_factory=list)
    kind: list[JobKind] = Field(default_factory=list)
    queue: list[str] = Field(default_factory=list)
    q: str | None = Field(default=None, max_length=500, description="Search text")
    reason: str | None = Field(default=None, max_length=1000)


class BulkOut(BaseModel):
    """What a bulk action did: `matched` jobs were looked at, `changed` were cancelled (or
    retried); `job_ids` are the cancelled jobs, or the new jobs a retry created."""

    matched: int
    changed: int
    job_ids: list[str]
    skipped: list[str] = Field(
        default_factory=list, description="Why some jobs could not be retried (first few)"
    )


class BatchItemOut(BaseModel):
    id: str
    state: JobState
    deduplicated: bool = False


class BatchOut(BaseModel):
    batch_id: str | None = None
    jobs: list[BatchItemOut]


class GpuUsageOut(BaseModel):
    """One GPU's load from the node's last heartbeat (null: the node could not tell)."""

    uuid: str
    index: int
    utilization_pct: float | None = None
    encoder_utilization_pct: float | None = None
    encoder_sessions: int | None = None
    memory_used_mb: int | None = None
    memory_total_mb: int | None = None


class NodeOut(BaseModel):
    id: str
    name: str
    state: NodeState
    host: str
    backends: list[str]
    gpu_vendor: str
    gpus: list[GpuOut]
    encoders: list[str]
    queues: list[str] = Field(description="Queues it takes work from (empty: every queue)")
    slots: int
    concurrency: dict[str, int]
    labels: dict[str, str]
    running_job_ids: list[str]
    slots_in_use: dict[str, int]
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    drain_requested: bool = Field(
        False, description="An operator drained it (draining without it: the node is stopping)"
    )
    gpu_usage: list[GpuUsageOut] = Field(default_factory=list)
    gpu_usage_at: datetime | None = None


class NodeListOut(BaseModel):
    nodes: list[NodeOut]


class DrainOut(BaseModel):
    ok: bool
    released_job_ids: list[str]


class ResumeOut(BaseModel):
    ok: bool
    was_drained: bool


class ConcurrencyOut(BaseModel):
    concurrency: dict[str, int]
    slots: int


class FiguresOut(BaseModel):
    """How well a version followed the true scores on the held-out set (null: undefined)."""

    plcc: float | None
    srocc: float | None
    rmse: float | None
    n: int = Field(description="Held-out samples it was judged on")


class ModelVersionOut(BaseModel):
    version: int
    status: str = Field(description="active, candidate or quarantined (never served)")
    figures: FiguresOut | None = Field(description="Null until the trainer has judged it")
    samples: int = Field(description="Training samples seen when it was written")
    step: int
    created_at: str | None = None
    sha256: str
    reason: str = Field(description="Why the gate gave it this status (e.g. why quarantined)")


class ModelListOut(BaseModel):
    """The trainer's registry.json as the controller reads it, newest version first."""

    policy: str = Field(
        description="The policy `served_version` follows", examples=["latest-stable"]
    )
    served_version: int | None = Field(description="The version that policy serves (null: none)")
    versions: list[ModelVersionOut]
    note: str | None = Field(default=None, description="Why the list is empty, when it is")


class EventOut(BaseModel):
    """One entry of a job's event log; `seq` doubles as the SSE event id (resume cursor)."""

    seq: int
    job_id: str
    at: datetime
    type: EventType
    data: dict[str, Any]


class StatusOut(BaseModel):
    status: str


class FieldErrorOut(BaseModel):
    path: str = Field(examples=["body.spec"])
    message: str


class ErrorDetailOut(BaseModel):
    type: str = Field(description="The vmafx error class", examples=["NotFoundError"])
    message: str
    hint: str | None = None
    fields: list[FieldErrorOut] | None = Field(
        default=None, description="Request validation only: every offending field"
    )


class ErrorOut(BaseModel):
    """The body of every error response."""

    error: ErrorDetailOut
