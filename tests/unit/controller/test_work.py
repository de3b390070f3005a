"""The shared store re-read of waiting pullers (`vmafx.controller.work`): one claim attempt per
group of alike pullers per `repoll_s`, not one per puller."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from vmafx.controller.work import Wake, WorkSignal, capability_key
from vmafx.core.jobs import JobState, Requirements
from vmafx.core.nodes import GpuInfo, NodeCapabilities
from vmafx.core.submissions import new_job


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Until `condition` holds (the scouts' ticker runs on the loop's clock)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "the condition never held"
        await asyncio.sleep(0.005)


def count_claims(farm: Any) -> list[int]:
    """Count the claim attempts that reach the store."""
    calls = [0]
    claim_batch = farm.store.claim_batch

    async def counted(requests: Any, **kw: Any) -> Any:
        calls[0] += len(requests)
        return await claim_batch(requests, **kw)

    farm.store.claim_batch = counted
    return calls


async def test_a_round_wakes_the_longest_waiter_of_each_group_only():
    signal = WorkSignal(repoll_s=3600)  # rounds by hand
    waiters = [
        asyncio.create_task(signal.wait(signal.version, 5, None, group))
        for group in ("a", "a", "b", "a", "b")
    ]
    await eventually(lambda: signal.waiting == 5)
    assert signal.groups == 2
    assert signal.scout() == 2
    await eventually(lambda: sum(task.done() for task in waiters) == 2)
    assert [task.done() for task in waiters] == [True, False, True, False, False]
    assert {waiters[0].result(), waiters[2].result()} == {Wake.SCOUT}
    assert signal.scout("a") == 1  # a scout that found work wakes the next of its group
    await eventually(waiters[1].done)
    assert not waiters[3].done() and not waiters[4].done()
    for task in waiters[3:]:
        task.cancel()
    await signal.close()


def test_capability_keys_ignore_the_host_and_gpu_ids_but_not_what_a_claim_matches():
    gpu = GpuInfo(vendor="nvidia", name="L4", uuid="GPU-1", index=0, memory_mb=24_000)
    other = GpuInfo(vendor="nvidia", name="L4", uuid="GPU-2", index=0, memory_mb=24_000)
    a = NodeCapabilities(host="a", backends=("cuda",), gpus=(gpu,), labels={"tier": "heavy"})
    b = NodeCapabilities(host="b", backends=("cuda",), gpus=(other,), labels={"tier": "heavy"})
    c = NodeCapabilities(host="a", backends=("cuda",), gpus=(gpu,), labels={"tier": "light"})
    assert capability_key(a) == capability_key(b)
    assert capability_key(a) != capability_key(c)


async def test_idle_pullers_of_one_kind_cost_one_claim_per_repoll_not_one_each(farm):
    sessions = [await farm.register(f"node-{i}") for i in range(8)]
    claims = count_claims(farm)
    pullers = [asyncio.ensure_future(farm.pull(s, wait_s=30)) for s in sessions]
    await eventually(lambda: farm.service.work.waiting == 8)
    first, scouts = claims[0], farm.service.work.scouts
    await eventually(lambda: farm.service.work.scouts >= scouts + 6)  # six rounds
    rounds = farm.service.work.scouts - scouts
    assert claims[0] - first <= rounds + 1  # one claim per round (8 pullers: 8 per round)
    assert farm.service.work.waiting >= 7
    for puller in pullers:
        puller.cancel()
    await asyncio.gather(*pullers, return_exceptions=True)


async def test_work_that_appeared_without_a_notify_reaches_every_waiting_puller(farm):
    sessions = [await farm.register(f"node-{i}") for i in range(4)]
    pullers = [asyncio.ensure_future(farm.pull(s, wait_s=30)) for s in sessions]
    await eventually(lambda: farm.service.work.waiting == 4)
    # Three jobs the service never heard of: as after a lost notice from another replica.
    jobs = [new_job(tenant="acme", spec=farm.score().spec, now=farm.clock.now()) for _ in range(3)]
    await farm.store.submit_jobs(jobs)
    await eventually(lambda: sum(p.done() for p in pullers) == 3)
    assert {p.result() for p in pullers if p.done()} == {job.id for job in jobs}
    for puller in pullers:
        puller.cancel()
    await asyncio.gather(*pullers, return_exceptions=True)


async def test_each_kind_of_node_has_its_own_scout(farm):
    plain = [await farm.register(f"cpu-{i}") for i in range(3)]
    cuda = await farm.register("cuda", backends=("cuda",))
    pullers = [asyncio.ensure_future(farm.pull(s, wait_s=30)) for s in [*plain, cuda]]
    await eventually(lambda: farm.service.work.waiting == 4)
    assert farm.service.work.groups == 2
    job = new_job(
        tenant="acme",
        spec=farm.score().spec,
        now=farm.clock.now(),
        requirements=Requirements(backend="cuda"),
    )
    await farm.store.submit_jobs([job])  # no notify: only a scout of the cuda group finds it
    assert await asyncio.wait_for(pullers[-1], 5) == job.id
    assert not any(p.done() for p in pullers[:-1])
    for puller in pullers[:-1]:
        puller.cancel()
    await asyncio.gather(*pullers[:-1], return_exceptions=True)


async def test_a_newcomer_skips_its_claim_only_while_nothing_changed(farm):
    a, b = await farm.register("node-a"), await farm.register("node-b")
    claims = count_claims(farm)
    assert await farm.pull(a) is None
    assert claims[0] == 1
    assert await farm.pull(b) is None  # node-a of the same kind just found nothing
    assert claims[0] == 1
    job_id = await farm.submit()  # the version moves: a newcomer claims again
    assert await farm.pull(b) == job_id
    assert claims[0] == 2
    assert (await farm.store.get_job(job_id)).state is JobState.RUNNING
