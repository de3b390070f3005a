"""Pooling of per-frame metric series: mean, harmonic mean, min, max, 5th and 95th percentile."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

POOL_METHODS: tuple[str, ...] = ("mean", "harmonic_mean", "min", "max", "p5", "p95")


@dataclasses.dataclass(frozen=True)
class Pooled:
    """One metric's per-frame values pooled: mean, harmonic mean, extremes and percentiles."""

    mean: float
    harmonic_mean: float
    min: float
    max: float
    p5: float
    p95: float

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


def mean(values: Sequence[float]) -> float:
    """The arithmetic mean (plain Python: `vmafx score` never imports numpy, issue 13)."""
    try:
        return math.fsum(values) / len(values)
    except (ValueError, OverflowError):  # inf - inf, or past the largest float: as numpy does
        return sum(values) / len(values)


def std(values: Sequence[float]) -> float:
    """The population standard deviation (numpy's `std` with ddof=0)."""
    centre = mean(values)
    return math.sqrt(mean([(v - centre) * (v - centre) for v in values]))


def percentile(values: Sequence[float], q: float) -> float:
    """numpy's default percentile (linear interpolation between the closest ranks)."""
    if any(math.isnan(v) for v in values):
        return math.nan
    ordered = sorted(values)
    position = (q / 100) * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    t = position - low
    a, b = ordered[low], ordered[high]
    if a == b:
        return a
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t


def harmonic_mean(values: Sequence[float]) -> float:
    """libvmaf's harmonic mean: 1 / mean(1 / (x + 1)) - 1 (defined at zero)."""
    return 1.0 / mean([1.0 / (v + 1.0) for v in values]) - 1.0


def pool(values: Sequence[float], libvmaf: Mapping[str, float] | None = None) -> Pooled:
    """Pool one metric's per-frame values.

    Where libvmaf printed its own pooled figure (mean, harmonic mean, min, max) that figure is
    used as is, so vmafx reports exactly libvmaf's numbers; percentiles are computed here
    (linear interpolation, as numpy's default).
    """
    if len(values) == 0:
        raise ValueError("cannot pool an empty series")
    values = [float(v) for v in values]
    own = {
        "mean": mean(values),
        "harmonic_mean": harmonic_mean(values),
        "min": min(values),
        "max": max(values),
    }
    for key, value in (libvmaf or {}).items():
        if key in own and isinstance(value, int | float) and math.isfinite(value):
            own[key] = float(value)
    p5, p95 = percentile(values, 5), percentile(values, 95)
    return Pooled(p5=p5, p95=p95, **own)
