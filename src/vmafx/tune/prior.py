"""The prediction made before the first probe: where the target lies and how steep the curve is.

Pure: `predict` reads earlier searches' records (kept by `vmafx.tune.history`, later by the
controller) for the same encoder, preset and metric; without any it uses rough per-encoder
starting points (typical 8-bit content at medium presets), which one finished search replaces.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Sequence

from vmafx.tune.search import Prior

#: encoder → (CRF giving VMAF 93, VMAF per CRF unit near it): a start when nothing was learned.
DEFAULTS: dict[str, tuple[float, float]] = {
    "libx264": (24.0, -1.2),
    "libx265": (25.0, -1.1),
    "libsvtav1": (34.0, -0.7),
    "libaom-av1": (30.0, -0.7),
    "libvpx-vp9": (34.0, -0.6),
}
_HARDWARE_DEFAULT = (25.0, -1.0)


@dataclasses.dataclass(frozen=True)
class Record:
    """One finished search, as remembered: its key, target, answer and what it measured."""

    encoder: str
    preset: str
    metric: str
    target: float
    crf: float
    slope: float
    sample_bias: float
    #: The kind of cheap probe that bias belongs to (sample or subsampled).
    cheap_kind: str = "sample"

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def predict(
    records: Sequence[Record],
    *,
    encoder: str,
    preset: str,
    metric: str,
    target: float,
    cheap_kind: str = "sample",
) -> Prior:
    """The CRF expected to reach `target`, the slope there and the cheap probes' bias."""
    same = [r for r in records if (r.encoder, r.preset, r.metric) == (encoder, preset, metric)]
    if not same:
        crf93, slope = DEFAULTS.get(encoder, _HARDWARE_DEFAULT)
        return Prior(crf=crf93 + (target - 93.0) / slope, slope=slope, source="defaults")
    slope = statistics.median(r.slope for r in same)
    crfs = [r.crf + (target - r.target) / (r.slope if r.slope < -0.05 else slope) for r in same]
    kind = [r.sample_bias for r in same if r.cheap_kind == cheap_kind]
    return Prior(
        crf=statistics.median(crfs),
        slope=slope,
        sample_bias=statistics.median(kind) if kind else 0.0,
        source=f"{len(same)} earlier search{'es' if len(same) != 1 else ''}",
    )
