"""Running mean and variance of the input stream (Chan's parallel update), for standardising.

A fresh model learns on features of very different scales (ADM near 1, PSNR near 40, MSE in
the hundreds), so its first layer sees `(x − mean) · inv_std`. The statistics follow the stream
until `freeze_after` samples, then stay fixed; a base model brings its own and they never move.
"""

from __future__ import annotations

import numpy as np


class RunningStats:
    def __init__(self, n_features: int, *, freeze_after: int) -> None:
        self.count = 0
        self.mean = np.zeros(n_features, dtype=np.float64)
        self._m2 = np.zeros(n_features, dtype=np.float64)
        self.freeze_after = freeze_after

    @property
    def frozen(self) -> bool:
        return self.count >= self.freeze_after

    def update(self, x: np.ndarray) -> bool:
        """Fold a batch (rows × n) in; False (and no change) once frozen."""
        if self.frozen or len(x) == 0:
            return False
        batch = np.asarray(x, dtype=np.float64)
        n_b = len(batch)
        mean_b = batch.mean(axis=0)
        m2_b = ((batch - mean_b) ** 2).sum(axis=0)
        total = self.count + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n_b / total)
        self._m2 = self._m2 + m2_b + delta**2 * (self.count * n_b / total)
        self.count = total
        return True

    def state(self) -> tuple[int, np.ndarray, np.ndarray]:
        """What `restore` needs to undo the updates that follow (a dropped step's)."""
        return self.count, self.mean, self._m2

    def restore(self, state: tuple[int, np.ndarray, np.ndarray]) -> None:
        self.count, self.mean, self._m2 = state

    def variance(self) -> np.ndarray:
        if self.count < 2:
            return np.ones_like(self.mean)
        return self._m2 / self.count

    def inv_std(self) -> np.ndarray:
        """1 / std, with the std floored at 1e-3 × max(|mean|, 1) so constant features stay tame."""
        floor = 1e-3 * np.maximum(np.abs(self.mean), 1.0)
        result: np.ndarray = 1.0 / np.maximum(np.sqrt(self.variance()), floor)
        return result
