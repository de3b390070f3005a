"""What a scoring run produces: pooled metrics, per-frame series, the feature vector."""

from __future__ import annotations

import dataclasses
from typing import Any

from vmafx.core.features import FeatureVector
from vmafx.core.pooling import Pooled


@dataclasses.dataclass(frozen=True)
class ScoreResult:
    """One distorted input scored against the reference."""

    distorted: str
    #: Frames compared (after any sync); `scored_frames` is fewer with subsampling.
    frame_count: int
    scored_frames: int
    pooled: dict[str, Pooled]
    frames: dict[str, list[float]]
    frame_nums: tuple[int, ...]
    features: FeatureVector | None
    #: Filters applied to the distorted input before comparing (e.g. a bicubic scale).
    adjustments: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "distorted": self.distorted,
            "frame_count": self.frame_count,
            "scored_frames": self.scored_frames,
            "pooled": {name: p.as_dict() for name, p in self.pooled.items()},
        }
        if self.features is not None:
            out["features"] = self.features.as_dict()
        if self.adjustments:
            out["adjustments"] = list(self.adjustments)
        return out


@dataclasses.dataclass(frozen=True)
class ScoreReport:
    reference: str
    results: tuple[ScoreResult, ...]
    versions: dict[str, str]
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "results": [r.as_dict() for r in self.results],
            "versions": dict(self.versions),
        }
