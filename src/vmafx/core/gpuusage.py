"""What a node's GPUs are doing now, as its heartbeats report it (`None`: unknown)."""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime
from typing import Any

#: A heartbeat carries at most this many GPUs (what a node owns; it bounds the metric series).
MAX_GPUS = 16


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GpuUsage:
    uuid: str
    index: int = 0
    utilization_pct: float | None = None
    encoder_utilization_pct: float | None = None
    encoder_sessions: int | None = None
    memory_used_mb: int | None = None
    memory_total_mb: int | None = None

    def checked(self) -> GpuUsage:
        """The same with impossible figures (negative, NaN, a percentage over 100) unknown."""

        def pct(value: float | None) -> float | None:
            ok = value is not None and math.isfinite(value) and 0 <= value <= 100
            return value if ok else None

        def count(value: int | None) -> int | None:
            return value if value is not None and value >= 0 else None

        return dataclasses.replace(
            self,
            uuid=self.uuid[:128],
            utilization_pct=pct(self.utilization_pct),
            encoder_utilization_pct=pct(self.encoder_utilization_pct),
            encoder_sessions=count(self.encoder_sessions),
            memory_used_mb=count(self.memory_used_mb),
            memory_total_mb=count(self.memory_total_mb),
        )

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GpuSample:
    """A node's last GPU load as its heartbeat brought it to a controller, with the node's
    tenant and name (the labels of its metrics series)."""

    tenant: str
    node: str
    usage: tuple[GpuUsage, ...]
    at: datetime
