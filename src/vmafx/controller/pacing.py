"""`HeartbeatPacing`: the heartbeat interval the controller hands out now, and the TTL floor
that goes with it, kept in step with the farm's size (the rule is `vmafx.scheduler.cadence`).

The farm's size is the store's count of live sessions (all replicas' nodes), read at most every
`refresh_s` by one caller while the others wait for it; sessions registered here since the last
count are added, so a registration storm stretches the interval before the next count. Each
answer to RegisterNode and Heartbeat carries the interval; each claim, renewal and registration
the store makes uses the TTL floor (`Scheduler.stretch`) set from that same interval, so a node
always has `missable_beats` of its intervals before its leases and session run out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from vmafx.core.clock import Clock
from vmafx.scheduler import Scheduler
from vmafx.scheduler.cadence import CadenceSettings, heartbeat_interval, ttl_floor
from vmafx.store.port import JobStore

log = logging.getLogger(__name__)


class HeartbeatPacing:
    def __init__(
        self,
        store: JobStore,
        clock: Clock,
        scheduler: Scheduler,
        settings: CadenceSettings,
        *,
        refresh_s: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._clock = clock
        self._scheduler = scheduler
        self.settings = settings
        self._refresh_s = refresh_s
        self._monotonic = monotonic
        self._lock = asyncio.Lock()
        self._counted_at = float("-inf")
        #: Live sessions at the last count, and registrations here since.
        self.counted = 0
        self.registered_since = 0
        self.interval_s = settings.base_interval_s

    @property
    def nodes(self) -> int:
        """The farm's size as this replica knows it."""
        return self.counted + self.registered_since

    def registered(self) -> None:
        """A node registered here (counted until the next read of the store)."""
        self.registered_since += 1
        self._apply()

    async def interval(self) -> float:
        """The interval to hand out now (the count refreshed first when it is stale)."""
        if self._monotonic() - self._counted_at >= self._refresh_s:
            async with self._lock:
                if self._monotonic() - self._counted_at >= self._refresh_s:
                    await self._count()
        return self.interval_s

    async def _count(self) -> None:
        try:
            counted = await self._store.count_nodes(live_at=self._clock.now())
        except Exception as error:  # keep the last figures; the next call tries again
            log.warning("could not count the farm's nodes: %s", error)
            return
        self._counted_at = self._monotonic()
        self.counted, self.registered_since = counted, 0
        before = self.interval_s
        self._apply()
        if self.interval_s != before:
            log.info(
                "heartbeat interval now %.1f s for %d nodes (leases %.0f s)",
                self.interval_s,
                counted,
                self._scheduler.lease_ttl.total_seconds(),
            )

    def _apply(self) -> None:
        self.interval_s = heartbeat_interval(self.nodes, self.settings)
        self._scheduler.stretch.floor = ttl_floor(self.interval_s, self.settings)
