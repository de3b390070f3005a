"""A node whose background task dies stops loudly (logged, non-zero) instead of working on
half-alive; a handler stuck after its job was cancelled is abandoned and frees its slot."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest

from vmafx.core.jobs import JobKind, JobState
from vmafx.errors import AuthError
from vmafx.node.handlers.base import JobOutput
from vmafx.supervision import TaskDiedError

pytestmark = pytest.mark.anyio

WAIT_S = 5.0


class Breakable:
    """A ControllerClient that passes every call through until `broken` names a method; calls
    of that method then raise RuntimeError (a bug, not a controller that is away)."""

    def __init__(self, inner: Any, broken: str | None = None) -> None:
        self.inner = inner
        self.broken = broken

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            if name == self.broken:
                raise RuntimeError(f"{name} exploded")
            return await method(*args, **kwargs)

        return call


def critical_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.CRITICAL]


async def test_a_node_whose_heartbeat_dies_stops_and_says_why(farm, caplog):
    client = Breakable(farm.client, broken="heartbeat")
    agent = farm.agent(client=client, burst=False)
    with pytest.raises(TaskDiedError, match="background task 'heartbeat' died") as died:
        await asyncio.wait_for(agent.run(), WAIT_S)
    assert died.value.exit_code == 1
    assert "RuntimeError: heartbeat exploded" in str(died.value)
    [record] = critical_records(caplog)
    assert "background task heartbeat died" in record.getMessage()
    assert record.exc_info is not None
    assert agent.readiness() == (False, "draining: shutting down")


async def test_a_running_job_is_handed_back_at_once_when_the_heartbeat_dies(farm):
    [job_id] = await farm.scores(1)
    handler = farm.Handler(work=farm.until_cancelled)
    client = Breakable(farm.client)
    agent = farm.agent({JobKind.SCORE: handler}, client=client, burst=False, drain_timeout_s=60)
    running = asyncio.ensure_future(agent.run())
    await farm.wait_for(lambda: job_id in agent.running)
    client.broken = "heartbeat"
    with pytest.raises(TaskDiedError):
        await asyncio.wait_for(running, WAIT_S)  # well before the 60 s drain timeout
    job = (await farm.client.get_job(job_id)).job
    assert job.state is JobState.PENDING  # released, not left to a lease that runs out


async def test_a_pull_loop_that_dies_of_a_bug_stops_the_node(farm, caplog):
    agent = farm.agent(client=Breakable(farm.client, broken="pull_work"), burst=False, slots=2)
    with pytest.raises(TaskDiedError, match="pull loop"):
        await asyncio.wait_for(agent.run(), WAIT_S)
    assert any("pull loop" in r.getMessage() for r in critical_records(caplog))


async def test_a_controller_that_is_away_is_still_retried_not_fatal(farm):
    flaky = farm.Flaky(farm.client, {"heartbeat": 3, "pull_work": 3})
    [job_id] = await farm.scores(1)
    agent = farm.agent(client=flaky, burst=False)
    running = asyncio.ensure_future(agent.run())
    await farm.wait_for(lambda: agent.heartbeat.beats >= 1)
    await farm.wait_for(lambda: _completed(farm, job_id))
    agent.request_stop()
    await asyncio.wait_for(running, WAIT_S)  # returns: no failure raised
    assert agent.supervisor.failure is None


async def test_a_refused_token_ends_the_node_with_the_tokens_own_error(farm, caplog):
    flaky = farm.Flaky(farm.client, {"register_node": 0})
    agent = farm.agent(client=flaky, burst=False)
    running = asyncio.ensure_future(agent.run())
    await farm.wait_for(lambda: agent.keeper.current is not None)
    flaky.failures["heartbeat"] = 10_000
    flaky.error = AuthError("the token is not valid.")
    flaky.failures["register_node"] = 10_000
    with pytest.raises(AuthError, match="token is not valid"):
        await asyncio.wait_for(running, WAIT_S)
    assert critical_records(caplog) == []  # a deliberate stop, not a crash


async def test_a_handler_stuck_after_a_cancel_is_abandoned_and_the_slot_runs_the_next_job(farm):
    [stuck_id] = await farm.scores(1)
    unblock = threading.Event()

    def stuck_then_fine(context):
        if context.job.id == stuck_id:
            unblock.wait(WAIT_S)  # a blocking call that never looks at the cancel token
        return JobOutput(result={"ok": True})

    agent = farm.agent(
        {JobKind.SCORE: farm.Handler(work=stuck_then_fine)}, burst=False, stop_grace_s=0.05
    )
    running = asyncio.ensure_future(agent.run())
    try:
        await farm.wait_for(lambda: stuck_id in agent.running)
        await farm.client.cancel_job(stuck_id, "not needed")
        await farm.wait_for(lambda: stuck_id not in agent.running)
        [next_id] = await farm.scores(1)
        await farm.wait_for(lambda: _completed(farm, next_id))
        assert (await farm.client.get_job(stuck_id)).job.state is JobState.CANCELLED
        assert agent.executor.abandoned == 1
        assert agent.metrics.abandoned._value.get() == 1
        assert agent.metrics.jobs.labels("score", "cancelled")._value.get() == 1
    finally:
        unblock.set()
        agent.request_stop()
        await asyncio.wait_for(running, WAIT_S)


async def _completed(farm, job_id: str) -> bool:
    return (await farm.client.get_job(job_id)).job.state is JobState.COMPLETED


async def test_a_stuck_job_whose_lease_was_lost_frees_its_slot_and_runs_again(farm):
    [job_id] = await farm.scores(1)
    unblock = threading.Event()

    def stuck_on_first_attempt(context):
        if context.job.attempt == 1:
            unblock.wait(WAIT_S)  # a blocking call that never looks at the cancel token
        return JobOutput(result={"attempt": context.job.attempt})

    agent = farm.agent(
        {JobKind.SCORE: farm.Handler(work=stuck_on_first_attempt)}, burst=False, stop_grace_s=0.05
    )
    running = asyncio.ensure_future(agent.run())
    try:
        await farm.wait_for(lambda: job_id in agent.running)
        farm.client.clock.advance(3600)  # the session and its lease expire: the job goes back
        await farm.client.service.expire_once()
        farm.client.clock.advance(3600)  # past the retry backoff
        await farm.wait_for(lambda: _completed(farm, job_id))  # on this node's only slot
        job = (await farm.client.get_job(job_id)).job
        assert job.result == {"attempt": 2}
        assert agent.executor.abandoned == 1
    finally:
        unblock.set()
        agent.request_stop()
        await asyncio.wait_for(running, WAIT_S)
