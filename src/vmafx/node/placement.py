"""Placing work on this node's GPUs: the least-loaded GPU that fits, recorded with the attempt.

One node per GPU (pinned by UUID) is the simple deployment; a node that owns several GPUs puts
each hardware encode on the one running the fewest jobs now (ties: the lowest index).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Collection, Iterator, Sequence

from vmafx.core.nodes import GpuInfo


class GpuPool:
    """The node's GPUs and how many jobs each runs; safe to use from handler threads."""

    def __init__(self, gpus: Sequence[GpuInfo] = ()) -> None:
        self.gpus = tuple(gpus)
        self._load = [0] * len(self.gpus)
        self._lock = threading.Lock()

    @property
    def only(self) -> GpuInfo | None:
        """The node's GPU when it has exactly one (the GPU every job on it is attributed to)."""
        return self.gpus[0] if len(self.gpus) == 1 else None

    def load(self, gpu: GpuInfo) -> int:
        with self._lock:
            return self._load[self.gpus.index(gpu)]

    def acquire(
        self, vendors: Collection[str] | None = None, min_memory_mb: int | None = None
    ) -> GpuInfo | None:
        """The least-loaded GPU of one of `vendors` (None: any) with at least `min_memory_mb`,
        now counted as busy; None when none fits."""
        with self._lock:
            fitting = [
                (self._load[i], gpu.index, i)
                for i, gpu in enumerate(self.gpus)
                if (vendors is None or gpu.vendor in vendors)
                and gpu.memory_mb >= (min_memory_mb or 0)
            ]
            if not fitting:
                return None
            _, _, chosen = min(fitting)
            self._load[chosen] += 1
            return self.gpus[chosen]

    def release(self, gpu: GpuInfo) -> None:
        with self._lock:
            position = self.gpus.index(gpu)
            self._load[position] = max(0, self._load[position] - 1)

    @contextlib.contextmanager
    def using(
        self, vendors: Collection[str] | None = None, min_memory_mb: int | None = None
    ) -> Iterator[GpuInfo | None]:
        gpu = self.acquire(vendors, min_memory_mb)
        try:
            yield gpu
        finally:
            if gpu is not None:
                self.release(gpu)
