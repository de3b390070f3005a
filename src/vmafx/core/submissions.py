"""Building a new pending job from what a submitter asked for.

The spec comes typed (parsed once at the door, `vmafx.core.specs`) and is stored in its one JSON
form; the other parts are checked here.
"""

from __future__ import annotations

from datetime import datetime

from vmafx.core.jobs import Job, Requirements, check_queue, default_queue, new_job_id
from vmafx.core.specs import JobSpec
from vmafx.errors import UsageError

MAX_PRIORITY = 1_000_000
MAX_KEY_LENGTH = 255


def new_job(
    *,
    tenant: str,
    spec: JobSpec,
    now: datetime,
    queue: str | None = None,
    priority: int = 0,
    requirements: Requirements | None = None,
    parent_id: str | None = None,
    batch_id: str | None = None,
    idempotency_key: str | None = None,
    job_id: str | None = None,
) -> Job:
    """A pending job of `spec`'s kind; raises UsageError naming the first thing that is wrong."""
    kind = spec.kind
    if not tenant:
        raise UsageError("a job needs a tenant.")
    if not -MAX_PRIORITY <= priority <= MAX_PRIORITY:
        raise UsageError(
            f"priority must lie in [-{MAX_PRIORITY}, {MAX_PRIORITY}], got {priority}.",
            hint="Higher runs first; 0 is the default.",
        )
    if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_KEY_LENGTH:
        raise UsageError(f"an idempotency key must have 1 to {MAX_KEY_LENGTH} characters.")
    return Job(
        id=job_id or new_job_id(),
        tenant=tenant,
        kind=kind,
        queue=check_queue(kind, queue if queue is not None else default_queue(kind)),
        spec=spec.to_json(),
        priority=priority,
        requirements=requirements or Requirements(),
        created_at=now,
        updated_at=now,
        available_at=now,
        parent_id=parent_id,
        batch_id=batch_id,
        idempotency_key=idempotency_key,
    )
