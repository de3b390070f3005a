"""A job no live node can run stays pending and says why."""

from __future__ import annotations

import pytest

from vmafx.core.jobs import JobState, Requirements

pytestmark = pytest.mark.anyio


async def _reason(farm, job_id):
    return (await farm.service.get_job(farm.reader, job_id)).job.pending_reason


async def test_a_job_submitted_before_any_node_says_no_node_is_registered(farm):
    job_id = await farm.submit()
    assert await _reason(farm, job_id) == "no live node is registered"


async def test_a_job_no_node_can_run_names_each_node_and_what_it_lacks(farm):
    await farm.register("gpu-box", encoders=("libx264",))
    job_id = await farm.submit(requirements=Requirements(encoder="av1_nvenc"))
    reason = await _reason(farm, job_id)
    assert reason is not None
    assert "gpu-box: needs encoder av1_nvenc" in reason


async def test_a_runnable_job_has_no_pending_reason(farm):
    await farm.register()
    job_id = await farm.submit()
    assert await _reason(farm, job_id) is None


async def test_reasons_are_cleared_once_a_fitting_node_registers(farm):
    job_id = await farm.submit(requirements=Requirements(backend="cuda"))
    await farm.register("cuda-box", backends=("cuda",))
    changed = await farm.service.refresh_pending_reasons()
    assert [job.id for job in changed] == [job_id]
    assert await _reason(farm, job_id) is None


async def test_reasons_appear_when_the_only_node_leaves(farm):
    session = await farm.register()
    job_id = await farm.submit()
    farm.clock.advance(61)
    await farm.service.expire_once()
    await farm.service.refresh_pending_reasons()
    assert await _reason(farm, job_id) == "no live node is registered"
    assert session.node_id not in [v.session.id for v in await farm.service.list_nodes(farm.reader)]


async def test_draining_every_node_says_so(farm):
    session = await farm.register()
    job_id = await farm.submit()
    await farm.service.drain_node(farm.admin, session.node_id)
    await farm.service.refresh_pending_reasons()
    assert await _reason(farm, job_id) == "every live node is draining"


async def test_a_backoff_reason_is_kept_while_the_job_waits(farm):
    job_id = await farm.submit()
    session = await farm.register()
    await farm.pull(session)
    farm.clock.advance(61)
    await farm.service.expire_once()
    await farm.register("node-b")
    await farm.service.refresh_pending_reasons()
    job = (await farm.service.get_job(farm.reader, job_id)).job
    assert job.state is JobState.PENDING
    assert "retrying after" in (job.pending_reason or "")
