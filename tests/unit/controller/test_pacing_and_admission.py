"""Heartbeats that scale (an interval stretched with the farm, leases that follow it) and
registrations admitted at a bounded rate (`vmafx.controller.pacing`, `.admission`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from vmafx.api import nodeconvert as nc
from vmafx.api.status import error_for
from vmafx.controller.admission import Admission
from vmafx.controller.inputs import InputPolicy
from vmafx.controller.service import ControllerService, ServiceSettings
from vmafx.core.jobs import JobState
from vmafx.core.messages import HeartbeatAnswer
from vmafx.errors import OverloadedError, UnavailableError

from .conftest import Farm


def small_cap_farm(root: Path, **settings: Any) -> Farm:
    """A farm whose cap is 0.1 heartbeats a second: 3 nodes already stretch a 10 s interval."""
    farm = Farm(root)
    farm.service = ControllerService(
        farm.store,
        clock=farm.clock,
        scheduler=farm.scheduler,
        inputs=InputPolicy([root]),
        settings=ServiceSettings(
            repoll_s=0.05, heartbeat_interval_s=10, max_heartbeats_per_s=0.1, **settings
        ),
    )
    return farm


@pytest.fixture
def stretched(tmp_path: Path) -> Farm:
    (tmp_path / "media").mkdir()
    return small_cap_farm(tmp_path / "media")


async def test_the_interval_handed_out_grows_with_the_farm(stretched):
    first = await stretched.register("node-a")
    assert (first.heartbeat_interval_s, first.lease_ttl_s) == (10, 60)  # 1 node: 0.1/s
    await stretched.register("node-b")
    third = await stretched.register("node-c")
    assert third.heartbeat_interval_s == pytest.approx(30)  # 3 nodes / 0.1 per s
    assert third.lease_ttl_s == pytest.approx(90)  # three intervals, over the 60 s configured
    answer = await stretched.service.heartbeat(stretched.node, first.node_id, first.session_token)
    assert answer.heartbeat_interval_s == pytest.approx(30)  # the first node hears of it


async def test_a_lost_nodes_job_goes_back_after_the_stretched_lease_not_before(stretched):
    sessions = [await stretched.register(f"node-{i}") for i in range(3)]
    job_id = await stretched.submit()
    assert await stretched.pull(sessions[0]) == job_id
    stretched.clock.advance(61)  # past the configured 60 s, inside the stretched 90 s
    assert await stretched.service.expire_once() == []
    assert (await stretched.store.get_job(job_id)).state is JobState.RUNNING
    stretched.clock.advance(30)  # the node never beat again: lost
    [requeued] = await stretched.service.expire_once()
    assert (requeued.id, requeued.state, requeued.lost_leases) == (job_id, JobState.PENDING, 1)


async def test_registrations_past_the_rate_are_refused_with_a_retry_after(tmp_path):
    (tmp_path / "media").mkdir()
    farm = small_cap_farm(tmp_path / "media", max_registrations_per_s=2)
    await farm.register("node-a")
    await farm.register("node-b")
    with pytest.raises(OverloadedError) as refused:
        await farm.register("node-c")
    assert 0 < refused.value.retry_after_s <= 1.0
    assert farm.service.admission.refused == 1
    assert [n.session.name for n in await farm.service.list_nodes(farm.reader)] == [
        "node-a",
        "node-b",
    ]


def test_refused_callers_are_spread_over_the_time_the_bucket_needs():
    now = [0.0]
    admission = Admission(10, burst=2, monotonic=lambda: now[0])
    admission.admit()
    admission.admit()
    waits = []
    for _ in range(5):
        with pytest.raises(OverloadedError) as refused:
            admission.admit()
        waits.append(round(refused.value.retry_after_s, 3))
    assert waits == [0.1, 0.2, 0.3, 0.4, 0.5]  # one slot of 1/rate each, in turn
    now[0] = 0.1
    admission.admit()  # a token came back


def test_no_rate_admits_everyone():
    admission = Admission(0)
    for _ in range(1000):
        admission.admit()


def test_the_retry_after_and_the_interval_cross_the_wire():
    error = error_for(
        __import__("grpc").StatusCode.RESOURCE_EXHAUSTED,
        "busy",
        "OverloadedError",
        retry_after_ms="2500",
    )
    assert isinstance(error, OverloadedError) and error.retry_after_s == 2.5
    answer = HeartbeatAnswer(ok=True, heartbeat_interval_s=42.5)
    assert nc.heartbeat_from_pb(nc.heartbeat_to_pb(answer)).heartbeat_interval_s == 42.5
    unset = nc.heartbeat_from_pb(nc.heartbeat_to_pb(HeartbeatAnswer(ok=True)))
    assert unset.heartbeat_interval_s is None


def test_a_call_the_server_dropped_is_a_retryable_outage():
    error = error_for(__import__("grpc").StatusCode.CANCELLED, "CANCELLED")
    assert isinstance(error, UnavailableError)
