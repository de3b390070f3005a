"""Nodes: the GPUs and encoders a node advertises, its queue subscription, and its session."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from vmafx.errors import UsageError

#: GPU vendors as nodes name them (`cpu` for a node without a GPU).
GPU_VENDORS = ("nvidia", "amd", "intel", "apple", "cpu")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GpuInfo:
    """One GPU as the node detected it. Pin by `uuid`, never by `index`."""

    vendor: str
    name: str
    uuid: str = ""
    index: int = 0
    memory_mb: int = 0
    driver: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GpuInfo:
        return cls(
            vendor=str(data["vendor"]),
            name=str(data["name"]),
            uuid=str(data.get("uuid", "")),
            index=int(data.get("index", 0)),
            memory_mb=int(data.get("memory_mb", 0)),
            driver=data.get("driver"),
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NodeCapabilities:
    """What a node can do. `queues` empty means every queue.

    `slots` caps the jobs a node runs at once; `concurrency` caps them per queue (a queue it
    does not name is capped by `slots` alone).
    """

    host: str = ""
    backends: tuple[str, ...] = ()
    gpu_vendor: str = "cpu"
    gpus: tuple[GpuInfo, ...] = ()
    encoders: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()
    slots: int = 1
    concurrency: Mapping[str, int] = dataclasses.field(default_factory=dict)
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.slots < 1:
            raise UsageError(f"a node needs at least 1 slot, got {self.slots}.")
        for queue, limit in self.concurrency.items():
            if limit < 0:
                raise UsageError(
                    f"concurrency for queue {queue!r} must be 0 or more, got {limit}.",
                    hint="Write it as VMAFX_NODE_CONCURRENCY=encode=2,score=1.",
                )

    @property
    def vendors(self) -> frozenset[str]:
        """Every GPU vendor this node offers (its advertised vendor and each GPU's)."""
        return frozenset({self.gpu_vendor, *(gpu.vendor for gpu in self.gpus)})

    @property
    def max_gpu_memory_mb(self) -> int:
        return max((gpu.memory_mb for gpu in self.gpus), default=0)

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "backends": list(self.backends),
            "gpu_vendor": self.gpu_vendor,
            "gpus": [gpu.to_json() for gpu in self.gpus],
            "encoders": list(self.encoders),
            "queues": list(self.queues),
            "slots": self.slots,
            "concurrency": dict(self.concurrency),
            "labels": dict(self.labels),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NodeCapabilities:
        return cls(
            host=str(data.get("host", "")),
            backends=tuple(data.get("backends", ())),
            gpu_vendor=str(data.get("gpu_vendor", "cpu")),
            gpus=tuple(GpuInfo.from_json(gpu) for gpu in data.get("gpus", ())),
            encoders=tuple(data.get("encoders", ())),
            queues=tuple(data.get("queues", ())),
            slots=int(data.get("slots", 1)),
            concurrency={str(k): int(v) for k, v in data.get("concurrency", {}).items()},
            labels={str(k): str(v) for k, v in data.get("labels", {}).items()},
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NodeSession:
    """A registered node. Its `id` is the node id handed to the node; the token is kept hashed."""

    id: str
    tenant: str
    name: str
    capabilities: NodeCapabilities
    token_sha256: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime

    def is_live(self, now: datetime) -> bool:
        return now <= self.expires_at

    def __repr__(self) -> str:
        return f"NodeSession(id={self.id!r}, tenant={self.tenant!r}, name={self.name!r})"


@dataclasses.dataclass(frozen=True, slots=True)
class QueueSelection:
    """The queues a node may take a job from right now.

    `allowed` None means any queue; `blocked` lists queues at their concurrency limit.
    """

    allowed: frozenset[str] | None
    blocked: frozenset[str] = frozenset()

    @property
    def is_empty(self) -> bool:
        return self.allowed is not None and not (self.allowed - self.blocked)

    def admits(self, queue: str) -> bool:
        if queue in self.blocked:
            return False
        return self.allowed is None or queue in self.allowed
