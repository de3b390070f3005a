"""RenewalBatcher: concurrent heartbeats share one store transaction; a lone one waits for none."""

from __future__ import annotations

import asyncio

import pytest
from tests.unit.controller.conftest import SpyStore

from vmafx.controller.renewals import RenewalBatcher
from vmafx.errors import NotFoundError, UnavailableError
from vmafx.store.port import LeaseRenewal

pytestmark = pytest.mark.anyio
WAIT_S = 5


async def _running(farm, count: int) -> list[tuple[str, str]]:
    """`count` nodes, each running one job: (session id, job id)."""
    nodes = [await farm.register(f"n{i}", slots=1) for i in range(count)]
    held = []
    for node in nodes:
        await farm.submit()
        held.append((node.node_id, await farm.pull(node)))
    return held


async def test_a_lone_heartbeat_is_served_at_once_in_a_batch_of_one(farm):
    [(node, job)] = await _running(farm, 1)
    spy = SpyStore(farm.store, "renew_batch")
    batcher = RenewalBatcher(spy, farm.clock)
    renewal = await asyncio.wait_for(batcher.renew(node, job_ids=[job, "gone"]), WAIT_S)
    assert renewal == LeaseRenewal(renewed=[job], cancel=["gone"])
    assert spy.batches == [1]


async def test_concurrent_heartbeats_share_one_transaction_and_each_gets_its_own_answer(farm):
    held = await _running(farm, 6)
    spy = SpyStore(farm.store, "renew_batch")
    batcher = RenewalBatcher(spy, farm.clock)
    answers = await asyncio.gather(*(batcher.renew(node, job_ids=[job]) for node, job in held))
    assert spy.batches == [6]
    assert answers == [LeaseRenewal(renewed=[job], cancel=[]) for _, job in held]


async def test_heartbeats_arriving_during_a_batch_go_into_the_next_ones(farm):
    held = await _running(farm, 5)
    spy = SpyStore(farm.store, "renew_batch")
    spy.gate = asyncio.Event()
    batcher = RenewalBatcher(spy, farm.clock, max_batch=3)
    first = asyncio.create_task(batcher.renew(held[0][0]))
    await asyncio.sleep(0)  # the first batch (of one) is now in the store
    rest = [asyncio.create_task(batcher.renew(node)) for node, _ in held[1:]]
    for _ in range(3):
        await asyncio.sleep(0)
    assert spy.batches == [1]
    spy.gate.set()
    answers = await asyncio.wait_for(asyncio.gather(first, *rest), WAIT_S)
    assert spy.batches == [1, 3, 1]
    assert [answer.renewed for answer in answers] == [[job] for _, job in held]


async def test_a_failed_transaction_reaches_every_caller_and_the_next_batch_runs(farm):
    held = await _running(farm, 2)
    spy = SpyStore(farm.store, "renew_batch")
    spy.fail_next = True
    batcher = RenewalBatcher(spy, farm.clock)
    results = await asyncio.gather(
        *(batcher.renew(node) for node, _ in held), return_exceptions=True
    )
    assert [type(result) for result in results] == [UnavailableError, UnavailableError]
    node, job = held[0]
    assert (await batcher.renew(node)).renewed == [job]


async def test_an_unknown_session_fails_only_its_own_heartbeat(farm):
    [(node, job)] = await _running(farm, 1)
    batcher = RenewalBatcher(SpyStore(farm.store, "renew_batch"), farm.clock)
    results = await asyncio.gather(
        batcher.renew("nobody"), batcher.renew(node), return_exceptions=True
    )
    assert isinstance(results[0], NotFoundError)
    assert results[1] == LeaseRenewal(renewed=[job], cancel=[])
