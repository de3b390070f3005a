"""Bulk cancel and retry: every job matching a filter, in one call, a page at a time.

The service's `cancel_jobs` / `retry_jobs` / `retry_job` verbs live here. A bulk action walks
the matching jobs newest first in pages of `MAX_PAGE` (one store transaction per page), so a
call over 100,000 jobs neither holds one huge transaction nor loads every job at once. Pages
are positional (created_at, id), so jobs that a page changes (and that then no longer match)
do not shift the next page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any

from vmafx.controller import listing
from vmafx.core.jobs import Job, JobState
from vmafx.core.messages import JobFilter, JobRequest, Submitted
from vmafx.core.retries import MAX_LISTED, RETRYABLE, BulkResult, check_retryable, retry_key
from vmafx.errors import VmafxError
from vmafx.store.port import MAX_PAGE, JobQuery, JobStore

LIVE = (JobState.PENDING, JobState.RUNNING)
#: Most reasons a bulk retry gives for jobs it skipped.
MAX_SKIPPED = 20

Submit = Callable[[Sequence[JobRequest]], Coroutine[Any, Any, list[Submitted]]]


def _limited(
    tenant: str, where: JobFilter, allowed: tuple[JobState, ...], default: tuple[JobState, ...]
) -> JobQuery | None:
    """The store query of `where` limited to `allowed` states (`default` when it names none);
    None when every state it names is outside `allowed` (nothing to act on)."""
    query = listing.query_for(tenant, where)
    if not query.states:
        return dataclasses.replace(query, states=default)
    states = tuple(state for state in query.states if state in allowed)
    return dataclasses.replace(query, states=states) if states else None


async def pages(store: JobStore, query: JobQuery) -> AsyncIterator[list[Job]]:
    cursor: str | None = None
    while True:
        page = await store.list_jobs(query, limit=MAX_PAGE, cursor=cursor)
        if page.jobs:
            yield page.jobs
        cursor = page.next_cursor
        if cursor is None:
            return


def cancel_query(tenant: str, where: JobFilter) -> JobQuery | None:
    """The store query of the jobs a bulk cancel takes: the pending and running ones."""
    return _limited(tenant, where, LIVE, LIVE)


def retry_query(tenant: str, where: JobFilter) -> JobQuery | None:
    """The store query of the jobs a bulk retry takes: failed ones, or failed and cancelled
    ones as the filter says."""
    return _limited(tenant, where, RETRYABLE, (JobState.FAILED,))


def retry_request(job: Job) -> JobRequest:
    """The request that retries `job` (the same work, linked by its idempotency key)."""
    check_retryable(job)
    return JobRequest.parse(
        kind=job.kind,
        spec=job.spec,
        queue=job.queue,
        priority=job.priority,
        requirements=job.requirements,
        parent_id=job.parent_id,
        batch_id=job.batch_id,
        idempotency_key=retry_key(job.id),
    )


async def retry_page(jobs: Sequence[Job], submit: Submit) -> tuple[list[Submitted], list[str]]:
    """Retry a page of jobs in one call; when the controller refuses the page (an input gone,
    a spec this version no longer takes), each job alone, so one bad job does not stop the rest."""
    requests: list[tuple[Job, JobRequest]] = []
    skipped: list[str] = []
    for job in jobs:
        try:
            requests.append((job, retry_request(job)))
        except VmafxError as error:
            skipped.append(f"{job.id}: {error}")
    if not requests:
        return [], skipped
    try:
        return await submit([request for _, request in requests]), skipped
    except VmafxError:
        pass
    done: list[Submitted] = []
    for job, request in requests:
        try:
            done += await submit([request])
        except VmafxError as error:
            skipped.append(f"{job.id}: {error}")
    return done, skipped


def result(matched: int, changed: list[str], skipped: list[str]) -> BulkResult:
    return BulkResult(
        matched=matched,
        changed=len(changed),
        job_ids=tuple(changed[:MAX_LISTED]),
        skipped=tuple(skipped[:MAX_SKIPPED]),
    )
