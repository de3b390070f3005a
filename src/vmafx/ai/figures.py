"""How well predictions follow true scores: PLCC, SROCC and RMSE (numpy only).

A constant prediction has no correlation: PLCC and SROCC are NaN there, which the stability
gate treats as a failure, never as a pass.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np


@dataclasses.dataclass(frozen=True)
class Figures:
    plcc: float
    srocc: float
    rmse: float
    n: int

    def as_dict(self) -> dict[str, float | int | None]:
        def clean(x: float) -> float | None:
            return round(x, 6) if math.isfinite(x) else None

        return {
            "plcc": clean(self.plcc),
            "srocc": clean(self.srocc),
            "rmse": clean(self.rmse),
            "n": self.n,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Figures:
        def num(key: str) -> float:
            value = data.get(key)
            return float(value) if isinstance(value, int | float) else math.nan

        n = data.get("n")
        return cls(num("plcc"), num("srocc"), num("rmse"), n if isinstance(n, int) else 0)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    da, db = a - a.mean(), b - b.mean()
    denom = math.sqrt(float(np.dot(da, da)) * float(np.dot(db, db)))
    if denom == 0.0:
        return math.nan
    return float(np.dot(da, db)) / denom


def ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank (as scipy.stats.rankdata 'average')."""
    order = np.argsort(values, kind="mergesort")
    sorted_vals = values[order]
    ranked = np.empty(len(values), dtype=np.float64)
    start = 0
    for end in range(1, len(values) + 1):
        if end == len(values) or sorted_vals[end] != sorted_vals[start]:
            ranked[order[start:end]] = (start + end + 1) / 2.0
            start = end
    return ranked


def figures(predicted: np.ndarray, true: np.ndarray) -> Figures:
    """PLCC, SROCC and RMSE of `predicted` against `true` (1-D, same length)."""
    p = np.asarray(predicted, dtype=np.float64).reshape(-1)
    t = np.asarray(true, dtype=np.float64).reshape(-1)
    if p.shape != t.shape:
        raise ValueError(f"{p.shape[0]} predictions for {t.shape[0]} true scores")
    if len(p) < 2:
        return Figures(math.nan, math.nan, math.nan, len(p))
    rmse = math.sqrt(float(np.mean((p - t) ** 2)))
    return Figures(_pearson(p, t), _pearson(ranks(p), ranks(t)), rmse, len(p))
