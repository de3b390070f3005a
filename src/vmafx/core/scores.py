"""What a scoring run produces: pooled metrics, per-frame series, the feature vector.

Output names are stable: a model's pooled metrics and per-frame series are keyed by the model's
own name (`vmaf_v0.6.1`, or a model file's stem) whether one model is scored or several, and a
feature by libvmaf's output name (`float_ssim`, `psnr_y`...). For one release the JSON form
(`as_dict`) also keeps the old key `vmaf` (`LEGACY_VMAF_KEY`) as an alias of the only model's
pooled metrics when exactly one model was scored; scripts should move to the model's name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from vmafx.core.features import FeatureVector
from vmafx.core.pooling import Pooled

#: The model scored when none is named; the trainer's feedback and the headline use its VMAF.
DEFAULT_MODEL = "vmaf_v0.6.1"
#: The key one model's pooled metrics had before output names were stable (kept for one release).
LEGACY_VMAF_KEY = "vmaf"


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
    #: The keys of `pooled` that are models' scores (the rest are features' outputs).
    models: tuple[str, ...] = ()

    def pooled_json(self) -> dict[str, Any]:
        """`pooled` as JSON, plus the one-release alias `vmaf` when exactly one model ran."""
        out = {name: p.as_dict() for name, p in self.pooled.items()}
        if len(self.models) == 1 and LEGACY_VMAF_KEY not in out and self.models[0] in out:
            out[LEGACY_VMAF_KEY] = out[self.models[0]]
        return out

    def model_score(self, model: str = DEFAULT_MODEL) -> float | None:
        """The pooled mean VMAF of `model` (the default model unless named); None if not scored."""
        pooled = self.pooled.get(model)
        return pooled.mean if pooled is not None and model in self.models else None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "distorted": self.distorted,
            "frame_count": self.frame_count,
            "scored_frames": self.scored_frames,
            "pooled": self.pooled_json(),
            "warnings": list(self.warnings),
        }
        if self.features is not None:
            out["features"] = self.features.as_dict()
        if self.adjustments:
            out["adjustments"] = list(self.adjustments)
        return out


@dataclasses.dataclass(frozen=True)
class ScoreReport:
    """Everything one scoring call returns: one result per distorted input, and the versions."""

    reference: str
    results: tuple[ScoreResult, ...]
    versions: dict[str, str]
    elapsed_s: float = 0.0
    #: How the inputs were decoded when a GPU decode was asked for (`--decode cuda|auto`):
    #: {"asked", "used", "reason", "inputs": ["cuda"|"cpu", …]}; None for a plain CPU run.
    decode: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {
            "reference": self.reference,
            "results": [r.as_dict() for r in self.results],
            "versions": dict(self.versions),
        }
        if self.decode is not None:
            out["decode"] = dict(self.decode)
        return out


def shown_pooled(pooled: Mapping[str, Any]) -> dict[str, Any]:
    """Pooled metrics (JSON) as a person reads them: the one-release alias `vmaf` left out where
    it repeats a model's figures under the model's name (an older result keeps its `vmaf`)."""
    alias = pooled.get(LEGACY_VMAF_KEY)
    repeated = any(
        name != LEGACY_VMAF_KEY and name.startswith("vmaf") and figures == alias
        for name, figures in pooled.items()
    )
    return {k: v for k, v in pooled.items() if not (repeated and k == LEGACY_VMAF_KEY)}


def headline_score(result: Mapping[str, Any] | None) -> float | None:
    """The one number a score job is known by (the original API's `final_score`).

    An original node's result `{"score": x, ...}` gives x; a vmafx score report gives the
    pooled mean of the first distorted input's VMAF model (the default model first, then the
    old key `vmaf`, else the first `vmaf*` metric, else the first metric). None when the
    result holds no score.
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
    names = sorted(
        pooled,
        key=lambda name: (
            name != DEFAULT_MODEL,
            name != LEGACY_VMAF_KEY,
            not name.startswith("vmaf"),
        ),
    )
    figures = pooled[names[0]]
    mean = figures.get("mean") if isinstance(figures, dict) else None
    return float(mean) if isinstance(mean, int | float) else None
