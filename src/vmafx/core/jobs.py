"""Jobs: kinds, states and their allowed transitions, requirements, and the job record itself.

A job moves `pending → running → completed | failed | cancelled`, and `running → pending` when
its lease is lost or its node drains. Terminal states are sticky: nothing leaves them, and a
cancel that reaches a job first wins over any report that arrives later.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from vmafx.errors import ConflictError, UsageError

#: A JSON object as stored in a spec or a result.
JsonObject = dict[str, Any]


class JobKind(StrEnum):
    """What a job does; always explicit, never inferred from its spec."""

    SCORE = "score"
    ENCODE = "encode"
    THUMBNAIL = "thumbnail"
    FILMSTRIP = "filmstrip"
    INFER = "infer"
    TUNE = "tune"
    HEALTH = "health"


#: What `Job.progress_detail` may hold (the rest of a progress report is dropped).
PROGRESS_DETAIL_KEYS = ("phase", "frames", "fps", "eta_s", "encoder")


class JobState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED})

_TRANSITIONS: Mapping[JobState, frozenset[JobState]] = {
    JobState.PENDING: frozenset({JobState.RUNNING, JobState.CANCELLED}),
    JobState.RUNNING: frozenset(
        {JobState.PENDING, JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED}
    ),
    JobState.COMPLETED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELLED: frozenset(),
}


def can_transition(source: JobState, target: JobState) -> bool:
    """Whether a job in `source` may move to `target`."""
    return target in _TRANSITIONS[source]


def check_transition(job_id: str, source: JobState, target: JobState) -> None:
    """Raise ConflictError unless a job in `source` may move to `target`."""
    if not can_transition(source, target):
        raise ConflictError(
            f"job {job_id} is {source} and cannot become {target}.",
            hint="Terminal states (completed, failed, cancelled) never change."
            if source.is_terminal
            else None,
        )


#: Queues that hold encode jobs besides `encode` itself.
ENCODE_QUEUES = frozenset({"encode", "proxy", "conform", "trim"})
#: The queue of tune jobs: only a session subscribed to it by name (the controller's tuner)
#: takes them; a node subscribed to every queue does not.
TUNE_QUEUE = "tune"
_QUEUE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_RESERVED_QUEUES: Mapping[str, JobKind] = {
    **{kind.value: kind for kind in JobKind},
    **dict.fromkeys(ENCODE_QUEUES, JobKind.ENCODE),
}


def default_queue(kind: JobKind) -> str:
    """The queue a job of this kind goes to when the submitter names none."""
    return kind.value


def check_queue(kind: JobKind, queue: str) -> str:
    """Return `queue` if a job of `kind` may go there, else raise UsageError."""
    if not _QUEUE_NAME.match(queue):
        raise UsageError(
            f"queue name {queue!r} is not valid.",
            hint="Use 1-64 lower-case letters, digits, '-' or '_', starting with a letter.",
        )
    if kind is JobKind.TUNE and queue != TUNE_QUEUE:
        raise UsageError(
            f"a tune job cannot go to queue {queue!r}: the controller's tuner runs tune jobs "
            f"from queue {TUNE_QUEUE!r} only.",
            hint="Leave the queue unset.",
        )
    owner = _RESERVED_QUEUES.get(queue)
    if owner is not None and owner is not kind:
        raise UsageError(
            f"queue {queue!r} is reserved for {owner} jobs, not {kind} jobs.",
            hint=f"Leave the queue unset (it defaults to {default_queue(kind)!r}) "
            "or pick a queue name of your own.",
        )
    return queue


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Requirements:
    """Hard filters a node must meet to run a job (none set: any node subscribed to the queue)."""

    backend: str | None = None
    gpu_vendor: str | None = None
    encoder: str | None = None
    min_gpu_memory_mb: int | None = None
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.min_gpu_memory_mb is not None and self.min_gpu_memory_mb < 0:
            raise UsageError(
                f"requirements.min_gpu_memory_mb must be 0 or more, got {self.min_gpu_memory_mb}.",
            )
        for key, value in self.labels.items():
            if not isinstance(key, str) or not isinstance(value, str) or not key:
                raise UsageError(
                    f"requirements.labels must map non-empty strings to strings, got {key!r}.",
                    hint='Write labels as {"tier": "heavy"}.',
                )

    @property
    def is_empty(self) -> bool:
        return (
            self.backend is None
            and self.gpu_vendor is None
            and self.encoder is None
            and self.min_gpu_memory_mb is None
            and not self.labels
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Lease:
    """Which node session runs a job, and until when unless renewed."""

    session_id: str
    node_name: str
    expires_at: datetime


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One unit of work, as the store keeps it. Change it with `dataclasses.replace`."""

    id: str
    tenant: str
    kind: JobKind
    queue: str
    spec: JsonObject
    created_at: datetime
    updated_at: datetime
    available_at: datetime
    priority: int = 0
    requirements: Requirements = dataclasses.field(default_factory=Requirements)
    state: JobState = JobState.PENDING
    attempt: int = 0
    lost_leases: int = 0
    lease: Lease | None = None
    progress: float | None = None
    #: What a running job does now, as its node last said (`PROGRESS_DETAIL_KEYS`): phase
    #: (`encoding`, `scoring`, `decoding`), frames, fps, ETA and encoder; None once it ends.
    progress_detail: JsonObject | None = None
    result: JsonObject | None = None
    error: str | None = None
    pending_reason: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    parent_id: str | None = None
    batch_id: str | None = None
    idempotency_key: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.state.is_terminal


def new_job_id() -> str:
    return str(uuid.uuid4())


def new_batch_id() -> str:
    """The id a gRPC batch gets when its caller names none."""
    return uuid.uuid4().hex


def parse_kind(value: str) -> JobKind:
    """The JobKind named `value`, or a UsageError listing the kinds."""
    try:
        return JobKind(value)
    except ValueError:
        kinds = ", ".join(kind.value for kind in JobKind)
        raise UsageError(f"unknown job kind {value!r}.", hint=f"Use one of: {kinds}.") from None


def parse_state(value: str) -> JobState:
    try:
        return JobState(value)
    except ValueError:
        states = ", ".join(state.value for state in JobState)
        raise UsageError(f"unknown job state {value!r}.", hint=f"Use one of: {states}.") from None
