"""Leases: how long a claim lasts, the backoff after a lost lease, and when to give up.

Defaults follow the original platform: a 60 s lease renewed by a 10 s heartbeat, backoff from
5 s doubling to 5 min, and the job fails after its third lost lease with a message naming them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta

from vmafx.core import lifecycle
from vmafx.core.attempts import Attempt
from vmafx.core.jobs import Job, Lease
from vmafx.errors import UsageError


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LeaseSettings:
    lease_ttl: timedelta = timedelta(seconds=60)
    session_ttl: timedelta = timedelta(seconds=60)
    backoff_base: timedelta = timedelta(seconds=5)
    backoff_max: timedelta = timedelta(minutes=5)
    max_lost_leases: int = 3

    def __post_init__(self) -> None:
        if self.lease_ttl <= timedelta(0) or self.session_ttl <= timedelta(0):
            raise UsageError("lease and session TTLs must be positive.")
        if self.backoff_base < timedelta(0) or self.backoff_max < self.backoff_base:
            raise UsageError("backoff must satisfy 0 <= base <= max.")
        if self.max_lost_leases < 1:
            raise UsageError("max_lost_leases must be at least 1.")


def is_expired(lease: Lease, now: datetime) -> bool:
    return lease.expires_at < now


def backoff_delay(lost: int, settings: LeaseSettings) -> timedelta:
    """The wait before a job that has lost `lost` leases (1 or more) may be claimed again."""
    if lost < 1:
        return timedelta(0)
    factor = 1 << min(lost - 1, 32)
    return min(settings.backoff_base * factor, settings.backoff_max)


def _seconds(delay: timedelta) -> str:
    return f"{delay.total_seconds():g} s"


def lost_leases_message(lost: Sequence[Attempt], limit: int) -> str:
    """Names each lost lease: `attempt 1 on node-a (expired 2025-01-01T00:01:00+00:00)`, …"""
    named = ", ".join(
        f"attempt {attempt.number} on {attempt.node_name}"
        + (f" (expired {attempt.ended_at.isoformat()})" if attempt.ended_at else "")
        for attempt in lost
    )
    return f"lost its lease {len(lost)} times (limit {limit}): {named}"


def after_lost_lease(
    job: Job, lost: Sequence[Attempt], now: datetime, settings: LeaseSettings
) -> Job:
    """The running `job` whose lease expired: back to pending after a backoff, or failed."""
    count = len(lost)
    if count >= settings.max_lost_leases:
        return lifecycle.failed(job, lost_leases_message(lost, settings.max_lost_leases), now)
    delay = backoff_delay(count, settings)
    node = lost[-1].node_name if lost else "its node"
    reason = (
        f"lease of attempt {job.attempt} on {node} expired "
        f"({count} of {settings.max_lost_leases}); retrying after {_seconds(delay)}"
    )
    requeued = lifecycle.requeued(job, now, available_at=now + delay, reason=reason, lost=True)
    return dataclasses.replace(requeued, lost_leases=count)
