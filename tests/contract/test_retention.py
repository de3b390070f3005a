"""Retention (issue 15 item 1): `prune_finished` deletes terminal jobs that finished before a
time, oldest first and at most `limit` at once, with their attempts, events and per-frame series, on every store.
Pending and running jobs stay whatever their age; a pruned job's idempotency key is free again.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from vmafx.core.jobs import JobState
from vmafx.errors import NotFoundError
from vmafx.store.port import JobQuery
from vmafx.store.sql import SqlJobStore
from vmafx.store.sql.schema import attempts, job_events, job_frames

pytestmark = pytest.mark.anyio


async def _finish(farm, node, job, how: str):
    claimed = await farm.store.claim_next(node.id, now=farm.now)
    assert claimed is not None and claimed.id == job.id
    report = {"attempt": claimed.attempt, "session_id": node.id, "now": farm.now}
    if how == "complete":
        return await farm.store.complete_job(job.id, result={"vmaf": 90.0}, **report)
    return await farm.store.fail_job(job.id, error="broken input", **report)


async def test_prune_deletes_old_finished_jobs_oldest_first_with_their_attempts_and_events(farm):
    node = await farm.node(slots=2)
    done = await _finish(farm, node, await farm.submit(idempotency_key="k-old"), "complete")
    await farm.store.save_frames(done.id, {0: b"per-frame series"})
    farm.clock.advance(5)
    failed = await _finish(farm, node, await farm.submit(), "fail")
    farm.clock.advance(5)
    cancelled = await farm.store.cancel_job((await farm.submit()).id, now=farm.now)
    running = await farm.submit()
    assert (await farm.store.claim_next(node.id, now=farm.now)).id == running.id
    farm.clock.advance(5)
    recent = await _finish(farm, node, await farm.submit(), "complete")  # finished "now"
    pending = await farm.submit()

    before = farm.now - timedelta(seconds=1)
    assert await farm.store.prune_finished(finished_before=before, limit=1) == 1  # oldest first
    with pytest.raises(NotFoundError):
        await farm.store.get_job(done.id)
    assert await farm.store.prune_finished(finished_before=before, limit=10) == 2
    assert await farm.store.prune_finished(finished_before=before, limit=10) == 0

    left = await farm.store.list_jobs(JobQuery(), limit=100)
    assert {job.id for job in left.jobs} == {running.id, pending.id, recent.id}
    for gone in (done, failed, cancelled):
        with pytest.raises(NotFoundError):
            await farm.store.list_attempts(gone.id)
        with pytest.raises(NotFoundError):
            await farm.store.list_events(gone.id)
    assert await _rows_left(farm.store, [done.id, failed.id, cancelled.id]) == 0
    assert len(await farm.store.list_attempts(recent.id)) == 1  # the survivors keep theirs
    assert await farm.store.list_events(recent.id)

    again = await farm.submit(idempotency_key="k-old")  # the pruned job's key is free again
    assert again.id != done.id and again.state is JobState.PENDING


async def _rows_left(store, job_ids: list[str]) -> int:
    """Attempt, event and per-frame rows of `job_ids` still stored (SQL: the cascade ran)."""
    if not isinstance(store, SqlJobStore):
        state = store._state
        frames = store._frames
        return sum(
            len(state.attempts.get(i, {}))
            + len(state.events_by_job.get(i, []))
            + len(frames.get(i, {}))
            for i in job_ids
        )
    with store._engine.connect() as connection:
        return sum(
            connection.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.job_id.in_(job_ids))
            ).scalar_one()
            for table in (attempts, job_events, job_frames)
        )
