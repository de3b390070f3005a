"""`Admission`: how many RegisterNode calls a controller takes a second, so that 10,000 nodes
starting at once do not starve the heartbeats and claims of the nodes already in.

A token bucket: `rate_per_s` tokens a second, at most `burst` kept. A call that finds no token
is refused at once (cheap: no store work) with an `OverloadedError` (gRPC RESOURCE_EXHAUSTED,
HTTP 503 with Retry-After) whose `retry_after_s` is its place in a virtual queue: each refusal
books the next free slot, 1/rate after the one booked before, so the refused nodes come back
spread over time at about the rate the bucket refills instead of all at once. Nodes honour it
with jitter (`vmafx.node.session`). Each replica has its own bucket: the farm admits replicas ×
rate a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from vmafx.errors import OverloadedError

#: Never tell a node to wait longer than this (a storm larger than rate × this comes back sooner
#: and is refused again).
MAX_RETRY_AFTER_S = 120.0


class Admission:
    def __init__(
        self,
        rate_per_s: float,
        *,
        burst: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst if burst is not None else max(1.0, rate_per_s)
        self._monotonic = monotonic
        self._tokens = self.burst
        self._filled_at = monotonic()
        self._booked_until = float("-inf")
        #: Calls refused so far (metrics, tests).
        self.refused = 0

    def admit(self, what: str = "registration") -> None:
        """Take a token, or raise OverloadedError saying when to come back."""
        if self.rate_per_s <= 0:
            return
        now = self._monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._filled_at) * self.rate_per_s)
        self._filled_at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return
        self.refused += 1
        self._booked_until = max(self._booked_until, now) + 1 / self.rate_per_s
        retry_after = min(MAX_RETRY_AFTER_S, max(self._booked_until - now, 1 / self.rate_per_s))
        raise OverloadedError(
            f"the controller takes {self.rate_per_s:g} {what}s a second and has none to spare now.",
            retry_after_s=retry_after,
            hint=f"Try again in {retry_after:.1f} s (vmafx nodes do so on their own).",
        )
