"""The heartbeat interval grows with the farm; lease and session TTLs follow it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vmafx.errors import UsageError
from vmafx.scheduler import LeaseSettings, Scheduler
from vmafx.scheduler.cadence import CadenceSettings, heartbeat_interval, ttl_floor

CAP_100 = CadenceSettings(base_interval_s=10, max_heartbeats_per_s=100, missable_beats=3)


@pytest.mark.parametrize(
    ("nodes", "interval"), [(0, 10.0), (1_000, 10.0), (2_000, 20.0), (10_000, 100.0)]
)
def test_the_interval_keeps_the_farms_heartbeats_under_the_cap(nodes, interval):
    assert heartbeat_interval(nodes, CAP_100) == interval
    assert nodes / heartbeat_interval(nodes, CAP_100) <= 100


def test_no_cap_keeps_the_base_interval():
    settings = CadenceSettings(base_interval_s=10, max_heartbeats_per_s=0)
    assert heartbeat_interval(1_000_000, settings) == 10


def test_leases_and_sessions_cover_three_intervals_never_less_than_configured():
    scheduler = Scheduler(LeaseSettings(lease_ttl=timedelta(seconds=60)))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    scheduler.stretch.floor = ttl_floor(heartbeat_interval(1_000, CAP_100), CAP_100)
    assert scheduler.lease_expiry(now) == now + timedelta(seconds=60)  # 3 × 10 s < 60 s
    scheduler.stretch.floor = ttl_floor(heartbeat_interval(10_000, CAP_100), CAP_100)
    assert scheduler.lease_expiry(now) == now + timedelta(seconds=300)
    assert scheduler.session_expiry(now) == now + timedelta(seconds=300)


def test_nonsense_cadence_settings_are_refused():
    with pytest.raises(UsageError, match="positive"):
        CadenceSettings(base_interval_s=0)
    with pytest.raises(UsageError, match="per second"):
        CadenceSettings(max_heartbeats_per_s=-1)
