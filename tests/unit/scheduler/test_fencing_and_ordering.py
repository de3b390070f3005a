"""Attempt fencing of node reports, and the claim order."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from vmafx.core import lifecycle
from vmafx.core.attempts import AttemptOutcome
from vmafx.core.jobs import JobKind
from vmafx.core.nodes import NodeCapabilities, NodeSession
from vmafx.errors import StaleAttemptError
from vmafx.scheduler.fencing import ReportVerdict, check_report
from vmafx.scheduler.ordering import order_jobs
from vmafx.testing import make_job

NOW = datetime(2025, 1, 1, tzinfo=UTC)
SPEC = {"reference": "/r", "distorted": "/d"}


def session(session_id="s1"):
    return NodeSession(
        id=session_id,
        tenant="acme",
        name=session_id,
        capabilities=NodeCapabilities(),
        token_sha256="0" * 64,
        created_at=NOW,
        last_seen_at=NOW,
        expires_at=NOW,
    )


def claimed(job=None, session_id="s1"):
    job = job or make_job(tenant="acme", kind=JobKind.SCORE, spec=SPEC, now=NOW)
    attempt = lifecycle.claim(job, session(session_id), NOW)
    return lifecycle.claimed(job, attempt, NOW + timedelta(seconds=60)), attempt


def test_the_attempt_holding_the_job_may_report():
    job, attempt = claimed()
    assert check_report(job, attempt, 1, "s1") is ReportVerdict.APPLY


def test_a_report_from_a_superseded_attempt_is_refused_naming_the_current_one():
    job, first = claimed()
    back = lifecycle.requeued(job, NOW, available_at=NOW, reason="", lost=True)
    job, _second = claimed(back, "s2")
    with pytest.raises(StaleAttemptError, match="the job is on attempt 2") as caught:
        check_report(job, first, 1, "s1")
    assert (caught.value.job_id, caught.value.attempt) == (job.id, 1)


def test_a_report_from_another_session_with_the_right_number_is_refused():
    job, attempt = claimed()
    with pytest.raises(StaleAttemptError, match="another node session"):
        check_report(job, attempt, 1, "s-other")


def test_a_report_after_the_lease_was_lost_is_refused():
    job, attempt = claimed()
    back = lifecycle.requeued(job, NOW, available_at=NOW, reason="", lost=True)
    with pytest.raises(StaleAttemptError, match="lease was lost"):
        check_report(back, attempt, 1, "s1")


def test_repeating_the_report_that_ended_the_job_is_a_repeat():
    job, attempt = claimed()
    done = lifecycle.completed(job, {}, NOW)
    ended = lifecycle.ended(attempt, AttemptOutcome.COMPLETED, NOW)
    assert check_report(done, ended, 1, "s1") is ReportVerdict.REPEAT


def test_a_report_for_a_job_cancelled_under_it_is_settled_not_an_error():
    job, attempt = claimed()
    cancelled = lifecycle.cancelled(job, NOW)
    ended = lifecycle.ended(attempt, AttemptOutcome.CANCELLED, NOW)
    assert check_report(cancelled, ended, 1, "s1") is ReportVerdict.SETTLED


def test_claim_order_is_priority_first_then_age_then_id():
    base = make_job(tenant="acme", kind=JobKind.SCORE, spec=SPEC, now=NOW)
    old_low = dataclasses.replace(base, id="a", priority=0)
    new_high = dataclasses.replace(base, id="b", priority=5, created_at=NOW + timedelta(1))
    old_high = dataclasses.replace(base, id="c", priority=5)
    tie = dataclasses.replace(base, id="d", priority=5)
    assert [job.id for job in order_jobs([old_low, new_high, tie, old_high])] == [
        "c",
        "d",
        "b",
        "a",
    ]
