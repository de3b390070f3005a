"""`LoopWatch`: how late the event loop runs a timer that is due, as a histogram and a log line.

Everything a controller serves (gRPC calls, HTTP, the claim and renewal batches, the sweeps)
runs on one event loop, with store transactions in worker threads under the same GIL. When
something holds the loop (a burst of rows to decode, a long synchronous step), every claim in
flight waits for it, and the claim latency shows a tail nothing else names. The watch sleeps
`every_s` at a time and reports how much later than due it woke
(`vmafx_controller_event_loop_lag_seconds`); a lag of `warn_s` or more is logged, at most once
per `quiet_s` (with how many were not logged), so a slow stretch can be matched with what the
controller did then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


class Hushed:
    """A warning said at most once per `quiet_s`, naming how many were held back meanwhile.

    `say(now, message, value)` logs `message % (value, more)`, where `more` is empty or
    " (N more since the last report)"."""

    def __init__(self, logger: logging.Logger, quiet_s: float) -> None:
        self._logger = logger
        self._quiet_s = quiet_s
        self._last = float("-inf")
        self._unsaid = 0

    def say(self, now: float, message: str, value: float) -> None:
        if now - self._last < self._quiet_s:
            self._unsaid += 1
            return
        more = f" ({self._unsaid} more since the last report)" if self._unsaid else ""
        self._logger.warning(message, value, more)
        self._last, self._unsaid = now, 0


class LoopWatch:
    def __init__(
        self,
        observe: Callable[[float], None],
        *,
        every_s: float = 0.1,
        warn_s: float = 0.5,
        quiet_s: float = 10.0,
    ) -> None:
        self._observe = observe
        self._every_s = every_s
        self._warn_s = warn_s
        self._hushed = Hushed(log, quiet_s)
        self._stop = asyncio.Event()
        #: The largest lag seen (tests).
        self.worst = 0.0

    def seen(self, lag: float, now: float) -> None:
        """Account one late wake-up of `lag` seconds at loop time `now`."""
        lag = max(0.0, lag)
        self._observe(lag)
        self.worst = max(self.worst, lag)
        if lag >= self._warn_s:
            self._hushed.say(
                now,
                "the event loop was held %.2f s%s: every claim, heartbeat and call in flight "
                "waited as long (vmafx_controller_event_loop_lag_seconds)",
                lag,
            )

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            due = loop.time() + self._every_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._every_s)
            if self._stop.is_set():
                return
            now = loop.time()
            self.seen(now - due, now)

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """Whether `stop()` was called (`run` returns only then)."""
        return self._stop.is_set()
