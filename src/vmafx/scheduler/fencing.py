"""Attempt fencing: only the attempt that holds a job may report on it.

Each claim bumps the job's attempt number. A report names its attempt and node session; one
from a superseded or expired attempt is refused, and a repeat of the final report that ended
the job is a harmless no-op.
"""

from __future__ import annotations

from enum import StrEnum

from vmafx.core.attempts import Attempt, AttemptOutcome
from vmafx.core.jobs import Job, JobState
from vmafx.errors import StaleAttemptError


class ReportVerdict(StrEnum):
    """What a store does with a node's report for one attempt."""

    #: The reporting attempt holds the job: apply the report.
    APPLY = "apply"
    #: This attempt already ended the job: a repeated report, answered with the job as it is.
    REPEAT = "repeat"
    #: The job ended otherwise (cancelled) while this attempt ran: answered with the job as it is.
    SETTLED = "settled"


_ENDED_BY_REPORT = frozenset({AttemptOutcome.COMPLETED, AttemptOutcome.FAILED})


def _stale(job: Job, number: int, why: str) -> StaleAttemptError:
    return StaleAttemptError(
        f"report for job {job.id} attempt {number} refused: {why}.",
        job_id=job.id,
        attempt=number,
        hint="Stop working on it; the controller no longer expects a result from this attempt.",
    )


def check_report(job: Job, attempt: Attempt | None, number: int, session_id: str) -> ReportVerdict:
    """How a store treats a report; raises StaleAttemptError when the attempt is fenced off."""
    if number != job.attempt:
        raise _stale(job, number, f"the job is on attempt {job.attempt}")
    if attempt is None or attempt.session_id != session_id:
        raise _stale(job, number, "that attempt belongs to another node session")
    if job.state is JobState.RUNNING:
        if job.lease is None or job.lease.session_id != session_id:
            raise _stale(job, number, "the lease is held by another node session")
        return ReportVerdict.APPLY
    if job.state is JobState.PENDING:
        raise _stale(job, number, "its lease was lost and the job went back to the queue")
    if attempt.outcome in _ENDED_BY_REPORT:
        return ReportVerdict.REPEAT
    if attempt.outcome is AttemptOutcome.CANCELLED:
        return ReportVerdict.SETTLED
    raise _stale(job, number, f"the attempt ended as {attempt.outcome} and the job is {job.state}")
