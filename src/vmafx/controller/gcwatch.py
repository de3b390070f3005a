"""The cyclic garbage collector's pauses: measured (`GcWatch`) and kept short (`settle_heap`).

A collection holds the GIL while it walks the objects it tracks, so every claim, heartbeat and
call in flight waits for it, in every thread. A full collection (generation 2) walks all of
them: at 10,000 nodes a controller tracks ~210,000 objects, ~90,000 of them the modules and
classes it imported, and a full pass took 60-400 ms on the 2-core development machine, once a
minute when the farm is steady and every 2 s while a registration storm is absorbed
(docs/scale.md, "Garbage collection pauses").

`settle_heap()` runs once the controller has started: one full collection, then `gc.freeze()`
moves every object start-up left into the permanent generation, which no later collection
walks (what CPython's documentation advises for a long-running server). What is built later
(node sessions, caches, calls in flight) is collected as before.

`GcWatch` times each collection from CPython's `gc.callbacks`. The callback runs in whatever
thread allocated the object that triggered the collection, possibly inside a lock the metrics
library holds, so it only appends to a deque; `run()` moves what it found into the histogram
(`vmafx_controller_gc_pause_seconds{generation}`) every `every_s`, and logs a pause of
`warn_s` or more (at most once per `quiet_s`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import logging
import time
from collections.abc import Callable
from typing import Any

from vmafx.controller.looplag import Hushed

log = logging.getLogger(__name__)

#: Pauses kept between two drains (one runs every second); past that the oldest are dropped.
MAX_UNDRAINED = 10_000


def settle_heap() -> int:
    """Collect once, then keep everything alive now out of later collections; returns how many
    objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class GcWatch:
    def __init__(
        self,
        observe: Callable[[int, float], None],
        *,
        every_s: float = 1.0,
        warn_s: float = 0.25,
        quiet_s: float = 10.0,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._observe = observe
        self._every_s = every_s
        self._warn_s = warn_s
        self._hushed = Hushed(log, quiet_s)
        self._clock = clock
        self._started: float | None = None
        self._pauses: collections.deque[tuple[int, float]] = collections.deque(maxlen=MAX_UNDRAINED)
        self._stop = asyncio.Event()
        #: The longest pause drained so far (tests).
        self.worst = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = self._clock()
        elif self._started is not None:
            self._pauses.append((int(info.get("generation", 0)), self._clock() - self._started))
            self._started = None

    def install(self) -> None:
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)

    def remove(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._callback)

    def drain(self, now: float) -> None:
        """Observe the pauses recorded since the last drain (`now`: the caller's clock, for
        the log's rate limit)."""
        worst = 0.0
        while self._pauses:
            generation, seconds = self._pauses.popleft()
            self._observe(generation, seconds)
            worst = max(worst, seconds)
        self.worst = max(self.worst, worst)
        if worst >= self._warn_s:
            self._hushed.say(
                now,
                "a garbage collection held the interpreter %.2f s%s: every claim, heartbeat "
                "and call in flight waited as long (vmafx_controller_gc_pause_seconds)",
                worst,
            )

    async def run(self) -> None:
        self.install()
        loop = asyncio.get_running_loop()
        try:
            while not self._stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self._every_s)
                self.drain(loop.time())
        finally:
            self.remove()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()
