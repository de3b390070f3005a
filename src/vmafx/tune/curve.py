"""A monotone fit of measured (CRF, VMAF) points: pure numpy, no scipy.

Quality falls as the CRF rises, but measured points are noisy (a sample's VMAF at CRF 30 can beat
its VMAF at 29 by a few hundredths). `MonotoneCurve` first makes the data non-increasing by
isotonic regression (pool-adjacent-violators, weighted), then interpolates the result with a
monotone piecewise-cubic Hermite (Fritsch–Carlson, as PCHIP). Outside the measured range it
extends linearly with `outside_slope` (the prior's slope, VMAF per CRF step, negative).

Every measured point counts, not just the two that bracket the target: that is what lets the
search land on the right CRF with fewer probes than bisection.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

#: The slope used outside the measured range when nothing better is known (VMAF per CRF unit).
DEFAULT_SLOPE = -1.2


def isotonic_decreasing(
    values: Sequence[float], weights: Sequence[float] | None = None
) -> list[float]:
    """The closest (weighted least squares) non-increasing sequence to `values` (PAVA)."""
    w = [1.0] * len(values) if weights is None else [float(x) for x in weights]
    blocks: list[list[float]] = []  # [mean, weight, count]
    for value, weight in zip(values, w, strict=True):
        blocks.append([float(value), weight, 1])
        while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
            mean2, w2, n2 = blocks.pop()
            mean1, w1, n1 = blocks.pop()
            total = w1 + w2
            blocks.append([(mean1 * w1 + mean2 * w2) / total, total, n1 + n2])
    out: list[float] = []
    for mean, _, count in blocks:
        out += [mean] * int(count)
    return out


def _pchip_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Fritsch–Carlson derivatives: monotone data gives a monotone interpolant."""
    h = np.diff(x)
    delta = np.diff(y) / h
    n = len(x)
    d = np.zeros(n)
    if n == 2:
        d[:] = delta[0]
        return d
    for k in range(1, n - 1):
        if delta[k - 1] * delta[k] <= 0:
            d[k] = 0.0
        else:
            w1, w2 = 2 * h[k] + h[k - 1], h[k] + 2 * h[k - 1]
            # A slope near the smallest float makes w/delta overflow to inf: the weighted
            # harmonic mean is then 0, which is the right limit (and keeps the fit monotone).
            with np.errstate(over="ignore", divide="ignore"):
                d[k] = (w1 + w2) / (w1 / delta[k - 1] + w2 / delta[k])
    d[0] = _end_slope(h[0], h[1], delta[0], delta[1])
    d[-1] = _end_slope(h[-1], h[-2], delta[-1], delta[-2])
    return d


def _end_slope(h0: float, h1: float, m0: float, m1: float) -> float:
    d = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
    if np.sign(d) != np.sign(m0):
        return 0.0
    if np.sign(m0) != np.sign(m1) and abs(d) > abs(3 * m0):
        return 3 * m0
    return float(d)


@dataclasses.dataclass(frozen=True)
class MonotoneCurve:
    """VMAF as a non-increasing function of CRF, fitted to measured points."""

    xs: tuple[float, ...]
    ys: tuple[float, ...]
    slopes: tuple[float, ...]
    outside_slope: float = DEFAULT_SLOPE

    @classmethod
    def fit(
        cls,
        points: Sequence[tuple[float, float]],
        *,
        outside_slope: float = DEFAULT_SLOPE,
    ) -> MonotoneCurve:
        """Fit (crf, vmaf) points; repeated CRFs are averaged (weighted by how often measured)."""
        if not points:
            raise ValueError("a curve needs at least one measured point")
        merged: dict[float, list[float]] = {}
        for crf, vmaf in points:
            merged.setdefault(float(crf), []).append(float(vmaf))
        xs = sorted(merged)
        means = [sum(merged[x]) / len(merged[x]) for x in xs]
        weights = [float(len(merged[x])) for x in xs]
        ys = isotonic_decreasing(means, weights)
        slope = min(outside_slope, -1e-3)
        if len(xs) == 1:
            return cls((xs[0],), (ys[0],), (slope,), slope)
        d = _pchip_slopes(np.asarray(xs), np.asarray(ys))
        return cls(tuple(xs), tuple(ys), tuple(float(v) for v in d), slope)

    def __call__(self, crf: float) -> float:
        xs, ys = self.xs, self.ys
        if crf <= xs[0]:
            return ys[0] + self._edge_slope(0) * (crf - xs[0])
        if crf >= xs[-1]:
            return ys[-1] + self._edge_slope(-1) * (crf - xs[-1])
        k = int(np.searchsorted(xs, crf, side="right")) - 1
        h = xs[k + 1] - xs[k]
        t = (crf - xs[k]) / h
        h00, h10 = 2 * t**3 - 3 * t**2 + 1, t**3 - 2 * t**2 + t
        h01, h11 = -2 * t**3 + 3 * t**2, t**3 - t**2
        return float(
            h00 * ys[k] + h10 * h * self.slopes[k] + h01 * ys[k + 1] + h11 * h * self.slopes[k + 1]
        )

    def _edge_slope(self, index: int) -> float:
        """Outside the data: the secant of the two end points (the secant method's step), or
        the prior slope with a single point or flat ends."""
        if len(self.xs) < 2:
            return self.outside_slope
        i, j = (0, 1) if index == 0 else (-2, -1)
        secant = (self.ys[j] - self.ys[i]) / (self.xs[j] - self.xs[i])
        return secant if secant < -0.05 else self.outside_slope

    def crossing(self, target: float, lo: float, hi: float) -> float:
        """The largest CRF in [lo, hi] whose fitted VMAF is ≥ target (lo − 1 if none, hi if all)."""
        if self(hi) >= target:
            return hi
        if self(lo) < target:
            return lo - 1.0
        a, b = lo, hi
        for _ in range(60):
            mid = (a + b) / 2
            if self(mid) >= target:
                a = mid
            else:
                b = mid
        return a

    def slope_at(self, crf: float, width: float = 1.0) -> float:
        """The fitted curve's slope around `crf` (VMAF per CRF unit, ≤ 0)."""
        value = (self(crf + width) - self(crf - width)) / (2 * width)
        return value if math.isfinite(value) else self.outside_slope
