"""The node agent against an in-process controller: slots, queues, reports, cancel through the
heartbeat, re-registration, drain. Handlers are scripted; nothing runs ffmpeg."""

from __future__ import annotations

import asyncio
import dataclasses
import threading

import pytest

from vmafx.controller.auth import Principal
from vmafx.core.attempts import AttemptOutcome
from vmafx.core.jobs import JobKind, JobState, Requirements
from vmafx.core.nodes import GpuInfo
from vmafx.core.specs import ScoreSpec
from vmafx.core.tokens import Role
from vmafx.errors import AuthError, FfmpegCancelledError, InputNotFoundError
from vmafx.node.handlers.base import Fallback, JobOutput, JobProgress

pytestmark = pytest.mark.anyio

WAIT_S = 5.0

L4 = GpuInfo(vendor="nvidia", name="NVIDIA L4", uuid="GPU-9a8b", index=1, memory_mb=23034)


async def run_burst(agent) -> None:
    await asyncio.wait_for(agent.run(), WAIT_S)


async def state_of(farm, job_id):
    return (await farm.client.get_job(job_id)).job.state


async def test_burst_mode_runs_every_queued_job_then_returns(farm):
    ids = await farm.scores(3)
    handler = farm.Handler(work=lambda context: JobOutput(result={"score": 91.5}, score=91.5))
    await run_burst(farm.agent({JobKind.SCORE: handler}))
    assert sorted(handler.seen) == sorted(ids)
    for job_id in ids:
        job = (await farm.client.get_job(job_id)).job
        assert (job.state, job.result) == (JobState.COMPLETED, {"score": 91.5})


async def test_a_handler_is_given_the_jobs_spec_parsed_once_into_its_typed_form(farm):
    [job_id] = await farm.scores(1)
    seen: list[object] = []
    handler = farm.Handler(work=lambda context: seen.append(context.spec) or JobOutput(result={}))
    await run_burst(farm.agent({JobKind.SCORE: handler}))
    job = (await farm.client.get_job(job_id)).job
    [spec] = seen
    assert isinstance(spec, ScoreSpec) and spec.to_json() == job.spec


async def test_each_slot_runs_a_job_at_the_same_time(farm):
    await farm.scores(2)
    barrier = threading.Barrier(2, timeout=WAIT_S)

    def together(context):
        barrier.wait()  # both jobs must be running at once, or this times out
        return JobOutput(result={})

    handler = farm.Handler(work=together)
    await run_burst(farm.agent({JobKind.SCORE: handler}, slots=2))
    assert handler.most_active == 2


async def test_a_node_pulls_only_from_its_queues(farm):
    [score_id] = await farm.scores(1)
    [encode_id] = await farm.submit(farm.encode_request())
    handlers = {JobKind.SCORE: farm.Handler(), JobKind.ENCODE: farm.Handler()}
    await run_burst(farm.agent(handlers, queues=("encode",)))
    assert await state_of(farm, encode_id) is JobState.COMPLETED
    assert await state_of(farm, score_id) is JobState.PENDING


async def test_per_queue_concurrency_caps_jobs_of_that_queue(farm):
    await farm.submit(*(farm.encode_request() for _ in range(3)))
    encode = farm.Handler(
        work=lambda context: (threading.Event().wait(0.05), JobOutput(result={}))[1]
    )
    agent = farm.agent({JobKind.ENCODE: encode}, slots=2, concurrency={"encode": 1})
    await run_burst(agent)
    assert len(encode.seen) == 3
    assert encode.most_active == 1


async def test_a_job_cancelled_on_the_controller_is_stopped_through_the_heartbeat(farm):
    [job_id] = await farm.scores(1)
    handler = farm.Handler(work=farm.until_cancelled)
    agent = farm.agent({JobKind.SCORE: handler}, burst=False)
    running = asyncio.ensure_future(agent.run())
    await farm.wait_for(lambda: job_id in agent.running)
    await farm.client.cancel_job(job_id, "not needed")
    await farm.wait_for(lambda: job_id not in agent.running)
    agent.request_stop()
    await asyncio.wait_for(running, WAIT_S)
    assert await state_of(farm, job_id) is JobState.CANCELLED
    outcome = agent.metrics.jobs.labels("score", "cancelled")._value.get()
    assert outcome == 1


