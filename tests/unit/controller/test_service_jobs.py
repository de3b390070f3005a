"""ControllerService, client side: submit, read, list, cancel, watch — roles and tenants."""

from __future__ import annotations

import asyncio

import pytest

from vmafx.controller.auth import Principal
from vmafx.core.events import EventType
from vmafx.core.jobs import JobKind, JobState
from vmafx.core.messages import JobFilter, JobRequest
from vmafx.core.tokens import Role
from vmafx.errors import (
    ConflictError,
    ForbiddenError,
    InputOutsideRootsError,
    NotFoundError,
    UsageError,
)

from .conftest import until

pytestmark = pytest.mark.anyio


async def test_submitted_score_job_is_pending_with_a_normalised_spec(farm):
    job_id = await farm.submit()
    details = await farm.service.get_job(farm.reader, job_id)
    assert details.job.state is JobState.PENDING
    assert details.job.tenant == "acme"
    assert details.job.spec["distorted"] == [str(farm.root / "dis.mp4")]
    assert details.job.spec["models"] == ["vmaf_v0.6.1"]
    assert details.attempts == ()


async def test_a_spec_that_fails_validation_is_refused_naming_the_field(farm):
    with pytest.raises(UsageError, match="subsample"):
        await farm.service.submit_job(farm.writer, farm.score(spec={"subsample": 0}))


async def test_an_unknown_spec_field_is_refused(farm):
    with pytest.raises(UsageError, match="unknown field 'colour'"):
        await farm.service.submit_job(farm.writer, farm.score(spec={"colour": "red"}))


async def test_a_reader_cannot_submit(farm):
    with pytest.raises(ForbiddenError, match="write"):
        await farm.service.submit_job(farm.reader, farm.score())


async def test_a_node_token_cannot_read_jobs(farm):
    job_id = await farm.submit()
    with pytest.raises(ForbiddenError):
        await farm.service.get_job(farm.node, job_id)


async def test_a_job_of_another_tenant_is_not_found(farm):
    job_id = await farm.submit()
    stranger = Principal.of("globex", Role.ADMIN)
    with pytest.raises(NotFoundError):
        await farm.service.get_job(stranger, job_id)
    with pytest.raises(NotFoundError):
        await farm.service.cancel_job(stranger, job_id)
    page = await farm.service.list_jobs(stranger)
    assert page.jobs == []


async def test_the_same_idempotency_key_returns_the_first_job(farm):
    first = await farm.service.submit_job(farm.writer, farm.score(idempotency_key="upload-1"))
    again = await farm.service.submit_job(farm.writer, farm.score(idempotency_key="upload-1"))
    assert again.job.id == first.job.id
    assert (first.deduplicated, again.deduplicated) == (False, True)


async def test_the_same_idempotency_key_for_another_spec_is_a_conflict(farm):
    await farm.service.submit_job(farm.writer, farm.score(idempotency_key="k"))
    other = farm.score(idempotency_key="k", spec={"distorted": str(farm.root / "dis2.mp4")})
    with pytest.raises(ConflictError, match="'k'"):
        await farm.service.submit_job(farm.writer, other)


async def test_a_batch_is_stored_in_order_and_claimed_oldest_first(farm):
    requests = [
        farm.score(spec={"distorted": str(farm.root / name)}) for name in ("dis.mp4", "dis2.mp4")
    ]
    done = await farm.service.submit_jobs(farm.writer, requests, batch_id="b1")
    session = await farm.register()
    assert [await farm.pull(session), await farm.pull(session)] == [d.job.id for d in done]
    assert {d.job.batch_id for d in done} == {"b1"}


async def test_one_invalid_job_rejects_the_whole_batch(farm):
    bad = JobRequest.parse(kind=JobKind.SCORE, spec={"reference": "/etc/passwd", "distorted": "x"})
    with pytest.raises(InputOutsideRootsError):
        await farm.service.submit_jobs(farm.writer, [farm.score(), bad])
    assert (await farm.service.list_jobs(farm.reader)).jobs == []


async def test_an_oversized_batch_is_refused(farm):
    with pytest.raises(UsageError, match="batches"):
        await farm.service.submit_jobs(farm.writer, [farm.score()] * 10_001)


