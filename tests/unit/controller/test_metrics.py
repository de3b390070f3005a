"""Prometheus families updated by the service; queue gauges read at scrape time."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from vmafx.controller.metrics import ControllerMetrics, MetricsExporter
from vmafx.core.messages import NodeReport

from .conftest import Farm

pytestmark = pytest.mark.anyio


async def test_counters_histograms_and_gauges_follow_the_jobs(farm):
    registry = CollectorRegistry()
    farm = Farm(farm.root, metrics=ControllerMetrics(registry))
    exporter = MetricsExporter(registry, farm.store, farm.clock)
    done, waiting = await farm.submit(), await farm.submit()
    session = await farm.register()
    await farm.pull(session)
    farm.clock.advance(5)
    report = NodeReport(job_id=done, attempt=1, result={"score": 91.0})
    await farm.service.report_result(farm.node, session.node_id, session.session_token, report)
    text = (await exporter.render()).decode()

    def value(sample: str) -> float:
        return registry.get_sample_value(sample.split("{", maxsplit=1)[0], _labels(sample)) or 0.0

    assert value('vmafx_controller_jobs_submitted_total{tenant="acme"}') == 2
    assert value('vmafx_controller_jobs_completed_total{tenant="acme"}') == 1
    assert value('vmafx_controller_jobs_pending{queue="score"}') == 1
    assert value("vmafx_controller_nodes_live") == 1
    assert value('vmafx_quality_score_count{tenant="acme",model="vmaf_v0.6.1",profile="none"}') == 1
    assert (
        value('vmafx_controller_job_duration_seconds_sum{tenant="acme",outcome="completed"}') == 5
    )
    assert "vmafx_controller_queue_oldest_job_age_seconds" in text
    assert waiting


def _labels(sample: str) -> dict[str, str]:
    if "{" not in sample:
        return {}
    inner = sample.split("{", 1)[1].rstrip("}")
    return {key: value.strip('"') for key, value in (p.split("=", 1) for p in inner.split(","))}
