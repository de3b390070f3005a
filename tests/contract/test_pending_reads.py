"""The controller's periodic reads of the pending queue come off an index (migration 0010):
the pending-reason refresh (all pending jobs, newest first) and the tune runner's look for tune
jobs. On the 10,000-node benchmark, without one, each scanned and sorted 1,000,000 queued jobs
(0.95-1.3 s of PostgreSQL a read, the tune look every second). The plans are read with
EXPLAIN on the statements the store really sends."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from vmafx.core.jobs import JobKind, JobState
from vmafx.store.port import JobQuery
from vmafx.store.sql import SqlJobStore

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


async def plan_of(store: SqlJobStore, query: JobQuery, limit: int, cursor: str | None) -> str:
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    sa.event.listen(store._engine, "before_cursor_execute", capture)
    try:
        await store.list_jobs(query, limit=limit, cursor=cursor)
    finally:
        sa.event.remove(store._engine, "before_cursor_execute", capture)
    (statement, parameters), *_ = [s for s in sent if "FROM jobs" in s[0]]
    with store._engine.connect() as connection:
        # as on a deep queue, where reading the whole queue to sort it loses to any index
        # that gives the order: without one the plan still sorts
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            connection.exec_driver_sql(f"SET {setting} = off")
        rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).fetchall()
    return "\n".join(row[0] for row in rows)


@pytest.fixture
async def deep(store: Any, farm: Any) -> SqlJobStore:
    if not isinstance(store, SqlJobStore) or store._engine.dialect.name != "postgresql":
        pytest.skip("the plans checked are PostgreSQL's")
    await store.submit_jobs([farm.job() for _ in range(300)])
    await store.submit_jobs([farm.job(tenant="other") for _ in range(300)])
    with store._engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE jobs")
    return store


@pytest.mark.parametrize("paged", [False, True])
async def test_the_pending_reason_refresh_reads_its_page_off_an_index(deep: SqlJobStore, paged):
    query = JobQuery(states=(JobState.PENDING,))
    cursor = (await deep.list_jobs(query, limit=100)).next_cursor if paged else None
    plan = await plan_of(deep, query, 1000, cursor)
    assert "ix_jobs_state_created" in plan, plan
    assert "Sort" not in plan, plan


async def test_the_tune_runner_looks_for_tune_jobs_off_an_index(deep: SqlJobStore):
    query = JobQuery(kinds=(JobKind.TUNE,), states=(JobState.PENDING,))
    plan = await plan_of(deep, query, 100, None)
    assert "ix_jobs_state_kind" in plan, plan
    assert "Sort" not in plan, plan
