"""Leases, the backoff after a lost lease, and failing after the limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vmafx.core import lifecycle
from vmafx.core.attempts import Attempt, AttemptOutcome
from vmafx.core.jobs import JobKind, JobState, Lease
from vmafx.core.nodes import NodeCapabilities, NodeSession
from vmafx.errors import UsageError
from vmafx.scheduler import LeaseSettings, Scheduler
from vmafx.scheduler.leases import after_lost_lease, backoff_delay, is_expired
from vmafx.testing import make_job

NOW = datetime(2025, 1, 1, tzinfo=UTC)
SETTINGS = LeaseSettings()


def running_job(attempt=1):
    job = make_job(
        tenant="acme", kind=JobKind.SCORE, spec={"reference": "/r", "distorted": "/d"}, now=NOW
    )
    session = NodeSession(
        id="s1",
        tenant="acme",
        name="node-a",
        capabilities=NodeCapabilities(),
        token_sha256="0" * 64,
        created_at=NOW,
        last_seen_at=NOW,
        expires_at=NOW,
    )
    for _ in range(attempt):
        claim = lifecycle.claim(job, session, NOW)
        job = lifecycle.claimed(job, claim, NOW + SETTINGS.lease_ttl)
        if _ < attempt - 1:
            job = lifecycle.requeued(job, NOW, available_at=NOW, reason="", lost=True)
    return job


def lost(number, node="node-a"):
    return Attempt(
        job_id="j",
        number=number,
        tenant="acme",
        session_id="s",
        node_name=node,
        host=node,
        started_at=NOW,
        ended_at=NOW + timedelta(minutes=number),
        outcome=AttemptOutcome.EXPIRED,
    )


@pytest.mark.parametrize(
    ("lost_count", "seconds"), [(0, 0), (1, 5), (2, 10), (3, 20), (7, 300), (50, 300)]
)
def test_backoff_doubles_from_five_seconds_up_to_five_minutes(lost_count, seconds):
    assert backoff_delay(lost_count, SETTINGS) == timedelta(seconds=seconds)


def test_a_lease_expires_only_after_its_end():
    lease = Lease(session_id="s", node_name="n", expires_at=NOW)
    assert not is_expired(lease, NOW)
    assert is_expired(lease, NOW + timedelta(microseconds=1))


def test_first_lost_lease_requeues_after_the_base_backoff_saying_why():
    job = after_lost_lease(running_job(), [lost(1)], NOW, SETTINGS)
    assert (job.state, job.lost_leases, job.lease) == (JobState.PENDING, 1, None)
    assert job.available_at == NOW + timedelta(seconds=5)
    assert job.pending_reason == (
        "lease of attempt 1 on node-a expired (1 of 3); retrying after 5 s"
    )


def test_third_lost_lease_fails_the_job_naming_every_lost_attempt():
    job = after_lost_lease(
        running_job(3), [lost(1, "a"), lost(2, "b"), lost(3, "c")], NOW, SETTINGS
    )
    assert job.state is JobState.FAILED
    assert job.error.startswith("lost its lease 3 times (limit 3): attempt 1 on a (expired ")
    assert "attempt 2 on b" in job.error
    assert "attempt 3 on c" in job.error


def test_settings_refuse_nonsense():
    with pytest.raises(UsageError):
        LeaseSettings(lease_ttl=timedelta(0))
    with pytest.raises(UsageError):
        LeaseSettings(backoff_base=timedelta(seconds=10), backoff_max=timedelta(seconds=5))
    with pytest.raises(UsageError):
        LeaseSettings(max_lost_leases=0)


def test_scheduler_computes_lease_and_session_expiry_from_its_settings():
    scheduler = Scheduler(LeaseSettings(lease_ttl=timedelta(seconds=30)))
    assert scheduler.lease_expiry(NOW) == NOW + timedelta(seconds=30)
    assert scheduler.session_expiry(NOW) == NOW + timedelta(seconds=60)
