"""The background sweeper: expires leases and node sessions every few seconds, and keeps
pending reasons current (periodically, and soon after a node registers, leaves or drains).

`run_once` does one round (tests call it with a fake clock); `run` loops until `stop`.
With several controller replicas on PostgreSQL, a round runs only in the replica holding the
store's sweep lock (`JobStore.try_sweep_lock`); the others skip it, and take over when that
replica dies.
Retention (`Retention`): every `every_s`, the sweeping replica deletes jobs that finished more
than `days` ago, with their attempts and events, in batches of `batch` (at most `max_batches`
per round, so a first run on a large backlog does not hold the sweep up; the next rounds go on).
`days` 0 keeps every job. Tune probes kept for later searches (`JobStore.prune_tune_probes`)
go by the same age, counted from when each was measured. Why prune rather than archive:
docs/deploy.md, "Retention".
Vacuum: every `vacuum_every_s`, the sweeping replica asks the store to vacuum the queue's hot
tables where their dead rows passed the threshold (`JobStore.vacuum_queue`; PostgreSQL only,
a cover for a server whose autovacuum is off or behind).
Each step's time goes to `metrics` (`vmafx_controller_sweep_step_seconds{step}`), and a step
slower than `SLOW_STEP_S` is logged at INFO with its time (`vmafx -v`, or the logger
`vmafx.controller.sweeper` at INFO), so that a slow stretch of claims can be matched with what
the sweep did then. INFO, not a warning: on a large farm a refresh or a vacuum takes that long
every round, and a warning every 10 s would drown the ones that matter.
Store errors (any VmafxError: the database away, a conflict) are logged and retried next round.
Anything else is a bug: it ends `run`, and the controller's supervisor stops the controller
loudly rather than leave it running with leases that never expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta

from vmafx.controller.observing import NO_METRICS, JobMetrics
from vmafx.controller.service import ControllerService
from vmafx.errors import VmafxError

log = logging.getLogger(__name__)

#: A sweep step this slow is logged (at INFO) with its time.
SLOW_STEP_S = 0.25


@dataclasses.dataclass(frozen=True, kw_only=True)
class Retention:
    """How long finished jobs stay in the store (`days` 0: forever), and how they are pruned."""

    days: float = 30.0
    every_s: float = 60.0
    batch: int = 1000
    max_batches: int = 20

    @property
    def keeps_everything(self) -> bool:
        return self.days <= 0


class Sweeper:
    def __init__(
        self,
        service: ControllerService,
        *,
        interval_s: float = 5.0,
        pending_refresh_s: float = 10.0,
        lock: Callable[[], Awaitable[bool]] | None = None,
        retention: Retention | None = None,
        vacuum_every_s: float = 60.0,
        metrics: JobMetrics = NO_METRICS,
    ) -> None:
        self._service = service
        self._metrics = metrics
        self._lock = lock
        self.retention = retention or Retention(days=0)
        self._last_prune = float("-inf")
        self._vacuum_every_s = vacuum_every_s
        self._last_vacuum = time.monotonic()  # not in the first round: a start is busy enough
        #: Jobs deleted by retention since the start (metrics, tests).
        self.pruned = 0
        #: Whether the last round ran here (this replica holds the sweep lock).
        self.sweeping = False
        self._interval_s = interval_s
        self._pending_refresh_s = pending_refresh_s
        self._last_refresh = float("-inf")
        self._stop = asyncio.Event()

    @contextlib.contextmanager
    def _step(self, step: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - started
            self._metrics.swept(step, seconds)
            if seconds >= SLOW_STEP_S:
                log.info("sweep step %s took %.2f s", step, seconds)

    async def run_once(self, *, refresh: bool = True) -> bool:
        """One round; False when another replica holds the sweep lock (nothing done)."""
        if self._lock is not None:
            with self._step("lock"):
                held = await self._lock()
            if not held:
                log.debug("another controller replica sweeps; round skipped")
                self.sweeping = False
                return False
        self.sweeping = True
        with self._step("expire"):
            await self._service.expire_once()
        if refresh:
            with self._step("refresh"):
                try:
                    await self._service.refresh_pending_reasons()
                except VmafxError as error:
                    log.warning("pending reasons not refreshed: %s", error)
            self._last_refresh = time.monotonic()
        if time.monotonic() - self._last_prune >= self.retention.every_s:
            with self._step("prune"):
                await self.prune_once()
        if time.monotonic() - self._last_vacuum >= self._vacuum_every_s:
            with self._step("vacuum"):
                await self.vacuum_once()
        return True

    async def vacuum_once(self) -> list[str]:
        """Vacuum the store's hot tables that need it; the tables vacuumed."""
        self._last_vacuum = time.monotonic()
        try:
            done = await self._service.store.vacuum_queue()
        except VmafxError as error:
            log.warning("the queue's tables not vacuumed: %s", error)
            return []
        if done:
            log.info("vacuumed %s", ", ".join(done))
        return done

    async def prune_once(self, *, now: datetime | None = None) -> int:
        """Delete finished jobs older than the retention (in batches); how many went."""
        retention = self.retention
        self._last_prune = time.monotonic()
        if retention.keeps_everything:
            return 0
        store = self._service.store
        before = (now or self._service.clock.now()) - timedelta(days=retention.days)
        pruned = 0
        try:
            for _ in range(retention.max_batches):
                count = await store.prune_finished(finished_before=before, limit=retention.batch)
                pruned += count
                if count < retention.batch:
                    break
            for _ in range(retention.max_batches):
                count = await store.prune_tune_probes(created_before=before, limit=retention.batch)
                if count < retention.batch:
                    break
        except VmafxError as error:
            log.warning("finished jobs or kept tune probes not pruned: %s", error)
        if pruned:
            self.pruned += pruned
            log.info("pruned %d jobs finished before %s", pruned, before.isoformat())
        return pruned

    async def run(self) -> None:
        nodes_changed = self._service.nodes_changed
        while not self._stop.is_set():
            due = time.monotonic() - self._last_refresh >= self._pending_refresh_s
            refresh = due or nodes_changed.is_set()
            nodes_changed.clear()
            try:
                await self.run_once(refresh=refresh)
            except VmafxError as error:  # the store is away or refused: next round retries
                log.error("sweep failed, retried in %g s: %s", self._interval_s, error)
            waiters = [asyncio.ensure_future(e.wait()) for e in (self._stop, nodes_changed)]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED), self._interval_s
                )
            for waiter in waiters:
                waiter.cancel()
            if nodes_changed.is_set():  # let a burst of node changes settle first
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), min(0.5, self._interval_s))

    def stop(self) -> None:
        self._stop.set()

    def stopping(self) -> bool:
        """Whether `stop()` was called (`run` returns only then)."""
        return self._stop.is_set()
