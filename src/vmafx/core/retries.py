"""Retrying a job that failed or was cancelled: a new job with the same spec, linked to the old.

Terminal states never change (`vmafx.core.jobs`), so a retry is not a new attempt of the old
job: that would rewrite a finished record (its error, its timings) and break every reader that
trusts a failed job to stay failed. A retry is a new pending job with the old one's kind, spec,
queue, priority, requirements, parent and batch, whose idempotency key is `retry-of:<old id>`.
The key is the link (the store's unique (tenant, key) index finds the retry of any job), and
it makes retrying idempotent: asking twice, or a bulk retry run twice, gives the same new job.
A retry that fails in turn is retried as a job of its own (`retry-of:<retry id>`).
"""

from __future__ import annotations

import dataclasses

from vmafx.core.jobs import Job, JobState
from vmafx.errors import ConflictError

PREFIX = "retry-of:"
#: The states a job may be retried from.
RETRYABLE = (JobState.FAILED, JobState.CANCELLED)


def retry_key(job_id: str) -> str:
    """The idempotency key of the retry of job `job_id`."""
    return f"{PREFIX}{job_id}"


def retry_of(job: Job) -> str | None:
    """The id of the job `job` retries, or None when it is no retry."""
    key = job.idempotency_key
    return key[len(PREFIX) :] if key and key.startswith(PREFIX) else None


def check_retryable(job: Job) -> None:
    """Raise ConflictError unless `job` failed or was cancelled."""
    if job.state not in RETRYABLE:
        raise ConflictError(
            f"job {job.id} is {job.state} and cannot be retried.",
            hint="Only failed or cancelled jobs can be retried; "
            "a pending or running job is still in the farm's hands.",
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BulkResult:
    """What a bulk cancel or retry did: `matched` jobs were looked at, `changed` of them were
    cancelled (or retried); `job_ids` are the cancelled jobs, or the retries created (at most
    `MAX_LISTED`); `skipped` says why some could not be retried (first few)."""

    matched: int
    changed: int
    job_ids: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()


#: Most ids a bulk answer lists (the counts are always complete).
MAX_LISTED = 10_000
