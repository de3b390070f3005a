"""Pure state changes of a job and its attempts. Every store applies these, so all agree.

Each function takes the current job (and attempt) and returns the new ones; it checks the
transition and raises ConflictError when it is not allowed.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from vmafx.core.attempts import Attempt, AttemptOutcome, Attribution
from vmafx.core.jobs import Job, JobState, Lease, check_transition
from vmafx.core.nodes import NodeSession


def _move(job: Job, target: JobState, now: datetime, **changes: Any) -> Job:
    check_transition(job.id, job.state, target)
    return dataclasses.replace(job, state=target, updated_at=now, **changes)


def claim(job: Job, session: NodeSession, now: datetime) -> Attempt:
    """The attempt that starts when `session` claims `job` (see `claimed` for the job)."""
    caps = session.capabilities
    return Attempt(
        job_id=job.id,
        number=job.attempt + 1,
        tenant=job.tenant,
        session_id=session.id,
        node_name=session.name,
        host=caps.host,
        started_at=now,
        gpu=caps.gpus[0] if len(caps.gpus) == 1 else None,
        labels=dict(caps.labels),
    )


def claimed(job: Job, attempt: Attempt, lease_expires_at: datetime) -> Job:
    """The job once `attempt` holds it: running, under a lease, with its attempt number bumped."""
    return _move(
        job,
        JobState.RUNNING,
        attempt.started_at,
        attempt=attempt.number,
        lease=Lease(
            session_id=attempt.session_id, node_name=attempt.node_name, expires_at=lease_expires_at
        ),
        started_at=job.started_at or attempt.started_at,
        pending_reason=None,
        progress=None,
        progress_detail=None,
    )


def completed(job: Job, result: dict[str, Any], now: datetime) -> Job:
    return _move(
        job,
        JobState.COMPLETED,
        now,
        lease=None,
        result=result,
        progress=1.0,
        progress_detail=None,
        finished_at=now,
    )


def failed(job: Job, error: str, now: datetime) -> Job:
    return _move(
        job, JobState.FAILED, now, lease=None, error=error, finished_at=now, progress_detail=None
    )


def cancelled(job: Job, now: datetime, reason: str | None = None) -> Job:
    """A pending or running job, cancelled. A terminal job is returned unchanged (sticky)."""
    if job.is_terminal:
        return job
    return _move(
        job,
        JobState.CANCELLED,
        now,
        lease=None,
        error=reason,
        finished_at=now,
        progress_detail=None,
    )


def requeued(job: Job, now: datetime, *, available_at: datetime, reason: str, lost: bool) -> Job:
    """A running job back to pending (drain when `lost` is false, a lost lease when true)."""
    return _move(
        job,
        JobState.PENDING,
        now,
        lease=None,
        available_at=available_at,
        pending_reason=reason,
        progress_detail=None,
        lost_leases=job.lost_leases + (1 if lost else 0),
    )


def renewed(job: Job, expires_at: datetime, now: datetime) -> Job:
    if job.lease is None:
        return job
    return dataclasses.replace(
        job, lease=dataclasses.replace(job.lease, expires_at=expires_at), updated_at=now
    )


def ended(
    attempt: Attempt,
    outcome: AttemptOutcome,
    now: datetime,
    *,
    error: str | None = None,
    attribution: Attribution | None = None,
) -> Attempt:
    """The attempt closed with `outcome`; a node's attribution overrides what the claim guessed."""
    changes: dict[str, Any] = {"outcome": outcome, "ended_at": now, "error": error}
    if attribution is not None:
        changes["encoder"] = attribution.encoder
        changes["fallback"] = attribution.fallback
        if attribution.gpu is not None:
            changes["gpu"] = attribution.gpu
    return dataclasses.replace(attempt, **changes)
