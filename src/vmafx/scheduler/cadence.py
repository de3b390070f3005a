"""Heartbeat cadence: an interval that grows with the farm, and lease/session TTLs that follow.

A heartbeat costs the controller and the database a transaction or two, whatever the farm's
size; at a fixed 10 s, 10,000 nodes send 1,000 a second, more than a controller core can serve.
So the controller hands each node an interval that keeps the farm's heartbeats per second under
a cap, as Nomad does (its servers' `max_heartbeats_per_second`, default 50: a node's heartbeat
TTL is stretched to nodes ÷ that rate, never under `min_heartbeat_ttl`):

    interval(n) = max(base_interval_s, n / max_heartbeats_per_s)

and the TTLs a heartbeat renews (node session, job leases) stretch with it, so that a node may
still miss `missable_beats - 1` heartbeats in a row before it counts as lost:

    ttl(n) = max(configured ttl, missable_beats × interval(n))

Defaults: 10 s base, 100 heartbeats/s, 3 beats: up to 1,000 nodes heartbeat every 10 s, 10,000
every 100 s; leases and sessions stay 60 s up to 2,000 nodes and reach 300 s at 10,000. A lost
node is noticed after ttl(n) (plus up to a sweep interval): detection time grows with the farm,
which is the price of a bounded heartbeat rate.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from vmafx.errors import UsageError


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CadenceSettings:
    base_interval_s: float = 10.0
    #: The farm's heartbeats a second the interval is stretched to stay under (0: no cap).
    max_heartbeats_per_s: float = 100.0
    #: A TTL covers at least this many intervals.
    missable_beats: int = 3

    def __post_init__(self) -> None:
        if self.base_interval_s <= 0:
            raise UsageError(
                f"the heartbeat interval must be positive, got {self.base_interval_s:g} s."
            )
        if self.max_heartbeats_per_s < 0:
            raise UsageError(
                f"max heartbeats per second must be 0 (no cap) or more, "
                f"got {self.max_heartbeats_per_s:g}."
            )
        if self.missable_beats < 1:
            raise UsageError(f"missable_beats must be at least 1, got {self.missable_beats}.")


def heartbeat_interval(nodes: int, settings: CadenceSettings) -> float:
    """Seconds between a node's heartbeats in a farm of `nodes` live sessions."""
    if settings.max_heartbeats_per_s <= 0:
        return settings.base_interval_s
    return max(settings.base_interval_s, nodes / settings.max_heartbeats_per_s)


def ttl_floor(interval_s: float, settings: CadenceSettings) -> timedelta:
    """The shortest lease or session TTL that fits heartbeats every `interval_s`."""
    return timedelta(seconds=interval_s * settings.missable_beats)


class Stretch:
    """The TTL floor in force now (mutable: the controller raises and lowers it as the farm
    grows and shrinks; the store's `Scheduler` reads it at every claim, renewal and
    registration)."""

    __slots__ = ("floor",)

    def __init__(self) -> None:
        self.floor = timedelta(0)
