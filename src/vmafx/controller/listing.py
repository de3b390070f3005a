"""Reading many jobs for the service: store queries from filters, stream snapshots, and the
running jobs of a node (by its lease session, an indexed column)."""

from __future__ import annotations

from collections.abc import Callable

from vmafx.core.jobs import Job, JobState
from vmafx.core.jobsearch import IMPOSSIBLE, files_text, narrow, parse_search, term_matches
from vmafx.core.messages import JobFilter
from vmafx.store.port import MAX_PAGE, JobQuery, JobStore


def query_for(tenant: str, where: JobFilter) -> JobQuery:
    """`where` as a store query: the store applies all of it, so pages are never short.

    The search text's words become `terms`; its `state:`/`kind:`/`queue:` words narrow the
    structured filters (both given and disjoint: a query nothing matches)."""
    search = parse_search(where.search)
    states = narrow(where.states, search.states)
    kinds = narrow(where.kinds, search.kinds)
    queues = narrow(where.queues, search.queues)
    terms = search.terms
    if states is None or kinds is None or queues is None:
        terms = (*terms, IMPOSSIBLE)
    return JobQuery(
        tenant=tenant,
        states=where.states if states is None else states,
        kinds=where.kinds if kinds is None else kinds,
        queues=where.queues if queues is None else queues,
        batch_id=where.batch_id,
        parent_id=where.parent_id,
        node_id=where.node_id,
        job_ids=where.job_ids,
        created_after=where.created_after,
        created_before=where.created_before,
        terms=terms,
    )


def live_matcher(tenant: str, where: JobFilter) -> Callable[[Job], bool]:
    """Whether a changed job belongs to a live stream of `where` (a node word looks at the
    node running the job now: the bus carries no attempts)."""
    query = query_for(tenant, where)
    structured = JobFilter(
        states=query.states,
        kinds=query.kinds,
        queues=query.queues,
        job_ids=where.job_ids,
        batch_id=where.batch_id,
        parent_id=where.parent_id,
        node_id=where.node_id,
        created_after=where.created_after,
        created_before=where.created_before,
    )

    def matches(job: Job) -> bool:
        if job.tenant != tenant or not structured.matches(job):
            return False
        if not query.terms:
            return True
        files = files_text(job.spec)
        nodes = (job.lease.node_name,) if job.lease else ()
        return all(
            term_matches(term, job_id=job.id, files=files, nodes=nodes, error=job.error)
            for term in query.terms
        )

    return matches


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
