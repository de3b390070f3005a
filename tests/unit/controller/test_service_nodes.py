"""ControllerService, node side: register, pull (long-poll), heartbeat, report, release, drain,
expiry — with the in-memory store and a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from vmafx.controller.auth import Principal
from vmafx.core.attempts import AttemptOutcome
from vmafx.core.jobs import JobState
from vmafx.core.messages import JobRef, NodeReport, NodeState, RunningJob
from vmafx.core.tokens import Role
from vmafx.errors import ForbiddenError, NotFoundError, StaleAttemptError, UsageError

from .conftest import until

pytestmark = pytest.mark.anyio


async def test_registering_a_node_needs_the_node_role(farm):
    with pytest.raises(ForbiddenError, match="node"):
        await farm.register(principal=farm.admin)


async def test_a_node_claims_a_job_with_a_lease_and_the_scoring_roots(farm):
    job_id = await farm.submit()
    session = await farm.register()
    claim = await farm.service.pull_work(farm.node, session.node_id, session.session_token)
    assert claim is not None
    assert (claim.job.id, claim.job.state, claim.job.attempt) == (job_id, JobState.RUNNING, 1)
    assert claim.lease_ttl_s == 60.0
    assert claim.scoring_roots == (str(farm.root),)


async def test_a_wrong_session_token_is_refused(farm):
    session = await farm.register()
    with pytest.raises(ForbiddenError, match="session token"):
        await farm.service.pull_work(farm.node, session.node_id, "forged")


async def test_a_node_of_another_tenant_cannot_use_the_session(farm):
    session = await farm.register()
    other = Principal.of("globex", Role.NODE)
    with pytest.raises(NotFoundError, match="Register the node again"):
        await farm.service.pull_work(other, session.node_id, session.session_token)


async def test_a_node_never_gets_another_tenants_jobs(farm):
    await farm.submit()
    other = Principal.of("globex", Role.NODE)
    session = await farm.register(principal=other)
    claim = await farm.service.pull_work(other, session.node_id, session.session_token)
    assert claim is None


async def test_a_long_poll_wakes_when_a_job_is_submitted(farm):
    session = await farm.register()
    pulling = asyncio.ensure_future(farm.pull(session, wait_s=10))
    await until(lambda: farm.service.work.waiting == 1)
    assert not pulling.done()
    job_id = await farm.submit()
    assert await asyncio.wait_for(pulling, 1) == job_id


async def test_a_long_poll_answers_empty_when_its_wait_ends(farm):
    session = await farm.register()
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await farm.pull(session, wait_s=0.1) is None
    assert 0.09 <= loop.time() - started < 1.0


async def test_a_long_poll_answers_empty_at_once_when_the_service_closes(farm):
    session = await farm.register()
    pulling = asyncio.ensure_future(farm.pull(session, wait_s=10))
    await until(lambda: farm.service.work.waiting == 1)
    await farm.service.close()
    assert await asyncio.wait_for(pulling, 1) is None


async def test_an_original_node_completes_a_job_with_its_score(farm):
    job_id = await farm.submit()
    session = await farm.register()
    await farm.pull(session)
    report = NodeReport(job_id=job_id, score=93.25, features={"adm2": 0.98})
    outcome = await farm.service.report_result(
        farm.node, session.node_id, session.session_token, report
    )
    assert outcome.applied
    assert outcome.job.state is JobState.COMPLETED
    assert outcome.job.result == {"score": 93.25, "features": {"adm2": 0.98}}


async def test_a_report_with_an_error_fails_the_job(farm):
    job_id = await farm.submit()
    session = await farm.register()
    await farm.pull(session)
    report = NodeReport(job_id=job_id, attempt=1, error="ffmpeg exited 1")
    outcome = await farm.service.report_result(
        farm.node, session.node_id, session.session_token, report
    )
    assert (outcome.job.state, outcome.job.error) == (JobState.FAILED, "ffmpeg exited 1")


async def test_repeating_the_final_report_is_a_no_op(farm):
    job_id = await farm.submit()
    session = await farm.register()
    await farm.pull(session)
    report = NodeReport(job_id=job_id, attempt=1, result={"score": 90.0})
    call = (farm.node, session.node_id, session.session_token, report)
    await farm.service.report_result(*call)
    farm.clock.advance(1)
    again = await farm.service.report_result(*call)
    assert not again.applied
    assert "already reported" in again.message


async def test_a_report_from_a_superseded_attempt_is_refused(farm):
    job_id = await farm.submit()
    session = await farm.register()
    await farm.pull(session)
    farm.clock.advance(120)
    await farm.service.expire_once()
    fresh = await farm.register("node-b")
    farm.clock.advance(10)  # the backoff
    assert await farm.pull(fresh) == job_id
    late = NodeReport(job_id=job_id, attempt=1, result={"score": 1.0})
    with pytest.raises(StaleAttemptError, match="attempt 1"):
        await farm.service.report_result(farm.node, fresh.node_id, fresh.session_token, late)


async def test_heartbeat_renews_leases_so_they_do_not_expire(farm):
    job_id = await farm.submit()
    session = await farm.register()
    await farm.pull(session)
    for _ in range(3):
        farm.clock.advance(40)
        answer = await farm.service.heartbeat(
            farm.node, session.node_id, session.session_token, running=[RunningJob(job_id=job_id)]
        )
        assert answer.ok
        await farm.service.expire_once()
    job = (await farm.service.get_job(farm.reader, job_id)).job
    assert job.state is JobState.RUNNING


async def test_heartbeat_names_cancelled_jobs_for_the_node_to_stop(farm):
    job_id = await farm.submit()
    session = await farm.register()
    await farm.pull(session)
    await farm.service.cancel_job(farm.writer, job_id)
    answer = await farm.service.heartbeat(
        farm.node, session.node_id, session.session_token, running=[RunningJob(job_id=job_id)]
    )
    assert answer.cancel_job_ids == (job_id,)


async def test_heartbeat_records_progress_of_running_jobs(farm):
    job_id = await farm.submit()
    session = await farm.register()
    await farm.pull(session)
    running = [RunningJob(job_id=job_id, attempt=1, progress=0.4, fps=30.0)]
    await farm.service.heartbeat(farm.node, session.node_id, session.session_token, running=running)
    assert (await farm.service.get_job(farm.reader, job_id)).job.progress == 0.4


async def test_heartbeat_of_an_unknown_session_says_session_unknown(farm):
    answer = await farm.service.heartbeat(farm.node, "no-such-node", "token")
    assert (answer.ok, answer.session_unknown) == (False, True)


async def test_heartbeat_after_the_session_expired_says_session_unknown(farm):
    session = await farm.register()
    farm.clock.advance(61)
    await farm.service.expire_once()
    answer = await farm.service.heartbeat(farm.node, session.node_id, session.session_token)
    assert answer.session_unknown


async def test_heartbeat_naming_too_many_jobs_is_refused(farm):
    session = await farm.register()
    running = [RunningJob(job_id=f"j{i}") for i in range(65)]
    with pytest.raises(UsageError, match="at most 64"):
        await farm.service.heartbeat(
            farm.node, session.node_id, session.session_token, running=running
        )


async def test_an_expired_lease_requeues_the_job_with_backoff_then_fails_after_three(farm):
    job_id = await farm.submit()
    for attempt in range(1, 4):
        farm.clock.advance(600)  # past any backoff
        session = await farm.register(f"node-{attempt}")
        assert await farm.pull(session) == job_id
        farm.clock.advance(61)
        await farm.service.expire_once()
    details = await farm.service.get_job(farm.reader, job_id)
    assert details.job.state is JobState.FAILED
    assert "lost its lease 3 times" in (details.job.error or "")
    assert [a.outcome for a in details.attempts] == [AttemptOutcome.EXPIRED] * 3


async def test_released_jobs_go_back_to_pending_without_counting_as_lost(farm):
    job_id = await farm.submit()
    session = await farm.register()
    await farm.pull(session)
    released = await farm.service.release_jobs(
        farm.node, session.node_id, session.session_token, [JobRef(job_id, 1)], reason="sigterm"
    )
    job = (await farm.service.get_job(farm.reader, job_id)).job
    assert released == [job_id]
    assert (job.state, job.lost_leases) == (JobState.PENDING, 0)


async def test_ending_the_session_releases_every_job_it_holds(farm):
    job_id = await farm.submit()
    session = await farm.register()
    await farm.pull(session)
    released = await farm.service.release_jobs(
        farm.node, session.node_id, session.session_token, [], end_session=True
    )
    assert released == [job_id]
    assert await farm.service.list_nodes(farm.reader) == []


async def test_a_drained_node_gets_no_work_and_hears_drain_in_its_heartbeat(farm):
    session = await farm.register()
    await farm.submit()
    result = await farm.service.drain_node(farm.admin, session.node_id)
    answer = await farm.service.heartbeat(farm.node, session.node_id, session.session_token)
    assert result.ok
    assert answer.drain
    assert await farm.pull(session) is None
    views = await farm.service.list_nodes(farm.reader)
    assert [view.state for view in views] == [NodeState.DRAINING]


async def test_draining_with_release_returns_running_jobs_at_once(farm):
    job_id = await farm.submit()
    session = await farm.register()
    await farm.pull(session)
    result = await farm.service.drain_node(farm.admin, session.node_id, release_jobs=True)
    assert result.released_job_ids == (job_id,)


async def test_only_an_admin_may_drain(farm):
    session = await farm.register()
    with pytest.raises(ForbiddenError):
        await farm.service.drain_node(farm.writer, session.node_id)


async def test_list_nodes_shows_running_jobs_and_slots_in_use(farm):
    job_id = await farm.submit()
    session = await farm.register()
    await farm.pull(session)
    [view] = await farm.service.list_nodes(farm.reader)
    assert view.session.id == session.node_id
    assert view.running_job_ids == (job_id,)
    assert view.slots_in_use == {"score": 1}
    assert view.state is NodeState.LIVE


async def test_cancel_racing_a_final_report_ends_in_one_terminal_state(farm):
    job_id = await farm.submit()
    session = await farm.register()
    await farm.pull(session)
    report = NodeReport(job_id=job_id, attempt=1, result={"score": 80.0})
    cancelled, outcome = await asyncio.gather(
        farm.service.cancel_job(farm.writer, job_id),
        farm.service.report_result(farm.node, session.node_id, session.session_token, report),
    )
    final = (await farm.service.get_job(farm.reader, job_id)).job
    assert final.state in (JobState.CANCELLED, JobState.COMPLETED)
    assert final.state in (cancelled.state, outcome.job.state)