async def test_list_jobs_filters_by_state_and_pages_with_a_cursor(farm):
    ids = [await farm.submit() for _ in range(5)]
    await farm.service.cancel_job(farm.writer, ids[0])
    first = await farm.service.list_jobs(
        farm.reader, JobFilter(states=(JobState.PENDING,)), limit=3
    )
    second = await farm.service.list_jobs(
        farm.reader, JobFilter(states=(JobState.PENDING,)), limit=3, cursor=first.next_cursor
    )
    assert [j.id for j in first.jobs + second.jobs] == ids[:0:-1]
    assert second.next_cursor is None


async def test_cancel_is_idempotent_and_records_who_cancelled(farm):
    job_id = await farm.submit()
    once = await farm.service.cancel_job(farm.writer, job_id)
    twice = await farm.service.cancel_job(farm.writer, job_id, "again")
    assert once.state is JobState.CANCELLED
    assert twice == once
    assert once.error == "cancelled by ci"


async def test_watch_jobs_yields_a_snapshot_then_live_changes(farm):
    existing = await farm.submit()
    seen: list[tuple[str, JobState]] = []
    fresh_ids: list[str] = []

    async def watch() -> None:
        async for job in farm.service.watch_jobs(farm.reader):
            seen.append((job.id, job.state))
            if fresh_ids and seen[-1] == (fresh_ids[0], JobState.CANCELLED):
                return

    watcher = asyncio.create_task(watch())
    await until(lambda: farm.service.bus.subscribers == 1)
    fresh_ids.append(await farm.submit())
    await until(lambda: (fresh_ids[0], JobState.PENDING) in seen)
    await farm.service.cancel_job(farm.writer, fresh_ids[0])
    await asyncio.wait_for(watcher, 2)
    assert seen == [
        (existing, JobState.PENDING),
        (fresh_ids[0], JobState.PENDING),
        (fresh_ids[0], JobState.CANCELLED),
    ]
    assert farm.service.bus.subscribers == 0


async def test_a_slow_watcher_gets_the_newest_state_of_each_job(farm):
    stream = farm.service.watch_jobs(farm.reader)
    first = asyncio.ensure_future(anext(stream))
    await until(lambda: farm.service.bus.subscribers == 1)
    job_id = await farm.submit()
    await farm.service.cancel_job(farm.writer, job_id)
    job = await asyncio.wait_for(first, 2)
    await stream.aclose()
    assert job.state is JobState.CANCELLED


async def test_watch_jobs_with_a_status_filter_sees_only_matching_changes(farm):
    where = JobFilter(states=(JobState.CANCELLED,))
    stream = farm.service.watch_jobs(farm.reader, where)
    first = asyncio.ensure_future(anext(stream))
    await until(lambda: farm.service.bus.subscribers == 1)
    job_id = await farm.submit()
    await farm.service.cancel_job(farm.writer, job_id)
    job = await asyncio.wait_for(first, 2)
    await stream.aclose()
    assert (job.id, job.state) == (job_id, JobState.CANCELLED)


async def test_snapshot_only_watch_ends_after_the_snapshot(farm):
    await farm.submit()
    jobs = [job async for job in farm.service.watch_jobs(farm.reader, snapshot_only=True)]
    assert len(jobs) == 1


async def test_watches_end_when_the_service_closes(farm):
    stream = farm.service.watch_jobs(farm.reader)
    collected = asyncio.ensure_future(asyncio.wait_for(_drain(stream), 2))
    await until(lambda: farm.service.bus.subscribers == 1)
    await farm.service.close()
    assert await collected == []


async def _drain(stream):
    return [job async for job in stream]


async def test_job_events_stream_until_the_job_ends(farm):
    job_id = await farm.submit()
    events = farm.service.job_events(farm.reader, job_id)
    first = await anext(events)
    rest = asyncio.ensure_future(_drain(events))
    await until(lambda: farm.service.bus.subscribers == 1)
    await farm.service.cancel_job(farm.writer, job_id)
    later = await asyncio.wait_for(rest, 2)
    assert first.type is EventType.SUBMITTED
    assert [event.type for event in later] == [EventType.CANCELLED]
    assert later[0].seq > first.seq