async def test_the_node_registers_again_when_the_controller_forgot_its_session(farm):
    agent = farm.agent(burst=False)
    running = asyncio.ensure_future(agent.run())
    await farm.wait_for(lambda: agent.keeper.current is not None)
    first = agent.keeper.current
    farm.client.clock.advance(3600)  # the session (and nothing else) expires
    await farm.client.service.expire_once()
    await farm.wait_for(lambda: agent.keeper.registrations == 2)
    assert agent.keeper.current.node_id != first.node_id
    assert agent.metrics.registrations._value.get() == 2
    [job_id] = await farm.scores(1)  # and the new session takes work
    await farm.wait_for(lambda: _is(state_of(farm, job_id), JobState.COMPLETED))
    agent.request_stop()
    await asyncio.wait_for(running, WAIT_S)


async def _is(state, expected) -> bool:
    return (await state) is expected


async def test_sigterm_lets_a_running_job_finish_within_the_drain_timeout(farm):
    [job_id] = await farm.scores(1)
    release = threading.Event()
    handler = farm.Handler(work=lambda context: (release.wait(WAIT_S), JobOutput(result={}))[1])
    agent = farm.agent({JobKind.SCORE: handler}, drain_timeout_s=WAIT_S, burst=False)
    running = asyncio.ensure_future(agent.run())
    await farm.wait_for(lambda: job_id in agent.running)
    agent.request_stop()
    await asyncio.sleep(0.05)
    assert not running.done()  # still waiting for the job
    release.set()
    await asyncio.wait_for(running, WAIT_S)
    assert await state_of(farm, job_id) is JobState.COMPLETED


async def test_drain_releases_jobs_still_running_at_the_timeout_without_counting_them_lost(farm):
    [job_id] = await farm.scores(1)
    agent = farm.agent(
        {JobKind.SCORE: farm.Handler(work=farm.until_cancelled)}, drain_timeout_s=0.05, burst=False
    )
    running = asyncio.ensure_future(agent.run())
    await farm.wait_for(lambda: job_id in agent.running)
    agent.request_stop()
    await asyncio.wait_for(running, WAIT_S)
    details = await farm.client.get_job(job_id)
    assert (details.job.state, details.job.lost_leases) == (JobState.PENDING, 0)
    assert details.attempts[-1].outcome is AttemptOutcome.RELEASED
    assert "node shutting down" in (details.attempts[-1].error or "")
    assert await farm.client.list_nodes() == []  # the session ended


class _Spy:
    """The farm's client, recording every report's `final` flag and each heartbeat's jobs."""

    def __init__(self, inner):
        self.inner = inner
        self.finals: list[bool] = []
        self.beats: list[list[str]] = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    async def report_result(self, session, report):
        self.finals.append(report.final)
        return await self.inner.report_result(session, report)

    async def heartbeat(self, session, *, running=(), draining=False, **extra):
        self.beats.append([item.job_id for item in running])
        return await self.inner.heartbeat(session, running=running, draining=draining, **extra)


async def test_progress_travels_on_heartbeats_only_at_a_bounded_rate(farm):
    [job_id] = await farm.scores(1)

    def chatty(context):
        for step in range(300):  # ~0.3 s of progress, 1,000 updates a second
            context.progress(JobProgress(fraction=step / 300, frames=step))
            threading.Event().wait(0.001)
        return JobOutput(result={})

    spy = _Spy(farm.client)
    agent = farm.agent(
        {JobKind.SCORE: farm.Handler(work=chatty)}, progress_interval_s=0.1, client=spy
    )
    await run_burst(agent)
    assert spy.finals == [True]  # the final report; progress never rides on a report
    assert 1 <= agent.executor.progress_reports <= 5
    assert spy.beats.count([job_id]) >= agent.executor.progress_reports
    assert await state_of(farm, job_id) is JobState.COMPLETED


