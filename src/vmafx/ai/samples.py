"""Synthetic training samples: feature rows of realistic magnitudes and a learnable score.

For tests, benchmarks and demos only (no real clip is needed): a hidden quality q ∈ [0, 1]
drives every feature through its own offset, scale and sign plus noise, and the true score
is 20 + 75·q plus noise, clipped to VMAF's 0–100 as libvmaf clips its scores, so a model that
learns is visible in PLCC.
"""

from __future__ import annotations

import numpy as np


def synthetic_layout(n_features: int = 80) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each feature's offset, scale and sign (the same for every seed)."""
    layout = np.random.default_rng(12345)
    offsets = layout.uniform(0.0, 50.0, n_features)
    scales = layout.uniform(0.05, 40.0, n_features)
    signs = layout.choice([-1.0, 1.0], n_features)
    return offsets, scales, signs


def synthetic_samples(
    n: int, *, n_features: int = 80, seed: int = 0, noise: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    """`n` rows (float32, n × n_features) and their scores (float64, n)."""
    rng = np.random.default_rng(seed)
    offsets, scales, signs = synthetic_layout(n_features)
    quality = rng.uniform(0.0, 1.0, n)
    jitter = rng.normal(0.0, 0.15, (n, n_features))
    rows = offsets + scales * (signs * quality[:, None] + jitter)
    scores = np.clip(20.0 + 75.0 * quality + rng.normal(0.0, noise, n), 0.0, 100.0)
    return rows.astype(np.float32), scores
