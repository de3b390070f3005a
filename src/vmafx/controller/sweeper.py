"""The background sweeper: expires leases and node sessions every few seconds, and keeps
pending reasons current (periodically, and soon after a node registers, leaves or drains).

`run_once` does one round (tests call it with a fake clock); `run` loops until `stop`.
With several controller replicas on PostgreSQL, a round runs only in the replica holding the
store's sweep lock (`JobStore.try_sweep_lock`); the others skip it, and take over when that
replica dies.
Store errors (any VmafxError: the database away, a conflict) are logged and retried next round.
Anything else is a bug: it ends `run`, and the controller's supervisor stops the controller
loudly rather than leave it running with leases that never expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from vmafx.controller.service import ControllerService
from vmafx.errors import VmafxError

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(
        self,
        service: ControllerService,
        *,
        interval_s: float = 5.0,
        pending_refresh_s: float = 10.0,
        lock: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self._service = service
        self._lock = lock
        self._interval_s = interval_s
        self._pending_refresh_s = pending_refresh_s
        self._last_refresh = float("-inf")
        self._stop = asyncio.Event()

    async def run_once(self, *, refresh: bool = True) -> bool:
        """One round; False when another replica holds the sweep lock (nothing done)."""
        if self._lock is not None and not await self._lock():
            log.debug("another controller replica sweeps; round skipped")
            return False
        await self._service.expire_once()
        if refresh:
            try:
                await self._service.refresh_pending_reasons()
            except VmafxError as error:
                log.warning("pending reasons not refreshed: %s", error)
            self._last_refresh = time.monotonic()
        return True

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
