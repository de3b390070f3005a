"""What a scrape of /metrics shows: every tenant, one tenant, or sums without tenant names."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry

from vmafx.controller.metrics import ControllerMetrics, MetricsExporter
from vmafx.core.clock import FakeClock
from vmafx.core.jobs import JobKind, JobState
from vmafx.scheduler import Scheduler
from vmafx.store import InMemoryJobStore
from vmafx.testing import make_job

pytestmark = pytest.mark.anyio
CLOCK = FakeClock()


def _done(tenant: str, seconds: float):
    now = CLOCK.now()
    job = make_job(
        tenant=tenant, kind=JobKind.SCORE, spec={"reference": "/r", "distorted": ["/d"]}, now=now
    )
    return dataclasses.replace(
        job,
        state=JobState.COMPLETED,
        started_at=now,
        finished_at=now + timedelta(seconds=seconds),
        result={"score": 90.0},
    )


async def _exporter() -> MetricsExporter:
    registry = CollectorRegistry()
    metrics = ControllerMetrics(registry)
    jobs = [_done("acme", 2), _done("acme", 3), _done("globex", 4)]
    metrics.submitted(jobs)
    for job in jobs:
        metrics.finished(job)
    return MetricsExporter(registry, InMemoryJobStore(Scheduler()), CLOCK)


async def test_every_series_is_labelled_by_default():
    text = (await (await _exporter()).render()).decode()
    assert 'vmafx_controller_jobs_submitted_total{tenant="acme"} 2.0' in text
    assert 'vmafx_controller_jobs_submitted_total{tenant="globex"} 1.0' in text


async def test_one_tenant_sees_only_its_own_series():
    text = (await (await _exporter()).render(tenant="globex")).decode()
    assert 'vmafx_controller_jobs_submitted_total{tenant="globex"} 1.0' in text
    assert "acme" not in text
    assert 'vmafx_build_info{version="' in text  # families without tenants are kept whole


async def test_nobody_sees_sums_over_tenants_without_their_names():
    text = (await (await _exporter()).render(tenant=None)).decode()
    assert "tenant=" not in text
    assert "acme" not in text and "globex" not in text
    lines = set(text.splitlines())
    assert "vmafx_controller_jobs_submitted_total 3.0" in lines
    assert "vmafx_controller_jobs_completed_total 3.0" in lines
    assert 'vmafx_controller_job_duration_seconds_bucket{le="5.0",outcome="completed"} 3.0' in lines
    assert 'vmafx_controller_job_duration_seconds_sum{outcome="completed"} 9.0' in lines
    assert not [line for line in lines if "_created" in line and not line.startswith("#")]
