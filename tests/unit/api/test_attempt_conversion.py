"""A GetJob answer read back by a client keeps every attempt: who ran it, on which GPU, how."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from vmafx.api import convert as cv
from vmafx.core.attempts import Attempt, AttemptOutcome
from vmafx.core.clock import FakeClock
from vmafx.core.jobs import JobKind, JobState
from vmafx.core.messages import JobDetails
from vmafx.core.nodes import GpuInfo
from vmafx.testing import make_job

NOW = FakeClock().now().replace(microsecond=0)
L4 = GpuInfo(vendor="nvidia", name="L4", uuid="GPU-6f1c", index=1)


def _attempt(number: int, **changes: object) -> Attempt:
    attempt = Attempt(
        job_id="",
        number=number,
        tenant="acme",
        session_id=f"node-{number}",
        node_name="zampp2-l4",
        host="zampp2",
        started_at=NOW + timedelta(seconds=number),
        gpu=L4,
        labels={"tier": "heavy"},
    )
    return dataclasses.replace(attempt, **changes)


def test_attempts_survive_the_wire_with_their_attribution_and_outcome():
    job = make_job(JobKind.ENCODE, now=NOW, state=JobState.RUNNING, attempt=2)
    lost = _attempt(1, outcome=AttemptOutcome.EXPIRED, ended_at=NOW, error="lease lost")
    fell_back = _attempt(2, encoder="libx264", fallback=True)
    details = cv.details_from_pb(cv.details_to_pb(JobDetails(job=job, attempts=(lost, fell_back))))
    first, second = details.attempts
    assert (first.number, first.outcome, first.error) == (1, AttemptOutcome.EXPIRED, "lease lost")
    assert first.ended_at == NOW
    assert second.outcome is None and second.ended_at is None  # still running
    assert (second.encoder, second.fallback) == ("libx264", True)
    assert second.where == "zampp2 / L4"
    assert second.gpu is not None and (second.gpu.uuid, second.gpu.index) == ("GPU-6f1c", 1)
    assert (second.session_id, second.labels, second.job_id) == (
        "node-2",
        {"tier": "heavy"},
        job.id,
    )


def test_an_attempt_without_a_gpu_names_the_host_alone():
    job = make_job(now=NOW)
    cpu = _attempt(1, gpu=None, outcome=AttemptOutcome.COMPLETED, ended_at=NOW)
    [back] = cv.details_from_pb(cv.details_to_pb(JobDetails(job=job, attempts=(cpu,)))).attempts
    assert back.gpu is None and back.where == "zampp2"
    assert back.outcome is AttemptOutcome.COMPLETED
