"""Jittered exponential backoff for talking to a controller that is away.

Delays double from `base_s` up to `cap_s`; each is drawn uniformly from its upper half (so a
farm of nodes that lost the controller at the same moment does not come back in lock step).
`reset()` after a call that worked.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    def __init__(
        self,
        base_s: float = 0.5,
        cap_s: float = 30.0,
        *,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self._uniform = uniform
        self.failures = 0

    def next_delay(self) -> float:
        """The pause before the next try (and count one more failure)."""
        ceiling = min(self.cap_s, self.base_s * 2.0 ** min(self.failures, 32))
        self.failures += 1
        return self._uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.failures = 0
