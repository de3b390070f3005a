"""How much one more measured point would lower a ladder's hull: what `vmafx.tune.refine` ranks
its candidates by. Pure: numpy only.

The *gain* of a point is the mean log bitrate the hull saves with it, over evenly spaced VMAF
levels of the hull's range: the area between the hull without and with it, what BD-rate
integrates. A point under the hull gains nothing.

A prediction's *expected* gain averages that over where the point may really lie: its VMAF and
log bitrate each off by a normal error that grows with the CRF distance to the nearest measured
point of its size (`PredictionNoise`). Every outcome under the hull gains nothing and every one
above it gains, so a prediction just under the hull, or on a stretch where the bitrate hardly
moves while VMAF jumps by noise, has an expected gain where its plain gain is zero.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from vmafx.tune.hull import Point, upper_hull

#: VMAF levels a gain is averaged over.
SAMPLES = 200
#: Gauss–Hermite nodes and weights of a standard normal (3 points: exact for cubics).
_NODES = ((-math.sqrt(3.0), 1 / 6), (0.0, 2 / 3), (math.sqrt(3.0), 1 / 6))


@dataclasses.dataclass(frozen=True)
class PredictionNoise:
    """How far a prediction may be off: a normal error of standard deviation `floor +
    per_step × d`, d the CRF distance to the nearest measured CRF of its size (VMAF; natural
    log of the bitrate).

    Measured on the exhaustive grids of `benchmarks/tune.py` (24 titles, x264), the fits'
    median absolute error at distance 1, 2, … 6 is 0.40 … 1.40 VMAF and 0.010 … 0.036 in log
    bitrate (a standard deviation of about 0.3 + 0.3 d and 0.008 + 0.008 d; the two errors
    barely correlate). The defaults are two thirds of that: from a third to all of it the
    ladders come out alike (docs/benchmarks.md, "Ladders"), the full size loses one title."""

    vmaf_floor: float = 0.2
    vmaf_per_step: float = 0.2
    log_kbps_floor: float = 0.005
    log_kbps_per_step: float = 0.005


def levels(hull: Sequence[Point]) -> np.ndarray:
    """The VMAF levels a gain over this hull is averaged over."""
    return np.linspace(hull[0].vmaf, hull[-1].vmaf, SAMPLES)


def hull_x(points: Sequence[Point], ys: np.ndarray) -> np.ndarray | None:
    """Log bitrate of the hull of `points` at each VMAF level (None: fewer than 2 on it)."""
    hull = upper_hull(points)
    if len(hull) < 2:
        return None
    hx = np.array([math.log(p.kbps) for p in hull])
    hy = np.array([p.vmaf for p in hull])
    out: np.ndarray = np.interp(ys, hy, hx)
    return out


def gain(before: np.ndarray, hull: Sequence[Point], extra: Point, ys: np.ndarray) -> float:
    """Mean log bitrate saved at `ys` by adding `extra` to `hull` (`before`: its `hull_x`)."""
    after = hull_x([*hull, extra], ys)
    return 0.0 if after is None else float(np.mean(before - after))


def expected(
    before: np.ndarray,
    hull: Sequence[Point],
    guess: Point,
    ys: np.ndarray,
    distance: float,
    noise: PredictionNoise,
) -> float:
    """`gain` averaged over the outcomes of `guess` (see the module), on a 3 × 3 grid."""
    sv = noise.vmaf_floor + noise.vmaf_per_step * distance
    sr = noise.log_kbps_floor + noise.log_kbps_per_step * distance
    total = 0.0
    for zv, wv in _NODES:
        for zr, wr in _NODES:
            outcome = dataclasses.replace(
                guess, kbps=guess.kbps * math.exp(zr * sr), vmaf=guess.vmaf + zv * sv
            )
            total += wv * wr * gain(before, hull, outcome, ys)
    return total


def hull_gain(current: Sequence[Point], extra: Point, ys: np.ndarray) -> float:
    """Mean log-bitrate saved over the VMAF levels `ys` by adding `extra` to the hull."""
    before = hull_x(current, ys)
    return 0.0 if before is None else gain(before, current, extra, ys)


def expected_gain(
    current: Sequence[Point], guess: Point, distance: float, noise: PredictionNoise
) -> float:
    """The expected gain of `guess`, `distance` CRF steps from a measured point of its size,
    over the hull of `current` (0 with fewer than 2 points on it)."""
    hull = upper_hull(current)
    if len(hull) < 2:
        return 0.0
    ys = levels(hull)
    before = hull_x(hull, ys)
    assert before is not None
    return expected(before, hull, guess, ys, distance, noise)
