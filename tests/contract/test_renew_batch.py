"""`JobStore.renew_batch`: the heartbeats of many nodes in one transaction, each answered as
its own `renew_leases` would have been (leases renewed, jobs to stop, unknown sessions)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from vmafx.errors import NotFoundError
from vmafx.store.port import LeaseRenewal, RenewalRequest


async def _holding(farm, name: str, count: int = 1, **caps):
    node = await farm.node(name, **caps)
    for _ in range(count):
        await farm.submit()
    held = [await farm.store.claim_next(node.id, now=farm.now) for _ in range(count)]
    assert all(job is not None for job in held)
    return node, held


async def test_each_heartbeat_of_a_batch_gets_what_its_own_heartbeat_would(farm):
    a, [a_job] = await _holding(farm, "node-a")
    b, b_jobs = await _holding(farm, "node-b", 2)
    farm.clock.advance(50)
    answers = await farm.store.renew_batch(
        [RenewalRequest(a.id, (a_job.id, "gone")), RenewalRequest(b.id)], now=farm.now
    )
    assert answers == [
        LeaseRenewal(renewed=[a_job.id], cancel=["gone"]),
        LeaseRenewal(renewed=sorted(job.id for job in b_jobs), cancel=[]),
    ]
    farm.clock.advance(50)  # past the first leases, within the renewed ones
    assert await farm.store.expire_leases(now=farm.now) == []
    assert await farm.store.expire_nodes(now=farm.now) == []


async def test_an_unknown_or_expired_session_is_not_found_while_the_others_renew(farm):
    gone = await farm.node("node-gone")
    farm.clock.advance(61)
    live, [job] = await _holding(farm, "node-live")
    farm.clock.advance(50)
    answers = await farm.store.renew_batch(
        [RenewalRequest("nobody"), RenewalRequest(gone.id), RenewalRequest(live.id, (job.id,))],
        now=farm.now,
    )
    assert [type(answer) for answer in answers[:2]] == [NotFoundError, NotFoundError]
    assert "nobody" in str(answers[0]) and gone.id in str(answers[1])
    assert answers[2] == LeaseRenewal(renewed=[job.id], cancel=[])
    farm.clock.advance(50)
    assert await farm.store.expire_leases(now=farm.now) == []
    assert await farm.store.expire_nodes(now=farm.now) == [gone.id]  # not revived


async def test_each_node_hears_only_its_own_cancelled_jobs(farm):
    a, [a_job] = await _holding(farm, "node-a")
    b, [b_job] = await _holding(farm, "node-b")
    await farm.store.cancel_job(a_job.id, now=farm.now)
    answers = await farm.store.renew_batch(
        [RenewalRequest(a.id, (a_job.id,)), RenewalRequest(b.id, (b_job.id,))], now=farm.now
    )
    assert answers == [
        LeaseRenewal(renewed=[], cancel=[a_job.id]),
        LeaseRenewal(renewed=[b_job.id], cancel=[]),
    ]


async def test_a_lease_renews_only_for_the_session_that_holds_it(farm):
    a, [taken] = await _holding(farm, "node-a")
    await farm.store.release_job(taken.id, attempt=1, session_id=a.id, now=farm.now)
    b = await farm.node("node-b", slots=2)
    assert (await farm.store.claim_next(b.id, now=farm.now)).id == taken.id
    await farm.submit()
    other = await farm.store.claim_next(b.id, now=farm.now)
    before = (await farm.store.get_job(taken.id)).lease
    farm.clock.advance(30)
    # node-a still names the job it lost; node-b, in the same batch, names only its other one
    answers = await farm.store.renew_batch(
        [RenewalRequest(a.id, (taken.id,)), RenewalRequest(b.id, (other.id,))], now=farm.now
    )
    assert answers == [
        LeaseRenewal(renewed=[], cancel=[taken.id]),
        LeaseRenewal(renewed=[other.id], cancel=[]),
    ]
    assert (await farm.store.get_job(taken.id)).lease == before
    renewed = (await farm.store.get_job(other.id)).lease
    assert renewed is not None and renewed.expires_at == farm.now + timedelta(seconds=60)


async def test_two_heartbeats_of_one_node_in_a_batch_are_each_answered_for_their_own_jobs(farm):
    node, [first, second] = await _holding(farm, "node-a", 2)
    answers = await farm.store.renew_batch(
        [
            RenewalRequest(node.id, (first.id,)),
            RenewalRequest(node.id, (second.id, "gone")),
            RenewalRequest(node.id, ()),
        ],
        now=farm.now,
    )
    assert answers == [
        LeaseRenewal(renewed=[first.id], cancel=[]),
        LeaseRenewal(renewed=[second.id], cancel=["gone"]),
        LeaseRenewal(renewed=[], cancel=[]),
    ]


async def test_an_empty_batch_answers_nothing(farm):
    assert await farm.store.renew_batch([], now=farm.now) == []


@pytest.mark.parametrize("job_ids", [None, ()])
async def test_renew_leases_is_a_batch_of_one(farm, job_ids):
    node, [job] = await _holding(farm, "node-a")
    renewal = await farm.store.renew_leases(node.id, now=farm.now, job_ids=job_ids)
    [answer] = await farm.store.renew_batch([RenewalRequest(node.id, job_ids)], now=farm.now)
    assert renewal == answer == LeaseRenewal(renewed=[job.id] if job_ids is None else [], cancel=[])