async def test_the_heartbeat_carries_each_running_jobs_progress(farm):
    [job_id] = await farm.scores(1)
    agent = farm.agent(
        {JobKind.SCORE: farm.Handler(work=farm.until_cancelled)}, drain_timeout_s=0, burst=False
    )
    running = asyncio.ensure_future(agent.run())
    await farm.wait_for(lambda: job_id in agent.running)
    await farm.wait_for(lambda: agent.heartbeat.beats >= 2)
    snapshot = agent.running.snapshot()
    assert (snapshot[0].job_id, snapshot[0].attempt, snapshot[0].progress) == (job_id, 1, 0.5)
    job = (await farm.client.get_job(job_id)).job
    assert job.progress == 0.5
    agent.request_stop()
    await asyncio.wait_for(running, WAIT_S)


async def test_every_report_attributes_the_attempt_to_gpu_encoder_and_fallback(farm):
    [job_id] = await farm.submit(farm.encode_request())
    fallback = Fallback("h264_nvenc", "libx264", "exit code 1: Cannot load libcuda.so.1")
    output = JobOutput(result={"encoder": "libx264"}, encoder="libx264", fallback=fallback)
    handler = farm.Handler(work=lambda context: output)
    await run_burst(farm.agent({JobKind.ENCODE: handler}, gpus=[L4]))
    attempt = (await farm.client.get_job(job_id)).attempts[-1]
    assert (attempt.encoder, attempt.fallback, attempt.gpu) == ("libx264", True, L4)
    assert (attempt.node_name, attempt.host) == ("node-a", "host-a")


async def test_a_job_whose_input_vanished_fails_with_the_precise_message(farm):
    [job_id] = await farm.scores(1)

    def vanished(context):
        raise InputNotFoundError("the reference /media/ref.y4m does not exist (any more).")

    agent = farm.agent({JobKind.SCORE: farm.Handler(work=vanished)})
    await run_burst(agent)
    job = (await farm.client.get_job(job_id)).job
    assert (job.state, job.error) == (
        JobState.FAILED,
        "the reference /media/ref.y4m does not exist (any more).",
    )


async def test_a_machine_fault_hands_the_job_back_and_the_node_keeps_serving(farm):
    [crashed, fine] = await farm.scores(2)

    def crash_once(context):
        if context.job.id == crashed and context.job.attempt == 1:
            raise FfmpegCancelledError("ffmpeg was killed by signal 9 before it finished.")
        return JobOutput(result={"attempt": context.job.attempt})

    await run_burst(farm.agent({JobKind.SCORE: farm.Handler(work=crash_once)}))
    details = await farm.client.get_job(crashed)
    assert details.job.state is JobState.COMPLETED
    assert [a.outcome for a in details.attempts] == [
        AttemptOutcome.RELEASED,
        AttemptOutcome.COMPLETED,
    ]
    assert "machine fault on node-a" in (details.attempts[0].error or "")
    assert await state_of(farm, fine) is JobState.COMPLETED


async def test_a_machine_fault_on_the_last_allowed_attempt_fails_the_job(farm):
    [job_id] = await farm.scores(1)

    def always(context):
        raise FfmpegCancelledError("ffmpeg was killed by signal 9 before it finished.")

    await run_burst(farm.agent({JobKind.SCORE: farm.Handler(work=always)}))
    details = await farm.client.get_job(job_id)
    assert details.job.state is JobState.FAILED
    assert len(details.attempts) == 3
    assert "attempt 3 of 3" in (details.job.error or "")


async def test_a_job_of_a_kind_without_a_handler_fails_naming_the_queue_to_drop(farm):
    [job_id] = await farm.submit(farm.encode_request())
    await run_burst(farm.agent({JobKind.SCORE: farm.Handler()}))
    job = (await farm.client.get_job(job_id)).job
    assert job.state is JobState.FAILED
    assert "no handler for encode jobs" in (job.error or "")


