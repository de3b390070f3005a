"""Pooling of per-frame metric series: mean, harmonic mean, min, max, 5th and 95th percentile."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

POOL_METHODS: tuple[str, ...] = ("mean", "harmonic_mean", "min", "max", "p5", "p95")


@dataclasses.dataclass(frozen=True)
class Pooled:
    mean: float
    harmonic_mean: float
    min: float
    max: float
    p5: float
    p95: float

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


def harmonic_mean(values: Sequence[float]) -> float:
    """libvmaf's harmonic mean: 1 / mean(1 / (x + 1)) - 1 (defined at zero)."""
    import numpy as np  # noqa: PLC0415 - not imported before `vmafx score` starts ffmpeg

    arr = np.asarray(values, dtype=np.float64)
    return float(1.0 / np.mean(1.0 / (arr + 1.0)) - 1.0)


def pool(values: Sequence[float], libvmaf: Mapping[str, float] | None = None) -> Pooled:
    """Pool one metric's per-frame values.

    Where libvmaf printed its own pooled figure (mean, harmonic mean, min, max) that figure is
    used as is, so vmafx reports exactly libvmaf's numbers; percentiles are computed here
    (linear interpolation, as numpy's default).
    """
    if len(values) == 0:
        raise ValueError("cannot pool an empty series")
    import numpy as np  # noqa: PLC0415 - not imported before `vmafx score` starts ffmpeg

    arr = np.asarray(values, dtype=np.float64)
    own = {
        "mean": float(np.mean(arr)),
        "harmonic_mean": harmonic_mean(values),
        "min": float(np.min(arr)),
        "max": float(np.max(arr)),
    }
    for key, value in (libvmaf or {}).items():
        if key in own and isinstance(value, int | float) and math.isfinite(value):
            own[key] = float(value)
    p5, p95 = (float(v) for v in np.percentile(arr, [5, 95]))
    return Pooled(p5=p5, p95=p95, **own)
