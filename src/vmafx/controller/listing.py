"""Reading many jobs for the service: store queries from filters, stream snapshots, and the
running jobs of a node (by its lease session, an indexed column)."""

from __future__ import annotations

from vmafx.core.jobs import Job, JobState
from vmafx.core.messages import JobFilter
from vmafx.store.port import MAX_PAGE, JobQuery, JobStore


def query_for(tenant: str, where: JobFilter) -> JobQuery:
    """`where` as a store query: the store applies all of it, so pages are never short."""
    return JobQuery(
        tenant=tenant,
        states=where.states,
        kinds=where.kinds,
        queues=where.queues,
        batch_id=where.batch_id,
        parent_id=where.parent_id,
        node_id=where.node_id,
        job_ids=where.job_ids,
        created_after=where.created_after,
        created_before=where.created_before,
    )


async def snapshot(store: JobStore, tenant: str, where: JobFilter, limit: int) -> list[Job]:
    """The newest `limit` matching jobs, oldest first."""
    found: list[Job] = []
    cursor: str | None = None
    query = query_for(tenant, where)
    while len(found) < limit:
        page = await store.list_jobs(query, limit=min(MAX_PAGE, limit - len(found)), cursor=cursor)
        found += page.jobs
        cursor = page.next_cursor
        if cursor is None:
            break
    return found[::-1]


async def running_jobs(store: JobStore, tenant: str, node_id: str) -> list[Job]:
    """Every job running under the lease of node session `node_id` of `tenant`."""
    found: list[Job] = []
    cursor: str | None = None
    query = JobQuery(tenant=tenant, states=(JobState.RUNNING,), node_id=node_id)
    while True:
        page = await store.list_jobs(query, limit=MAX_PAGE, cursor=cursor)
        found += page.jobs
        cursor = page.next_cursor
        if cursor is None:
            return found