async def test_a_job_requiring_a_label_the_node_lacks_is_left_pending(farm):
    [job_id] = await farm.scores(1, requirements=Requirements(labels={"tier": "heavy"}))
    await run_burst(farm.agent(labels={"tier": "light"}))
    assert await state_of(farm, job_id) is JobState.PENDING
    await run_burst(farm.agent(labels={"tier": "heavy"}, name="node-b"))
    assert await state_of(farm, job_id) is JobState.COMPLETED


async def test_a_non_finite_result_is_reported_as_a_failure_naming_the_value(farm):
    [job_id] = await farm.scores(1)
    handler = farm.Handler(work=lambda context: JobOutput(result={"vmaf": float("nan")}))
    await run_burst(farm.agent({JobKind.SCORE: handler}))
    job = (await farm.client.get_job(job_id)).job
    assert job.state is JobState.FAILED
    assert "result.vmaf is nan" in (job.error or "")


async def test_a_stop_before_the_first_registration_returns_at_once(farm):
    agent = farm.agent(burst=False)
    agent.request_stop()
    await asyncio.wait_for(agent.run(), WAIT_S)
    assert agent.keeper.registrations == 0


async def test_a_controller_away_at_start_is_waited_for_with_backoff(farm):
    [job_id] = await farm.scores(1)
    flaky = farm.Flaky(farm.client, {"register_node": 3})
    agent = farm.agent(client=flaky)
    await run_burst(agent)
    assert flaky.calls["register_node"] == 4
    assert await state_of(farm, job_id) is JobState.COMPLETED


async def test_pulls_that_fail_while_the_controller_is_away_are_retried(farm):
    [job_id] = await farm.scores(1)
    flaky = farm.Flaky(farm.client, {"pull_work": 3})
    await run_burst(farm.agent(client=flaky))
    assert flaky.calls["pull_work"] >= 4
    assert await state_of(farm, job_id) is JobState.COMPLETED


async def test_a_report_is_retried_until_the_controller_is_back(farm):
    [job_id] = await farm.scores(1)
    flaky = farm.Flaky(farm.client, {"report_result": 2})
    agent = farm.agent(client=flaky)
    agent.executor.settings = dataclasses.replace(
        agent.executor.settings, report_backoff_base_s=0.001, report_backoff_cap_s=0.002
    )
    await run_burst(agent)
    assert flaky.calls["report_result"] == 3
    assert await state_of(farm, job_id) is JobState.COMPLETED


async def test_the_node_is_not_ready_while_heartbeats_fail(farm):
    flaky = farm.Flaky(farm.client, {"heartbeat": 10_000})
    agent = farm.agent(client=flaky, burst=False)
    running = asyncio.ensure_future(agent.run())
    await farm.wait_for(lambda: flaky.calls.get("heartbeat", 0) >= 2)
    assert agent.readiness() == (False, "the controller does not answer heartbeats")
    flaky.failures["heartbeat"] = 0
    await farm.wait_for(lambda: agent.readiness()[0])
    agent.request_stop()
    await asyncio.wait_for(running, WAIT_S)
    assert agent.readiness() == (False, "draining: shutting down")


async def test_a_refused_token_stops_the_node_with_the_error(farm):
    flaky = farm.Flaky(farm.client, {"register_node": 1}, AuthError("the token is not valid."))
    with pytest.raises(AuthError, match="token is not valid"):
        await run_burst(farm.agent(client=flaky))


async def test_a_node_drained_by_an_operator_says_so_on_readyz(farm):
    agent = farm.agent(burst=False)
    running = asyncio.ensure_future(agent.run())
    await farm.wait_for(lambda: agent.keeper.current is not None)
    admin = farm.client.as_(Principal.of("dev", Role.ADMIN))
    await admin.drain_node(agent.keeper.current.node_id)
    await farm.wait_for(lambda: agent.heartbeat.drain_requested)
    assert agent.readiness() == (False, "drained by an operator")
    agent.request_stop()
    await asyncio.wait_for(running, WAIT_S)
