"""ClaimBatcher: concurrent pulls share one store transaction, and nothing is lost on the way."""

from __future__ import annotations

import asyncio

import pytest
from tests.unit.controller.conftest import SpyStore

from vmafx.controller.claims import ClaimBatcher
from vmafx.core.jobs import JobState
from vmafx.errors import NotFoundError, UnavailableError
from vmafx.store.port import ClaimRequest

pytestmark = pytest.mark.anyio


async def test_concurrent_pulls_share_one_transaction_and_get_distinct_jobs(farm):
    jobs = {await farm.submit() for _ in range(8)}
    nodes = [await farm.register(f"n{i}") for i in range(8)]
    spy = SpyStore(farm.store)
    batcher = ClaimBatcher(spy, farm.clock)
    claims = await asyncio.gather(*(batcher.claim(ClaimRequest(n.node_id)) for n in nodes))
    assert spy.batches == [8]
    assert {job.id for job in claims if job} == jobs
    assert [job.lease.session_id for job in claims if job] == [n.node_id for n in nodes]


async def _held_first_then_rest(farm, count: int, **options):
    """`count` pulls: one that enters the store and is held there, then the rest."""
    for _ in range(count):
        await farm.submit()
    nodes = [await farm.register(f"n{i}") for i in range(count)]
    spy = SpyStore(farm.store)
    spy.gate = asyncio.Event()
    batcher = ClaimBatcher(spy, farm.clock, **options)
    first = asyncio.create_task(batcher.claim(ClaimRequest(nodes[0].node_id)))
    await asyncio.sleep(0)  # the first batch (of one) is now in the store
    rest = [asyncio.create_task(batcher.claim(ClaimRequest(n.node_id))) for n in nodes[1:]]
    for _ in range(3):
        await asyncio.sleep(0)
    return spy, [first, *rest]


async def test_requests_arriving_during_a_batch_go_into_the_next_one(farm):
    spy, pulls = await _held_first_then_rest(farm, 5, max_batch=3, in_flight=1)
    assert spy.batches == [1]
    spy.gate.set()
    claims = [await pull for pull in pulls]
    assert spy.batches == [1, 3, 1]
    assert len({job.id for job in claims if job}) == 5


async def test_a_second_batch_runs_while_the_first_waits_on_the_store(farm):
    spy, pulls = await _held_first_then_rest(farm, 4, in_flight=2)
    assert spy.batches == [1, 3]  # both in the store at once, neither finished
    spy.gate.set()
    claims = [await pull for pull in pulls]
    assert len({job.id for job in claims if job}) == 4


async def test_a_request_right_after_a_batch_ends_starts_a_new_one(farm):
    for _ in range(3):
        await farm.submit()
    node = await farm.register()
    batcher = ClaimBatcher(SpyStore(farm.store), farm.clock, in_flight=1)
    for _ in range(3):  # each call resumes as its batch ends, before the runner task is done
        job = await asyncio.wait_for(batcher.claim(ClaimRequest(node.node_id)), 5)
        assert job is not None


async def test_a_failed_transaction_reaches_every_caller_and_the_next_batch_runs(farm):
    await farm.submit()
    nodes = [await farm.register(f"n{i}") for i in range(2)]
    spy = SpyStore(farm.store)
    spy.fail_next = True
    batcher = ClaimBatcher(spy, farm.clock)
    results = await asyncio.gather(
        *(batcher.claim(ClaimRequest(n.node_id)) for n in nodes), return_exceptions=True
    )
    assert all(isinstance(r, UnavailableError) for r in results)
    job = await batcher.claim(ClaimRequest(nodes[0].node_id))
    assert job is not None and job.state is JobState.RUNNING


async def test_an_unknown_session_fails_only_its_own_request(farm):
    job_id = await farm.submit()
    node = await farm.register()
    batcher = ClaimBatcher(SpyStore(farm.store), farm.clock)
    results = await asyncio.gather(
        batcher.claim(ClaimRequest("nobody")),
        batcher.claim(ClaimRequest(node.node_id)),
        return_exceptions=True,
    )
    assert isinstance(results[0], NotFoundError)
    assert results[1].id == job_id


async def test_a_caller_that_hangs_up_mid_batch_gives_its_job_back(farm):
    job_id = await farm.submit()
    node = await farm.register()
    spy = SpyStore(farm.store)
    spy.gate = asyncio.Event()
    batcher = ClaimBatcher(spy, farm.clock)
    pull = asyncio.create_task(batcher.claim(ClaimRequest(node.node_id)))
    await asyncio.sleep(0)
    pull.cancel()
    spy.gate.set()
    with pytest.raises(asyncio.CancelledError):
        await pull
    for _ in range(5):  # let the batch finish and the release run
        await asyncio.sleep(0)
    job = await farm.store.get_job(job_id)
    assert (job.state, batcher.orphaned) == (JobState.PENDING, 1)
    again = await batcher.claim(ClaimRequest(node.node_id))
    assert again is not None and again.id == job_id
