"""An operator steering a running node through the controller: drain and resume, per-queue
concurrency changed live (applied by the node on its next heartbeat, no restart), and GPU load
carried by heartbeats. In-process controller; handlers are scripted."""

from __future__ import annotations

import asyncio
import threading

import pytest

from vmafx.controller.auth import Principal
from vmafx.core.gpuusage import MAX_GPUS, GpuUsage
from vmafx.core.jobs import JobKind, JobState
from vmafx.core.messages import NodeState
from vmafx.core.tokens import Role
from vmafx.errors import AuthError, NotFoundError, UsageError
from vmafx.node.handlers.base import JobOutput

pytestmark = pytest.mark.anyio


def gate():
    """Work that holds its slot until the test opens the gate."""
    opened = threading.Event()

    def work(context):
        opened.wait(5)
        return JobOutput(result={})

    return opened, work


async def started(farm, agent):
    running = asyncio.ensure_future(agent.run())
    await farm.wait_for(lambda: agent.keeper.current is not None)
    return running, agent.keeper.current.node_id


async def stop(agent, running) -> None:
    agent.request_stop()
    await asyncio.wait_for(running, 5)


async def test_raising_concurrency_live_adds_pull_loops_on_the_next_heartbeat(farm):
    opened, work = gate()
    encode = farm.Handler(work=work)
    await farm.submit(*(farm.encode_request() for _ in range(3)))
    agent = farm.agent({JobKind.ENCODE: encode}, queues=("encode",), concurrency={"encode": 1},
                       burst=False)  # fmt: skip
    running, node_id = await started(farm, agent)
    await farm.wait_for(lambda: encode.active == 1)
    answer = await farm.client.set_node_concurrency(node_id, {"encode": 3})
    assert (dict(answer.concurrency), answer.slots) == ({"encode": 3}, 3)
    await farm.wait_for(lambda: encode.active == 3)  # three at once, the same process
    assert agent.slots == 3 and agent.metrics.slots._value.get() == 3
    assert agent.keeper.capabilities.concurrency == {"encode": 3}
    opened.set()
    await farm.wait_for(lambda: len(encode.seen) == 3)
    await stop(agent, running)


async def test_lowering_concurrency_retires_loops_once_their_job_ends(farm):
    opened, work = gate()
    encode = farm.Handler(work=work)
    agent = farm.agent({JobKind.ENCODE: encode}, queues=("encode",), concurrency={"encode": 2},
                       slots=2, burst=False)  # fmt: skip
    running, node_id = await started(farm, agent)
    await farm.submit(*(farm.encode_request() for _ in range(2)))
    await farm.wait_for(lambda: encode.active == 2)
    await farm.client.set_node_concurrency(node_id, {"encode": 1})
    await farm.wait_for(lambda: agent.slots == 1)
    opened.set()
    await farm.wait_for(lambda: len(encode.seen) == 2)
    opened.clear()
    ids = await farm.submit(*(farm.encode_request() for _ in range(2)))
    await farm.wait_for(lambda: encode.active == 1)
    await asyncio.sleep(0.2)  # many pulls and heartbeats later: still one at a time
    assert encode.active == 1 and encode.most_active == 2
    opened.set()
    for job_id in ids:
        await farm.wait_for(lambda j=job_id: _completed(farm, j))
    await stop(agent, running)


async def _completed(farm, job_id) -> bool:
    return (await farm.client.get_job(job_id)).job.state is JobState.COMPLETED


async def test_a_queue_set_to_zero_gets_no_more_jobs_at_once_even_before_the_heartbeat(farm):
    registration = await farm.client.register_node("n", _caps(("encode", "score")))
    await farm.client.set_node_concurrency(registration.node_id, {"encode": 0})
    await farm.submit(farm.encode_request())
    assert await farm.client.pull_work(registration, queues=["encode"]) is None
    [view] = await farm.client.list_nodes()
    assert (dict(view.session.capabilities.concurrency), view.session.capabilities.slots) == (
        {"encode": 0}, 1,
    )  # fmt: skip
    answer = await farm.client.heartbeat(registration)
    assert answer.concurrency == {"encode": 0}


def _caps(queues):
    from vmafx.core.nodes import NodeCapabilities

    return NodeCapabilities(host="h", queues=queues, slots=2)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({}, "at least one queue"),
        ({"Encode": 1}, "queue name 'Encode' is not valid"),
        ({"encode": 65}, "whole number in 0-64"),
        ({"thumbnail": 1}, "does not take jobs from queue 'thumbnail'"),
    ],
)
async def test_bad_limits_are_refused_with_the_fix(farm, limits, message):
    registration = await farm.client.register_node("n", _caps(("encode", "score")))
    with pytest.raises(UsageError, match=message):
        await farm.client.set_node_concurrency(registration.node_id, limits)


async def test_drain_then_resume_gives_the_node_work_again(farm):
    registration = await farm.client.register_node("n", _caps(()))
    await farm.client.drain_node(registration.node_id)
    [view] = await farm.client.list_nodes()
    assert (view.state, view.drain_requested) == (NodeState.DRAINING, True)
    [job_id] = await farm.scores(1)
    assert await farm.client.pull_work(registration) is None
    result = await farm.client.resume_node(registration.node_id)
    assert result.was_drained
    [view] = await farm.client.list_nodes()
    assert (view.state, view.drain_requested) == (NodeState.LIVE, False)
    claim = await farm.client.pull_work(registration)
    assert claim is not None and claim.job.id == job_id
    assert not (await farm.client.resume_node(registration.node_id)).was_drained


async def test_only_an_admin_steers_nodes_and_an_unknown_node_is_said(farm):
    registration = await farm.client.register_node("n", _caps(()))
    reader = farm.client.as_(Principal.of("dev", Role.READER))
    with pytest.raises(AuthError, match="admin"):
        await reader.resume_node(registration.node_id)
    with pytest.raises(AuthError, match="admin"):
        await reader.set_node_concurrency(registration.node_id, {"score": 1})
    with pytest.raises(NotFoundError, match="unknown or expired"):
        await farm.client.resume_node("no-such-node")


async def test_gpu_load_travels_on_heartbeats_checked_and_bounded(farm):
    registration = await farm.client.register_node("n", _caps(()))
    usage = [GpuUsage(uuid=f"GPU-{i}", index=i, utilization_pct=50.0 + i) for i in range(20)]
    usage[0] = GpuUsage(uuid="GPU-0", utilization_pct=400.0, encoder_sessions=2)
    await farm.client.heartbeat(registration, gpu_usage=usage)
    [view] = await farm.client.list_nodes()
    assert len(view.gpu_usage) == MAX_GPUS
    assert view.gpu_usage[0] == GpuUsage(uuid="GPU-0", encoder_sessions=2)  # 400 % is unknown
    assert view.gpu_usage[1].utilization_pct == 51.0
    assert view.gpu_usage_at == farm.client.clock.now()


async def test_the_agent_sends_its_samplers_gpu_load_with_each_heartbeat(farm):
    samples = [GpuUsage(uuid="GPU-9a8b", utilization_pct=42.0, encoder_sessions=1)]

    async def sampler():
        return samples

    agent = farm.agent(burst=False)
    agent.heartbeat.sampler = sampler
    running, _ = await started(farm, agent)

    async def reported():
        views = await farm.client.list_nodes()
        return bool(views) and views[0].gpu_usage == tuple(samples)

    await farm.wait_for(reported)
    await stop(agent, running)
