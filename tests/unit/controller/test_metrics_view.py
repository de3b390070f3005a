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


async def _gpu_exporter(sample_age_s: float, *, sessions_out: list | None = None):
    """Two live nodes of two tenants, verified by this replica; acme's node sent a GPU sample
    `sample_age_s` ago."""
    from vmafx.controller.sessions import NodeSessions
    from vmafx.core.gpuusage import GpuUsage
    from vmafx.core.nodes import NodeCapabilities

    store = InMemoryJobStore(Scheduler())
    clock = FakeClock()
    acme = await store.register_node(tenant="acme", name="gpu-1", capabilities=NodeCapabilities(),
                                     token_sha256="a" * 64, now=clock.now())  # fmt: skip
    globex = await store.register_node(tenant="globex", name="gpu-2",
                                       capabilities=NodeCapabilities(), token_sha256="b" * 64,
                                       now=clock.now())  # fmt: skip
    sessions = NodeSessions(store)
    sessions.remember(acme)
    sessions.remember(globex)
    usage = (GpuUsage(uuid="GPU-aa", index=1, utilization_pct=37.0, encoder_sessions=2),)
    sessions.record_gpu_usage(acme.id, usage, clock.now() - timedelta(seconds=sample_age_s))
    if sessions_out is not None:
        sessions_out.extend([sessions, acme.id])
    registry = CollectorRegistry()
    return MetricsExporter(registry, store, clock, gpu_samples=sessions.gpu_samples)


async def test_gpu_load_is_exported_per_node_and_gpu_for_its_tenant_only():
    exporter = await _gpu_exporter(1)
    labels = 'gpu="1",node="gpu-1",tenant="acme",uuid="GPU-aa"'
    text = (await exporter.render()).decode()
    assert f"vmafx_node_gpu_utilization_ratio{{{labels}}} 0.37" in text
    assert f"vmafx_node_gpu_encoder_sessions{{{labels}}} 2.0" in text
    assert "vmafx_node_gpu_memory_used_bytes{" not in text  # unknown: no sample at all
    assert "gpu-1" not in (await exporter.render(tenant="globex")).decode()
    anonymous = (await exporter.render(tenant=None)).decode()
    assert 'vmafx_node_gpu_utilization_ratio{gpu="1",node="gpu-1",uuid="GPU-aa"} 0.37' in anonymous


async def test_a_stale_gpu_sample_is_not_exported():
    text = (await (await _gpu_exporter(600)).render()).decode()
    assert "vmafx_node_gpu_utilization_ratio{" not in text


async def test_live_nodes_are_counted_and_a_forgotten_node_s_gpu_series_go_with_it():
    held: list = []
    exporter = await _gpu_exporter(1, sessions_out=held)
    sessions, acme_id = held
    text = (await exporter.render()).decode()
    assert "vmafx_controller_nodes_live 2.0" in text.splitlines()
    assert 'node="gpu-1"' in text
    sessions.forget([acme_id])  # its session expired
    assert 'node="gpu-1"' not in (await exporter.render()).decode()


async def test_a_sample_from_a_node_this_replica_never_verified_is_not_exported():
    from vmafx.controller.sessions import NodeSessions
    from vmafx.core.gpuusage import GpuUsage

    store = InMemoryJobStore(Scheduler())
    sessions = NodeSessions(store)
    sessions.record_gpu_usage("n-unknown", (GpuUsage(uuid="GPU-x", index=0),), CLOCK.now())
    assert sessions.gpu_samples() == []
