"""Reading many jobs for the service: store queries from filters, stream snapshots, and the
running jobs of a tenant or a node (pages of the store's largest size, bounded)."""

from __future__ import annotations

from vmafx.core.jobs import Job, JobState
from vmafx.core.messages import JobFilter
from vmafx.store.port import MAX_PAGE, JobQuery, JobStore

#: Pages of running jobs read to list nodes or drain one.
RUNNING_SCAN_PAGES = 10


def query_for(tenant: str, where: JobFilter) -> JobQuery:
    """The part of `where` a store applies itself (the rest: `where.matches_beyond_store`)."""
    return JobQuery(
        tenant=tenant,
        states=where.states,
        kinds=where.kinds,
        queues=where.queues,
        batch_id=where.batch_id,
        parent_id=where.parent_id,
    )


async def snapshot(store: JobStore, tenant: str, where: JobFilter, limit: int) -> list[Job]:
    """The newest `limit` matching jobs, oldest first."""
    found: list[Job] = []
    cursor: str | None = None
    query = query_for(tenant, where)
    while len(found) < limit:
        page = await store.list_jobs(query, limit=MAX_PAGE, cursor=cursor)
        found += [job for job in page.jobs if where.matches_beyond_store(job)]
        cursor = page.next_cursor
        if cursor is None:
            break
    return found[:limit][::-1]


async def running_jobs(store: JobStore, tenant: str, node_id: str | None = None) -> list[Job]:
    """Running jobs of `tenant` (of one node when `node_id` is given)."""
    found: list[Job] = []
    cursor: str | None = None
    query = JobQuery(tenant=tenant, states=(JobState.RUNNING,))
    for _ in range(RUNNING_SCAN_PAGES):
        page = await store.list_jobs(query, limit=MAX_PAGE, cursor=cursor)
        found += [
            job
            for job in page.jobs
            if job.lease is not None and node_id in (None, job.lease.session_id)
        ]
        cursor = page.next_cursor
        if cursor is None:
            break
    return found
