"""What a scoring run produces: pooled metrics, per-frame series, the feature vector."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
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
    #: What the numbers cannot be trusted for (e.g. a flat reference); the scores are kept.
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "distorted": self.distorted,
            "frame_count": self.frame_count,
            "scored_frames": self.scored_frames,
            "pooled": {name: p.as_dict() for name, p in self.pooled.items()},
            "warnings": list(self.warnings),
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


def headline_score(result: Mapping[str, Any] | None) -> float | None:
    """The one number a score job is known by (the original API's `final_score`).

    An original node's result `{"score": x, ...}` gives x; a vmafx score report gives the
    pooled mean of the first distorted input's VMAF model (`vmaf` first, else the first
    `vmaf*` metric, else the first metric). None when the result holds no score.
    """
    if not result:
        return None
    score = result.get("score")
    if isinstance(score, int | float) and not isinstance(score, bool):
        return float(score)
    results = result.get("results")
    if not isinstance(results, list) or not results or not isinstance(results[0], dict):
        return None
    pooled = results[0].get("pooled")
    if not isinstance(pooled, dict) or not pooled:
        return None
    names = sorted(pooled, key=lambda name: (name != "vmaf", not name.startswith("vmaf")))
    figures = pooled[names[0]]
    mean = figures.get("mean") if isinstance(figures, dict) else None
    return float(mean) if isinstance(mean, int | float) else None
