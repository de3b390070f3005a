"""The in-process pub/sub and the long-poll wake-up signal."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from vmafx.controller.events import JobBus, SubscriberLaggedError
from vmafx.controller.work import Wake, WorkSignal
from vmafx.core.jobs import JobState
from vmafx.testing import make_job

from .conftest import until

pytestmark = pytest.mark.anyio


def _job(tenant: str = "acme"):
    return make_job(tenant=tenant)


async def test_a_subscriber_receives_only_jobs_it_accepts():
    bus = JobBus()
    subscription = bus.subscribe(lambda job: job.tenant == "acme")
    mine, theirs = _job(), _job("globex")
    bus.publish([mine, theirs])
    assert await subscription.next_batch(0.1) == [mine]


async def test_repeated_changes_of_one_job_coalesce_into_its_newest_state():
    bus = JobBus()
    subscription = bus.subscribe(lambda job: True)
    job = _job()
    bus.publish([job, dataclasses.replace(job, state=JobState.CANCELLED)])
    [only] = await subscription.next_batch(0.1)
    assert only.state is JobState.CANCELLED


async def test_a_subscriber_too_far_behind_is_closed_with_an_error():
    bus = JobBus()
    subscription = bus.subscribe(lambda job: True, max_pending=2)
    bus.publish([_job(), _job(), _job()])
    with pytest.raises(SubscriberLaggedError, match="fell too far behind"):
        await subscription.next_batch(0.1)
    assert bus.subscribers == 0


async def test_next_batch_times_out_empty():
    assert await JobBus().subscribe(lambda job: True).next_batch(0.01) == []


async def test_closing_the_bus_ends_every_subscription():
    bus = JobBus()
    subscription = bus.subscribe(lambda job: True)
    waiting = asyncio.ensure_future(subscription.next_batch())
    await asyncio.sleep(0)
    bus.close_all()
    assert await asyncio.wait_for(waiting, 1) == []
    assert subscription.closed


async def test_a_notify_before_the_wait_is_not_missed():
    signal = WorkSignal()
    seen = signal.version
    signal.notify()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await signal.wait(seen, timeout=5)
    assert loop.time() - started < 1


async def test_a_waiter_times_out_without_notify():
    signal = WorkSignal()
    assert await signal.wait(signal.version, timeout=0.01) is Wake.TIMEOUT


async def test_every_waiter_wakes_on_one_notify():
    signal = WorkSignal()
    seen = signal.version
    waiters = [asyncio.ensure_future(signal.wait(seen, timeout=5)) for _ in range(8)]
    await asyncio.sleep(0)
    signal.notify()
    assert await asyncio.wait_for(asyncio.gather(*waiters), 1) == [Wake.NOTIFIED] * 8


async def test_notify_one_wakes_the_longest_waiting_puller_only():
    signal = WorkSignal()
    seen = signal.version
    first = asyncio.ensure_future(signal.wait(seen, timeout=5))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(signal.wait(seen, timeout=5))
    await asyncio.sleep(0)
    signal.notify(1)
    assert await asyncio.wait_for(first, 1) is Wake.NOTIFIED
    assert not second.done()
    signal.pass_on()
    assert await asyncio.wait_for(second, 1) is Wake.NOTIFIED


async def test_a_job_only_one_node_can_run_reaches_it_through_hand_offs(farm):
    from vmafx.core.jobs import Requirements

    plain = [await farm.register(f"cpu-{i}") for i in range(3)]
    cuda = await farm.register("cuda", backends=("cuda",))
    pullers = [asyncio.ensure_future(farm.pull(s, wait_s=5)) for s in [*plain, cuda]]
    await until(lambda: farm.service.work.waiting == 4)
    job_id = await farm.submit(requirements=Requirements(backend="cuda"))
    assert await asyncio.wait_for(pullers[-1], 0.5) == job_id
    for puller in pullers[:-1]:
        puller.cancel()
    await asyncio.gather(*pullers[:-1], return_exceptions=True)
