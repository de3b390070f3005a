"""Races every JobStore must win: real threads, each with its own event loop (and so its own
database connection), released together by a barrier."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from vmafx.core.attempts import AttemptOutcome
from vmafx.core.events import EventType
from vmafx.core.jobs import JobState
from vmafx.errors import StaleAttemptError

PULLERS = 8


def in_threads(count: int, work: Callable[[int], Awaitable[Any]]) -> list[Any]:
    """Run `work(0) … work(count-1)` at the same moment in `count` threads."""
    barrier = threading.Barrier(count)

    def one(index: int) -> Any:
        barrier.wait(timeout=10)
        return asyncio.run(work(index))

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_eight_concurrent_claimers_never_get_the_same_job(farm):
    async def setup():
        await farm.store.submit_jobs([farm.job() for _ in range(40)])
        return [await farm.node(f"node-{i}", slots=100) for i in range(PULLERS)]

    nodes = asyncio.run(setup())

    async def drain(index: int) -> list[str]:
        claimed: list[str] = []
        while (job := await farm.store.claim_next(nodes[index].id, now=farm.now)) is not None:
            claimed.append(job.id)
        return claimed

    per_puller = in_threads(PULLERS, drain)
    every = [job_id for claimed in per_puller for job_id in claimed]
    assert len(every) == 40
    assert len(set(every)) == 40


def test_cancel_racing_a_final_report_ends_in_one_terminal_state(farm):
    async def setup():
        node = await farm.node(slots=100)
        await farm.store.submit_jobs([farm.job() for _ in range(10)])
        return node, [await farm.store.claim_next(node.id, now=farm.now) for _ in range(10)]

    node, jobs = asyncio.run(setup())
    store, now = farm.store, farm.now

    for job in jobs:

        async def race(index: int, job_id: str = job.id):
            if index == 0:
                return await store.cancel_job(job_id, now=now)
            return await store.complete_job(
                job_id, attempt=1, session_id=node.id, now=now, result={"vmaf": 90.0}
            )

        answers = in_threads(2, race)
        final = asyncio.run(store.get_job(job.id))
        assert final.state in (JobState.CANCELLED, JobState.COMPLETED)
        assert all(answer.state is final.state for answer in answers)
        [attempt] = asyncio.run(store.list_attempts(job.id))
        assert attempt.outcome.value == final.state.value
        events = Counter(e.type for e in asyncio.run(store.list_events(job.id)))
        assert events[EventType.CANCELLED] + events[EventType.COMPLETED] == 1


def test_concurrent_submits_with_one_idempotency_key_create_one_job(farm):
    async def submit(_index: int):
        return await farm.store.submit_job(farm.job(idempotency_key="same-upload"))

    answers = in_threads(PULLERS, submit)
    assert len({job.id for job in answers}) == 1


def test_lease_expiry_racing_a_final_report_leaves_job_and_attempt_agreeing(farm):
    async def setup():
        node = await farm.node(slots=100)
        await farm.store.submit_jobs([farm.job() for _ in range(10)])
        return node, [await farm.store.claim_next(node.id, now=farm.now) for _ in range(10)]

    node, jobs = asyncio.run(setup())
    later = farm.clock.advance(61)
    store = farm.store

    async def race(index: int):
        if index == 0:
            return await store.expire_leases(now=later)
        done = []
        for job in jobs:
            try:
                done.append(
                    await store.complete_job(
                        job.id, attempt=1, session_id=node.id, now=later, result={}
                    )
                )
            except StaleAttemptError as error:  # fenced off: a legal outcome of this race
                done.append(error)
        return done

    in_threads(2, race)
    for job in jobs:
        final = asyncio.run(store.get_job(job.id))
        [attempt] = asyncio.run(store.list_attempts(job.id))
        expected = {
            JobState.COMPLETED: AttemptOutcome.COMPLETED,
            JobState.PENDING: AttemptOutcome.EXPIRED,
        }
        assert expected[final.state] is attempt.outcome
