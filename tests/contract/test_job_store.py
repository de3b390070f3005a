"""The JobStore contract: every store (memory, SQLite, PostgreSQL) must pass all of it."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from vmafx.core.attempts import AttemptOutcome, Attribution
from vmafx.core.events import EventType
from vmafx.core.jobs import JobKind, JobState, Requirements
from vmafx.core.nodes import GpuInfo, NodeCapabilities
from vmafx.core.tokens import ApiToken, Role, token_digest
from vmafx.errors import ConflictError, NotFoundError, StaleAttemptError, UsageError
from vmafx.store import JobQuery
from vmafx.store.port import ClaimRequest

L4 = GpuInfo(vendor="nvidia", name="L4", uuid="GPU-1111", index=0, memory_mb=23034)


# --- submitting and reading -----------------------------------------------------------------
async def test_submitted_job_reads_back_equal(farm):
    job = farm.job(
        JobKind.ENCODE,
        queue="proxy",
        priority=5,
        requirements=Requirements(encoder="h264_nvenc", labels={"tier": "heavy"}),
        batch_id="b1",
        idempotency_key="k1",
    )
    await farm.store.submit_job(job)
    assert await farm.store.get_job(job.id) == job


async def test_job_of_another_tenant_is_not_found(farm):
    job = await farm.submit(tenant="acme")
    with pytest.raises(NotFoundError):
        await farm.store.get_job(job.id, tenant="globex")
    with pytest.raises(NotFoundError):
        await farm.store.cancel_job(job.id, now=farm.now, tenant="globex")


async def test_unknown_job_is_not_found(farm):
    with pytest.raises(NotFoundError, match="does not exist"):
        await farm.store.get_job("no-such-job")


async def test_resubmitting_with_the_same_idempotency_key_returns_the_first_job(farm):
    first = await farm.submit(idempotency_key="upload-7")
    again = await farm.store.submit_job(farm.job(idempotency_key="upload-7"))
    assert again == first
    page = await farm.store.list_jobs(JobQuery())
    assert [job.id for job in page.jobs] == [first.id]


async def test_reusing_an_idempotency_key_for_a_different_spec_is_a_conflict(farm):
    await farm.submit(idempotency_key="upload-7")
    other = farm.job(
        spec={"reference": "/other.mp4", "distorted": "/d.mp4"}, idempotency_key="upload-7"
    )
    with pytest.raises(ConflictError, match="upload-7"):
        await farm.store.submit_job(other)


async def test_submit_jobs_stores_a_batch_and_answers_in_order(farm):
    jobs = [farm.job(batch_id="batch-1") for _ in range(5)]
    stored = await farm.store.submit_jobs(jobs)
    assert [job.id for job in stored] == [job.id for job in jobs]
    page = await farm.store.list_jobs(JobQuery(batch_id="batch-1"))
    assert len(page.jobs) == 5


async def test_list_jobs_pages_newest_first_with_a_cursor(farm):
    ids = [(await farm.submit()).id for _ in range(5)]
    first = await farm.store.list_jobs(JobQuery(), limit=2)
    second = await farm.store.list_jobs(JobQuery(), limit=2, cursor=first.next_cursor)
    third = await farm.store.list_jobs(JobQuery(), limit=2, cursor=second.next_cursor)
    seen = [job.id for page in (first, second, third) for job in page.jobs]
    assert seen == ids[::-1]
    assert third.next_cursor is None


async def test_list_jobs_filters_by_tenant_state_kind_and_queue(farm):
    score = await farm.submit(JobKind.SCORE)
    proxy = await farm.submit(JobKind.ENCODE, queue="proxy")
    await farm.submit(JobKind.SCORE, tenant="globex")
    await farm.store.cancel_job(score.id, now=farm.now)
    store = farm.store
    by_tenant = await store.list_jobs(JobQuery(tenant="acme"))
    assert {job.id for job in by_tenant.jobs} == {score.id, proxy.id}
    cancelled = await store.list_jobs(JobQuery(states=(JobState.CANCELLED,)))
    assert [job.id for job in cancelled.jobs] == [score.id]
    encodes = await store.list_jobs(JobQuery(kinds=(JobKind.ENCODE,), queues=("proxy",)))
    assert [job.id for job in encodes.jobs] == [proxy.id]


async def test_list_jobs_applies_node_ids_and_creation_range_itself_so_pages_are_full(farm):
    jobs = [await farm.submit() for _ in range(6)]
    node, other = await farm.node("node-a"), await farm.node("node-b")
    claims = [ClaimRequest(node.id)] * 3 + [ClaimRequest(other.id)]
    await farm.store.claim_batch(claims, now=farm.now)
    first = await farm.store.list_jobs(JobQuery(node_id=node.id), limit=2)
    rest = await farm.store.list_jobs(JobQuery(node_id=node.id), limit=2, cursor=first.next_cursor)
    assert len(first.jobs) == 2 and first.next_cursor is not None
    held = [job.id for job in first.jobs + rest.jobs]
    assert len(held) == 3 and rest.next_cursor is None
    assert all(job.lease is not None and job.lease.session_id == node.id for job in first.jobs)
    picked = JobQuery(job_ids=(jobs[0].id, jobs[4].id, jobs[5].id))
    assert len((await farm.store.list_jobs(picked, limit=2)).jobs) == 2
    window = JobQuery(created_after=jobs[1].created_at, created_before=jobs[4].created_at)
    page = await farm.store.list_jobs(window, limit=3)
    assert [job.id for job in page.jobs] == [job.id for job in jobs[1:4]][::-1]


async def test_a_bad_cursor_or_page_size_is_a_usage_error(farm):
    with pytest.raises(UsageError, match="cursor"):
        await farm.store.list_jobs(JobQuery(), cursor="not-a-cursor")
    with pytest.raises(UsageError, match="page size"):
        await farm.store.list_jobs(JobQuery(), limit=0)


# --- claiming -------------------------------------------------------------------------------
async def test_claim_takes_higher_priority_first_then_older(farm):
    old_low = await farm.submit(priority=0)
    old_high = await farm.submit(priority=10)
    new_high = await farm.submit(priority=10)
    node = await farm.node()
    order = [(await farm.store.claim_next(node.id, now=farm.now)).id for _ in range(3)]
    assert order == [old_high.id, new_high.id, old_low.id]


async def test_claim_skips_jobs_whose_requirements_the_node_lacks(farm):
    nvenc = await farm.submit(requirements=Requirements(encoder="h264_nvenc"))
    plain = await farm.submit()
    cpu = await farm.node("cpu-box", encoders=("libx264",))
    claimed = await farm.store.claim_next(cpu.id, now=farm.now)
    assert claimed.id == plain.id
    assert await farm.store.claim_next(cpu.id, now=farm.now) is None
    assert (await farm.store.get_job(nvenc.id)).state is JobState.PENDING


async def test_claim_matches_gpu_vendor_memory_backend_and_labels(farm):
    wanted = Requirements(
        backend="cuda", gpu_vendor="nvidia", min_gpu_memory_mb=16000, labels={"tier": "heavy"}
    )
    job = await farm.submit(requirements=wanted)
    weak = await farm.node(
        "weak", backends=("cuda",), gpu_vendor="nvidia", labels={"tier": "heavy"}
    )
    assert await farm.store.claim_next(weak.id, now=farm.now) is None
    strong = await farm.node(
        "strong", backends=("cuda",), gpu_vendor="nvidia", gpus=(L4,), labels={"tier": "heavy"}
    )
    assert (await farm.store.claim_next(strong.id, now=farm.now)).id == job.id


async def test_claim_only_takes_jobs_from_subscribed_queues(farm):
    await farm.submit(JobKind.SCORE)
    proxy = await farm.submit(JobKind.ENCODE, queue="proxy")
    node = await farm.node(queues=("proxy", "encode"))
    assert (await farm.store.claim_next(node.id, now=farm.now)).id == proxy.id
    assert await farm.store.claim_next(node.id, now=farm.now) is None


async def test_claim_respects_per_queue_concurrency(farm):
    for _ in range(3):
        await farm.submit(JobKind.ENCODE)
    score = await farm.submit(JobKind.SCORE)
    node = await farm.node(concurrency={"encode": 2, "score": 1})
    kinds = [(await farm.store.claim_next(node.id, now=farm.now)) for _ in range(4)]
    assert [job.kind if job else None for job in kinds].count(JobKind.ENCODE) == 2
    assert score.id in {job.id for job in kinds if job}
    assert kinds[-1] is None


async def test_claim_only_sees_jobs_of_the_nodes_tenant(farm):
    await farm.submit(tenant="globex")
    node = await farm.node(tenant="acme")
    assert await farm.store.claim_next(node.id, now=farm.now) is None


async def test_claim_with_an_unknown_session_is_not_found(farm):
    await farm.submit()
    with pytest.raises(NotFoundError, match="Register"):
        await farm.store.claim_next("nobody", now=farm.now)


async def test_claim_records_an_attempt_naming_node_host_and_gpu(farm):
    job = await farm.submit()
    node = await farm.node("zampp2", gpus=(L4,), labels={"tier": "light"})
    claimed = await farm.store.claim_next(node.id, now=farm.now)
    assert (claimed.state, claimed.attempt, claimed.lease.session_id) == (
        JobState.RUNNING,
        1,
        node.id,
    )
    [attempt] = await farm.store.list_attempts(job.id)
    assert (attempt.number, attempt.node_name, attempt.where) == (1, "zampp2", "zampp2 / L4")
    assert attempt.labels == {"tier": "light"}


async def test_claim_uses_capabilities_sent_with_the_pull(farm):
    job = await farm.submit(requirements=Requirements(encoder="hevc_nvenc"))
    node = await farm.node()
    caps = NodeCapabilities(host="node-a", encoders=("hevc_nvenc",), slots=2)
    assert (await farm.store.claim_next(node.id, now=farm.now, capabilities=caps)).id == job.id


# --- claims in batches ----------------------------------------------------------------------
async def test_batch_serves_requests_in_order_without_giving_a_job_twice(farm):
    jobs = [await farm.submit(priority=p) for p in (0, 5, 5, 9)]
    nodes = [await farm.node(f"n{i}") for i in range(5)]
    outcomes = await farm.store.claim_batch([ClaimRequest(n.id) for n in nodes], now=farm.now)
    expected = [jobs[3].id, jobs[1].id, jobs[2].id, jobs[0].id, None]
    assert [o.id if o else None for o in outcomes] == expected
    for node, outcome in zip(nodes, outcomes[:4], strict=False):
        assert outcome.lease.session_id == node.id
        assert (await farm.store.get_job(outcome.id)).state is JobState.RUNNING
        [attempt] = await farm.store.list_attempts(outcome.id)
        assert attempt.node_name == node.name
        events = [e.type for e in await farm.store.list_events(outcome.id)]
        assert events[-1] is EventType.CLAIMED


async def test_batch_with_an_unknown_session_still_serves_the_others(farm):
    job = await farm.submit()
    node = await farm.node()
    outcomes = await farm.store.claim_batch(
        [ClaimRequest("nobody"), ClaimRequest(node.id)], now=farm.now
    )
    assert isinstance(outcomes[0], NotFoundError)
    assert "Register" in str(outcomes[0].hint)
    assert outcomes[1].id == job.id


async def test_batch_counts_earlier_claims_of_the_same_node_against_its_concurrency(farm):
    for _ in range(3):
        await farm.submit(JobKind.ENCODE)
    node = await farm.node(concurrency={"encode": 2})
    outcomes = await farm.store.claim_batch([ClaimRequest(node.id)] * 3, now=farm.now)
    assert [o is not None for o in outcomes] == [True, True, False]
    assert len({o.id for o in outcomes if o}) == 2


async def test_batch_matches_each_request_to_its_own_capabilities_and_queues(farm):
    nvenc = await farm.submit(requirements=Requirements(encoder="h264_nvenc"))
    proxy = await farm.submit(JobKind.ENCODE, queue="proxy")
    plain = await farm.submit()
    cpu = await farm.node("cpu", encoders=("libx264",))
    gpu = await farm.node("gpu", encoders=("h264_nvenc",))
    requests = [
        ClaimRequest(cpu.id, queues=("proxy",)),
        ClaimRequest(cpu.id),
        ClaimRequest(gpu.id),
        ClaimRequest(cpu.id),
    ]
    outcomes = await farm.store.claim_batch(requests, now=farm.now)
    assert [o.id if o else None for o in outcomes] == [proxy.id, plain.id, nvenc.id, None]


async def test_batch_scans_past_a_long_run_of_jobs_the_node_cannot_run(farm):
    for _ in range(70):
        await farm.submit(requirements=Requirements(encoder="h264_nvenc"))
    plain = await farm.submit(priority=-1)
    cpu = await farm.node("cpu", encoders=("libx264",))
    outcomes = await farm.store.claim_batch([ClaimRequest(cpu.id)] * 2, now=farm.now)
    assert [o.id if o else None for o in outcomes] == [plain.id, None]


async def test_a_full_node_claims_again_once_its_jobs_end_however_they_end(farm):
    for _ in range(6):
        await farm.submit()
    node = await farm.node(slots=2)
    first, second = [await farm.store.claim_next(node.id, now=farm.now) for _ in range(2)]
    assert await farm.store.claim_next(node.id, now=farm.now) is None  # full
    await farm.store.complete_job(
        first.id, attempt=1, session_id=node.id, now=farm.now, result={"vmaf": 90.0}
    )
    third = await farm.store.claim_next(node.id, now=farm.now)
    assert third is not None
    assert await farm.store.claim_next(node.id, now=farm.now) is None
    await farm.store.release_job(second.id, attempt=1, session_id=node.id, now=farm.now)
    await farm.store.cancel_job(third.id, now=farm.now)
    outcomes = await farm.store.claim_batch([ClaimRequest(node.id)] * 3, now=farm.now)
    assert [o is not None for o in outcomes] == [True, True, False]


async def test_capabilities_sent_with_a_pull_lower_the_limit_below_what_was_counted(farm):
    for _ in range(4):
        await farm.submit()
    node = await farm.node(slots=8)
    for _ in range(2):
        assert await farm.store.claim_next(node.id, now=farm.now) is not None
    tight = NodeCapabilities(host="node-a", slots=3)
    assert await farm.store.claim_next(node.id, now=farm.now, capabilities=tight) is not None
    assert await farm.store.claim_next(node.id, now=farm.now, capabilities=tight) is None
    assert await farm.store.claim_next(node.id, now=farm.now) is not None


# --- reports --------------------------------------------------------------------------------
async def _running(farm, **node_caps):
    job = await farm.submit()
    node = await farm.node(**node_caps)
    claimed = await farm.store.claim_next(node.id, now=farm.now)
    assert claimed is not None and claimed.id == job.id
    return claimed, node


async def test_complete_records_result_and_what_the_node_says_it_used(farm):
    job, node = await _running(farm)
    used = Attribution(gpu=L4, encoder="libx264", fallback=True)
    done = await farm.store.complete_job(
        job.id, attempt=1, session_id=node.id, now=farm.now, result={"vmaf": 93.5}, attribution=used
    )
    assert (done.state, done.result, done.lease, done.progress) == (
        JobState.COMPLETED,
        {"vmaf": 93.5},
        None,
        1.0,
    )
    [attempt] = await farm.store.list_attempts(job.id)
    assert (attempt.outcome, attempt.gpu, attempt.encoder, attempt.fallback) == (
        AttemptOutcome.COMPLETED,
        L4,
        "libx264",
        True,
    )


async def test_repeating_the_final_report_is_a_no_op(farm):
    job, node = await _running(farm)
    report = {"attempt": 1, "session_id": node.id, "result": {"vmaf": 90.0}}
    first = await farm.store.complete_job(job.id, now=farm.now, **report)
    farm.clock.advance(5)
    again = await farm.store.complete_job(job.id, now=farm.now, **report)
    assert again == first
    events = await farm.store.list_events(job.id)
    assert [e.type for e in events].count(EventType.COMPLETED) == 1


async def test_report_from_a_superseded_attempt_is_refused(farm):
    job, node = await _running(farm)
    farm.clock.advance(61)
    await farm.store.expire_leases(now=farm.now)
    farm.clock.advance(10)
    other = await farm.node("node-b")
    await farm.store.claim_next(other.id, now=farm.now)
    with pytest.raises(StaleAttemptError, match="attempt 2"):
        await farm.store.complete_job(
            job.id, attempt=1, session_id=node.id, now=farm.now, result={}
        )
    assert (await farm.store.get_job(job.id)).state is JobState.RUNNING


async def test_report_from_another_session_is_refused(farm):
    job, _node = await _running(farm)
    intruder = await farm.node("intruder")
    with pytest.raises(StaleAttemptError):
        await farm.store.fail_job(
            job.id, attempt=1, session_id=intruder.id, now=farm.now, error="x"
        )


async def test_fail_records_the_error_on_job_and_attempt(farm):
    job, node = await _running(farm)
    failed = await farm.store.fail_job(
        job.id, attempt=1, session_id=node.id, now=farm.now, error="ffmpeg exited 1"
    )
    assert (failed.state, failed.error) == (JobState.FAILED, "ffmpeg exited 1")
    [attempt] = await farm.store.list_attempts(job.id)
    assert (attempt.outcome, attempt.error) == (AttemptOutcome.FAILED, "ffmpeg exited 1")


async def test_progress_updates_the_job_and_appends_an_event(farm):
    job, node = await _running(farm)
    moved = await farm.store.report_progress(
        job.id, attempt=1, session_id=node.id, now=farm.now, progress=0.25
    )
    assert moved.progress == 0.25
    events = await farm.store.list_events(job.id)
    assert events[-1].type is EventType.PROGRESS
    assert events[-1].data["progress"] == 0.25


# --- leases ---------------------------------------------------------------------------------
async def test_renewal_keeps_a_job_past_its_first_lease(farm):
    job, node = await _running(farm)
    farm.clock.advance(50)
    renewal = await farm.store.renew_leases(node.id, now=farm.now, job_ids=[job.id])
    assert renewal.renewed == [job.id]
    farm.clock.advance(50)
    assert await farm.store.expire_leases(now=farm.now) == []
    assert (await farm.store.get_job(job.id)).state is JobState.RUNNING


async def test_heartbeat_without_job_ids_renews_every_lease_of_the_session(farm):
    job, node = await _running(farm)
    renewal = await farm.store.renew_leases(node.id, now=farm.now)
    assert (renewal.renewed, renewal.cancel) == ([job.id], [])


async def test_expired_lease_returns_the_job_to_pending_with_backoff(farm):
    job, _node = await _running(farm)
    farm.clock.advance(61)
    [requeued] = await farm.store.expire_leases(now=farm.now)
    assert (requeued.id, requeued.state, requeued.lost_leases) == (job.id, JobState.PENDING, 1)
    assert requeued.available_at == farm.now + timedelta(seconds=5)
    assert "expired (1 of 3)" in requeued.pending_reason
    other = await farm.node("node-b")
    assert await farm.store.claim_next(other.id, now=farm.now) is None
    farm.clock.advance(5)
    assert (await farm.store.claim_next(other.id, now=farm.now)).attempt == 2


async def test_job_fails_after_three_lost_leases_with_a_message_naming_them(farm):
    job = await farm.submit()
    for number in (1, 2, 3):
        node = await farm.node(f"node-{number}")
        claimed = await farm.store.claim_next(node.id, now=farm.now)
        assert claimed.attempt == number
        farm.clock.advance(61)
        [after] = await farm.store.expire_leases(now=farm.now)
        farm.clock.advance(600)
    assert after.state is JobState.FAILED
    assert "lost its lease 3 times" in after.error
    for number in (1, 2, 3):
        assert f"attempt {number} on node-{number}" in after.error
    outcomes = [a.outcome for a in await farm.store.list_attempts(job.id)]
    assert outcomes == [AttemptOutcome.EXPIRED] * 3


async def test_release_returns_the_job_to_pending_without_counting_a_lost_lease(farm):
    job, node = await _running(farm)
    back = await farm.store.release_job(
        job.id, attempt=1, session_id=node.id, now=farm.now, reason="node draining"
    )
    assert (back.state, back.lost_leases, back.available_at) == (JobState.PENDING, 0, farm.now)
    assert (await farm.store.claim_next(node.id, now=farm.now)).attempt == 2


async def test_heartbeat_names_cancelled_jobs_for_the_node_to_stop(farm):
    job, node = await _running(farm)
    await farm.store.cancel_job(job.id, now=farm.now)
    renewal = await farm.store.renew_leases(node.id, now=farm.now, job_ids=[job.id, "gone"])
    assert (renewal.renewed, renewal.cancel) == ([], [job.id, "gone"])


async def test_heartbeat_of_an_expired_session_is_not_found(farm):
    node = await farm.node()
    farm.clock.advance(61)
    with pytest.raises(NotFoundError, match="Register"):
        await farm.store.renew_leases(node.id, now=farm.now)


# --- cancelling -----------------------------------------------------------------------------
async def test_cancelling_a_pending_job_makes_it_cancelled_for_good(farm):
    job = await farm.submit()
    cancelled = await farm.store.cancel_job(job.id, now=farm.now, reason="user asked")
    assert (cancelled.state, cancelled.finished_at) == (JobState.CANCELLED, farm.now)
    node = await farm.node()
    assert await farm.store.claim_next(node.id, now=farm.now) is None


async def test_cancel_of_a_running_job_wins_over_its_later_final_report(farm):
    job, node = await _running(farm)
    await farm.store.cancel_job(job.id, now=farm.now)
    after = await farm.store.complete_job(
        job.id, attempt=1, session_id=node.id, now=farm.now, result={"vmaf": 99.0}
    )
    assert (after.state, after.result) == (JobState.CANCELLED, None)
    [attempt] = await farm.store.list_attempts(job.id)
    assert attempt.outcome is AttemptOutcome.CANCELLED


async def test_cancelling_a_finished_job_leaves_it_unchanged(farm):
    job, node = await _running(farm)
    done = await farm.store.complete_job(
        job.id, attempt=1, session_id=node.id, now=farm.now, result={"vmaf": 1.0}
    )
    assert await farm.store.cancel_job(job.id, now=farm.now) == done


# --- nodes, events, tokens, reasons, depths -------------------------------------------------
async def test_registered_node_is_listed_until_it_expires(farm):
    node = await farm.node("zampp2", gpus=(L4,))
    assert await farm.store.get_node(node.id) == node
    assert [n.id for n in await farm.store.list_nodes(live_at=farm.now)] == [node.id]
    farm.clock.advance(61)
    assert await farm.store.list_nodes(live_at=farm.now) == []
    assert await farm.store.expire_nodes(now=farm.now) == [node.id]
    with pytest.raises(NotFoundError):
        await farm.store.get_node(node.id)


async def test_the_farms_size_counts_live_sessions_of_every_tenant(farm):
    await farm.node("zampp2", gpus=(L4,))
    farm.clock.advance(30)
    await farm.node("zampp3", tenant="globex")
    assert await farm.store.count_nodes(live_at=farm.now) == 2
    farm.clock.advance(31)  # the first session's 60 s are over
    assert await farm.store.count_nodes(live_at=farm.now) == 1


async def test_forgetting_a_node_releases_its_running_jobs(farm):
    job, node = await _running(farm)
    [released] = await farm.store.forget_node(node.id, now=farm.now)
    assert (released.id, released.state, released.lost_leases) == (job.id, JobState.PENDING, 0)
    assert await farm.store.list_nodes() == []


async def test_events_follow_the_job_lifecycle_in_order(farm):
    job, node = await _running(farm)
    await farm.store.complete_job(job.id, attempt=1, session_id=node.id, now=farm.now, result={})
    events = await farm.store.list_events(job.id)
    assert [e.type for e in events] == [
        EventType.SUBMITTED,
        EventType.CLAIMED,
        EventType.COMPLETED,
    ]
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    later = await farm.store.list_events(job.id, after=events[0].seq)
    assert later == events[1:]


async def test_pending_reason_is_recorded_and_cleared_by_a_claim(farm):
    job = await farm.submit()
    await farm.store.set_pending_reasons({job.id: "no live node is registered"})
    assert (await farm.store.get_job(job.id)).pending_reason == "no live node is registered"
    node = await farm.node()
    assert (await farm.store.claim_next(node.id, now=farm.now)).pending_reason is None


async def test_pending_reasons_touch_only_jobs_still_pending(farm):
    waiting = await farm.submit()
    running = await farm.submit()
    node = await farm.node()
    await farm.store.set_pending_reasons({waiting.id: "busy"})
    claimed = await farm.store.claim_next(node.id, now=farm.now)
    assert claimed.id == waiting.id
    reasons = {waiting.id: "no live node", running.id: None, "no-such-job": "x"}
    await farm.store.set_pending_reasons(reasons)
    assert (await farm.store.get_job(waiting.id)).pending_reason is None
    assert (await farm.store.get_job(waiting.id)).state is JobState.RUNNING
    await farm.store.set_pending_reasons({running.id: "every live node is draining"})
    assert (await farm.store.get_job(running.id)).pending_reason == "every live node is draining"


async def test_queue_depths_count_pending_and_running_jobs_per_queue(farm):
    first = await farm.submit(JobKind.SCORE)
    await farm.submit(JobKind.SCORE)
    await farm.submit(JobKind.ENCODE, queue="proxy")
    node = await farm.node(queues=("score",))
    await farm.store.claim_next(node.id, now=farm.now)
    depths = {(d.queue, d.state): d.count for d in await farm.store.queue_depths()}
    assert depths == {
        ("proxy", JobState.PENDING): 1,
        ("score", JobState.PENDING): 1,
        ("score", JobState.RUNNING): 1,
    }
    oldest = {d.oldest_created_at for d in await farm.store.queue_depths()}
    assert first.created_at in oldest


async def test_token_is_found_by_its_digest_until_revoked(farm):
    token = ApiToken(
        id="t1",
        tenant="acme",
        name="ci",
        role=Role.WRITER,
        token_sha256=token_digest("s3cret"),
        created_at=farm.now,
    )
    await farm.store.create_token(token)
    assert await farm.store.find_token(token_digest("s3cret")) == token
    assert await farm.store.find_token(token_digest("wrong")) is None
    revoked = await farm.store.revoke_token("t1", now=farm.now)
    assert revoked == dataclasses.replace(token, revoked_at=farm.now)
    assert not revoked.is_valid(farm.now)
    assert await farm.store.list_tokens(tenant="acme") == [revoked]


async def test_a_current_store_answers_ping(store):
    await store.ping()


async def test_a_result_with_nan_is_refused_and_the_job_keeps_running(farm):
    job, node = await _running(farm)
    with pytest.raises(UsageError, match=r"result.features.adm2 is nan"):
        await farm.store.complete_job(
            job.id,
            attempt=1,
            session_id=node.id,
            now=farm.now,
            result={"features": {"adm2": float("nan")}},
        )
    assert (await farm.store.get_job(job.id)).state is JobState.RUNNING


async def test_submitting_the_same_job_id_twice_is_a_conflict(farm):
    job = await farm.submit()
    with pytest.raises(ConflictError):
        await farm.store.submit_job(job)


async def test_one_batch_with_a_repeated_idempotency_key_stores_one_job(farm):
    first, second = farm.job(idempotency_key="k"), farm.job(idempotency_key="k")
    answers = await farm.store.submit_jobs([first, second])
    assert [job.id for job in answers] == [first.id, first.id]


async def test_claim_scans_past_many_jobs_this_node_cannot_run(farm):
    heavy = Requirements(labels={"tier": "heavy"})
    jobs = [farm.job(priority=5, requirements=heavy) for _ in range(40)]
    jobs += [farm.job(priority=0, requirements=heavy) for _ in range(40)]
    await farm.store.submit_jobs(jobs)
    farm.clock.advance(1)
    plain = await farm.submit(priority=0)
    light = await farm.node(labels={"tier": "light"})
    assert (await farm.store.claim_next(light.id, now=farm.now)).id == plain.id
    assert await farm.store.claim_next(light.id, now=farm.now) is None


async def test_a_batch_with_one_conflicting_job_stores_none_of_it(farm):
    await farm.submit(idempotency_key="taken")
    clash = farm.job(spec={"reference": "/x.mp4", "distorted": "/y.mp4"}, idempotency_key="taken")
    fine = farm.job(batch_id="atomic")
    with pytest.raises(ConflictError):
        await farm.store.submit_jobs([fine, clash])
    assert (await farm.store.list_jobs(JobQuery(batch_id="atomic"))).jobs == []
