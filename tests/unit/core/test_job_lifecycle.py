"""Pure state changes of a job and its attempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vmafx.core import lifecycle
from vmafx.core.attempts import AttemptOutcome, Attribution
from vmafx.core.jobs import JobKind, JobState
from vmafx.core.nodes import GpuInfo, NodeCapabilities, NodeSession
from vmafx.errors import ConflictError
from vmafx.testing import make_job

NOW = datetime(2025, 1, 1, tzinfo=UTC)
L4 = GpuInfo(vendor="nvidia", name="L4", uuid="GPU-1", memory_mb=23034)
SESSION = NodeSession(
    id="s1",
    tenant="acme",
    name="zampp2",
    capabilities=NodeCapabilities(host="zampp2.lan", gpus=(L4,), labels={"tier": "light"}),
    token_sha256="0" * 64,
    created_at=NOW,
    last_seen_at=NOW,
    expires_at=NOW + timedelta(seconds=60),
)


def pending():
    return make_job(
        tenant="acme", kind=JobKind.SCORE, spec={"reference": "/r", "distorted": "/d"}, now=NOW
    )


def running():
    job = pending()
    attempt = lifecycle.claim(job, SESSION, NOW)
    return lifecycle.claimed(job, attempt, NOW + timedelta(seconds=60)), attempt


def test_a_claim_bumps_the_attempt_and_sets_a_lease_on_the_claiming_session():
    job, attempt = running()
    assert (job.state, job.attempt, job.started_at) == (JobState.RUNNING, 1, NOW)
    assert (job.lease.session_id, job.lease.node_name) == ("s1", "zampp2")
    assert (attempt.number, attempt.host, attempt.gpu, attempt.where) == (
        1,
        "zampp2.lan",
        L4,
        "zampp2.lan / L4",
    )


def test_completing_clears_the_lease_and_stamps_the_finish():
    job, _ = running()
    done = lifecycle.completed(job, {"vmaf": 90.0}, NOW)
    assert (done.state, done.lease, done.finished_at, done.progress) == (
        JobState.COMPLETED,
        None,
        NOW,
        1.0,
    )


def test_a_finished_job_cannot_be_failed_afterwards():
    job, _ = running()
    done = lifecycle.completed(job, {}, NOW)
    with pytest.raises(ConflictError, match="never change"):
        lifecycle.failed(done, "late", NOW)


def test_cancelling_a_finished_job_returns_it_unchanged():
    job, _ = running()
    done = lifecycle.completed(job, {}, NOW)
    assert lifecycle.cancelled(done, NOW) is done


def test_requeue_counts_a_lost_lease_only_when_told():
    job, _ = running()
    later = NOW + timedelta(seconds=5)
    drained = lifecycle.requeued(job, NOW, available_at=NOW, reason="drain", lost=False)
    lost = lifecycle.requeued(job, NOW, available_at=later, reason="lost", lost=True)
    assert (drained.state, drained.lost_leases, drained.lease) == (JobState.PENDING, 0, None)
    assert (lost.lost_leases, lost.available_at) == (1, later)


def test_a_nodes_attribution_replaces_the_claims_guess():
    _, attempt = running()
    arc = GpuInfo(vendor="intel", name="Arc", uuid="GPU-2")
    ended = lifecycle.ended(
        attempt,
        AttemptOutcome.COMPLETED,
        NOW,
        attribution=Attribution(gpu=arc, encoder="libx264", fallback=True),
    )
    assert (ended.gpu, ended.encoder, ended.fallback, ended.outcome) == (
        arc,
        "libx264",
        True,
        AttemptOutcome.COMPLETED,
    )


def test_renewing_moves_only_the_lease_expiry():
    job, _ = running()
    renewed = lifecycle.renewed(job, NOW + timedelta(seconds=90), NOW)
    assert renewed.lease.expires_at == NOW + timedelta(seconds=90)
    assert renewed.attempt == job.attempt
