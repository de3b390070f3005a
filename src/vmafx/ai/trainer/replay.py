"""Replay buffer, pending queue and batch composition: plain Python and numpy, no torch.

Each training step takes the oldest `batch × (1 − mix)` pending new samples (16 of 32 by
default) plus `batch × mix` draws with replacement from the replay buffer (capped at its size);
the new samples join the replay buffer once they have been trained on.
"""

from __future__ import annotations

import collections
import dataclasses
import random

import numpy as np

#: One training sample: float32 features and the true score.
Item = tuple[np.ndarray, float]


def new_per_step(batch_size: int, replay_mix: float) -> int:
    """How many new samples one step takes (at least one)."""
    return max(1, round(batch_size * (1.0 - replay_mix)))


class ReplayBuffer:
    """A fixed-capacity ring that evicts its oldest item; O(1) push and random draw."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: list[Item] = []
        self._next = 0
        self.total_pushed = 0
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._items)

    def push(self, item: Item) -> None:
        if len(self._items) < self.capacity:
            self._items.append(item)
        else:
            self._items[self._next] = item
            self.evicted += 1
        self._next = (self._next + 1) % self.capacity
        self.total_pushed += 1

    def sample(self, n: int, rng: random.Random) -> list[Item]:
        """`n` draws with replacement (fewer when the buffer holds fewer than `n`)."""
        size = len(self._items)
        return [self._items[rng.randrange(size)] for _ in range(min(n, size))]


class PendingQueue:
    """New samples waiting for a step, oldest first; bounded (full means backpressure)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: collections.deque[Item] = collections.deque()

    def __len__(self) -> int:
        return len(self._items)

    def full(self) -> bool:
        return len(self._items) >= self.capacity

    def put(self, item: Item) -> None:
        self._items.append(item)

    def take(self, n: int) -> list[Item]:
        return [self._items.popleft() for _ in range(min(n, len(self._items)))]

    def restore(self, items: list[Item]) -> None:
        """Put a failed step's window back at the front, in order."""
        self._items.extendleft(reversed(items))


@dataclasses.dataclass(frozen=True)
class Batch:
    new: list[Item]
    replayed: list[Item]

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        items = self.new + self.replayed
        x = np.stack([f for f, _ in items]).astype(np.float32, copy=False)
        y = np.array([s for _, s in items], dtype=np.float32).reshape(-1, 1)
        return x, y


def compose_batch(
    pending: PendingQueue,
    replay: ReplayBuffer,
    *,
    batch_size: int,
    replay_mix: float,
    rng: random.Random,
) -> Batch | None:
    """The next batch, or None while fewer than `new_per_step` new samples are pending."""
    n_new = new_per_step(batch_size, replay_mix)
    if len(pending) < n_new:
        return None
    new = pending.take(n_new)
    return Batch(new, replay.sample(batch_size - n_new, rng))
