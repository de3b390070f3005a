"""The stability gate: a held-out set drawn from the stream, and the rule that quarantines.

About one sample in `every` (chosen by a hash of its job_id, so a retried sample lands on the
same side) is kept out of training and joins the held-out set (a ring of the most recent
`capacity`). Each new checkpoint and the active version are scored on it with ONNX Runtime —
exactly what nodes would serve — and the checkpoint is:

- `candidate` while the held-out set is smaller than `min_samples` (not judged, not served
  under latest-stable);
- `quarantined` when its PLCC is undefined, below `min_plcc` (default 0: a model whose
  predictions run against the truth is never served, even as the first one), or more than
  `plcc_delta` below the active one's;
- `active` otherwise (and when there is no active version yet).

When the active version's file is refused (corrupt, truncated, replaced), the baseline is the
newest older active version that still verifies, so a corrupted file never waves a worse
checkpoint through; the verdict's reason says which version was refused and why.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import threading
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vmafx.ai.checkpoints import read_verified
from vmafx.ai.figures import Figures, figures
from vmafx.ai.inference import load_model
from vmafx.ai.registry import ModelStatus, ModelVersion
from vmafx.errors import ModelError


class HoldOut:
    """Thread-safe: connection threads add while the publisher reads."""

    def __init__(self, *, every: int, capacity: int) -> None:
        self.every = every
        self._lock = threading.Lock()
        self._items: collections.deque[tuple[np.ndarray, float]] = collections.deque(
            maxlen=capacity
        )

    def claims(self, job_id: str) -> bool:
        return zlib.crc32(job_id.encode()) % self.every == 0

    def add(self, features: np.ndarray, score: float) -> None:
        with self._lock:
            self._items.append((features, score))

    def __len__(self) -> int:
        return len(self._items)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            items = list(self._items)
        x = np.stack([f for f, _ in items]) if items else np.zeros((0, 0), np.float32)
        return x.astype(np.float32, copy=False), np.array([s for _, s in items], np.float64)


@dataclasses.dataclass(frozen=True)
class Verdict:
    status: ModelStatus
    figures: Figures | None
    baseline_version: int | None
    baseline_figures: Figures | None
    reason: str


class StabilityGate:
    def __init__(
        self,
        holdout: HoldOut,
        *,
        n_features: int,
        plcc_delta: float = 0.005,
        min_samples: int = 20,
        min_plcc: float = 0.0,
        providers: Sequence[str] = ("CPUExecutionProvider",),
    ) -> None:
        self.holdout = holdout
        self.n_features = n_features
        self.plcc_delta = plcc_delta
        self.min_samples = min_samples
        self.min_plcc = min_plcc
        self.providers = list(providers)

    def _score(self, data: bytes, x: np.ndarray, y: np.ndarray, path: str = "") -> Figures:
        model = load_model(data, n_features=self.n_features, providers=self.providers, path=path)
        return figures(model.predict(x), y)

    def _baseline(
        self, actives: Sequence[ModelVersion], directory: Path, x: np.ndarray, y: np.ndarray
    ) -> tuple[int | None, Figures | None, str]:
        """The first of `actives` that verifies and scores: its version, figures, and a note."""
        if not actives:
            return None, None, "no active version to compare with"
        notes = []
        for entry in actives:
            try:
                data = read_verified(directory / entry.file, entry.sha256)
                base = self._score(data, x, y, str(directory / entry.file))
            except ModelError as exc:
                notes.append(f"the active version {entry.version} could not be scored ({exc})")
                continue
            return entry.version, base, "; ".join(notes)
        return None, None, "; ".join(notes)

    def judge(
        self,
        candidate: bytes,
        active: ModelVersion | None,
        directory: Path,
        *,
        older: Sequence[ModelVersion] = (),
    ) -> Verdict:
        """The status a new checkpoint earns against `active` on the current held-out set.

        `older`: the other active versions, newest first, compared with instead when the
        active version's file is refused.
        """
        n = len(self.holdout)
        if n < self.min_samples:
            reason = f"held-out set has {n} samples; the gate needs {self.min_samples} to judge"
            return Verdict(ModelStatus.candidate, None, None, None, reason)
        x, y = self.holdout.arrays()
        mine = self._score(candidate, x, y)
        actives = [active, *older] if active else []
        base_version, base, note = self._baseline(actives, directory, x, y)
        status, reason = self._decide(mine, base, base_version, note)
        return Verdict(status, mine, base_version, base, reason)

    def _decide(
        self, mine: Figures, base: Figures | None, active: int | None, note: str
    ) -> tuple[ModelStatus, str]:
        if not math.isfinite(mine.plcc) or not math.isfinite(mine.rmse):
            return ModelStatus.quarantined, (
                "its PLCC on the held-out set is undefined (constant or non-finite output)"
            )
        if base is not None and math.isfinite(base.plcc):
            drop = base.plcc - mine.plcc
            versus = f"PLCC {mine.plcc:.4f} vs {base.plcc:.4f} for version {active}"
            if note:
                versus += f" ({note})"
            if drop > self.plcc_delta:
                return (
                    ModelStatus.quarantined,
                    f"{versus}: a drop of {drop:.4f} > {self.plcc_delta}",
                )
        else:
            versus = f"PLCC {mine.plcc:.4f}; {note or 'the active version has no PLCC'}"
        if mine.plcc < self.min_plcc:
            return (
                ModelStatus.quarantined,
                f"PLCC {mine.plcc:.4f} is below the floor {self.min_plcc}",
            )
        return ModelStatus.active, versus
