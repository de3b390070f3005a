"""A GPU as node detection sees it: `GpuInfo` plus what only detection knows.

`DetectedGpu` is a `GpuInfo` (so it goes straight into `NodeCapabilities.gpus`) that also
carries the compute capability (NVIDIA `8.9`, AMD `gfx90a`, Apple `metal3`) when the tool
reported one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from vmafx.core.nodes import GpuInfo


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DetectedGpu(GpuInfo):
    """One GPU found at start-up. `uuid` is what `VMAFX_NODE_GPU` pins; never the index."""

    compute_capability: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DetectedGpu:
        base = GpuInfo.from_json(data)
        capability = data.get("compute_capability")
        return cls(
            **{field.name: getattr(base, field.name) for field in dataclasses.fields(GpuInfo)},
            compute_capability=None if capability is None else str(capability),
        )

    def info(self) -> GpuInfo:
        """The plain `GpuInfo` (what the controller stores and routes on)."""
        return GpuInfo(
            **{field.name: getattr(self, field.name) for field in dataclasses.fields(GpuInfo)}
        )
