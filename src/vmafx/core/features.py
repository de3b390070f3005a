"""Feature vector v1: 20 libvmaf per-frame features × (mean, std, p5, p95) = 80 numbers.

The list and order are a contract (trainer input, ONNX model input, corpus columns): change it
only by adding a new schema version. Documented in docs/features.md.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

from vmafx.core.pooling import mean, percentile, std
from vmafx.errors import ScoreLogError

SCHEMA_V1 = "vmafx-features-v1"

#: The 20 per-frame features, by libvmaf's own output names. The first 14 come from the VMAF
#: pass itself; PSNR and MSE per plane (6) come from one `psnr` extractor at no measurable
#: cost. SSIM (+19-28% at 1080p here) and the float moments (+18%) were left out to keep the
#: vector within 1.25x of VMAF alone; docs/features.md has the measurements.
BASE_FEATURES_V1: tuple[str, ...] = (
    "integer_adm2",
    "integer_adm3",
    "integer_aim",
    "integer_adm_scale0",
    "integer_adm_scale1",
    "integer_adm_scale2",
    "integer_adm_scale3",
    "integer_vif_scale0",
    "integer_vif_scale1",
    "integer_vif_scale2",
    "integer_vif_scale3",
    "integer_motion2",
    "integer_motion3",
    "VMAF_integer_feature_motion_sad_score",
    "psnr_y",
    "psnr_cb",
    "psnr_cr",
    "mse_y",
    "mse_cb",
    "mse_cr",
)

STATS_V1: tuple[str, ...] = ("mean", "std", "p5", "p95")

NAMES_V1: tuple[str, ...] = tuple(f"{f}.{s}" for f in BASE_FEATURES_V1 for s in STATS_V1)


@dataclasses.dataclass(frozen=True)
class FeatureVector:
    """The per-pair feature vector the quality model learns from (`schema` names its layout)."""

    schema: str
    names: tuple[str, ...]
    values: tuple[float, ...]

    def as_dict(self) -> dict[str, object]:
        return {"schema": self.schema, "names": list(self.names), "values": list(self.values)}


def _stats(values: Sequence[float]) -> tuple[float, float, float, float]:
    # plain Python, as numpy computes them (`vmafx score` never imports numpy, issue 13);
    # non-finite input gives non-finite figures, reported below
    series = [float(v) for v in values]
    try:
        spread = std(series)
    except (OverflowError, ValueError):
        spread = math.nan
    return mean(series), spread, percentile(series, 5), percentile(series, 95)


def feature_vector_v1(frames: Mapping[str, Sequence[float]], *, where: str = "") -> FeatureVector:
    """The 80-number vector from per-frame series; a missing or non-finite feature is an error."""
    missing = [f for f in BASE_FEATURES_V1 if not frames.get(f)]
    if missing:
        raise ScoreLogError(
            f"libvmaf's log{' for ' + where if where else ''} lacks the per-frame features "
            f"{', '.join(missing)} that feature vector v1 needs.",
            hint="This ffmpeg's libvmaf may be too old (it needs libvmaf 3.x); "
            "or score with --no-features.",
        )
    values: list[float] = []
    for name in BASE_FEATURES_V1:
        values.extend(_stats(frames[name]))
    bad = [NAMES_V1[i] for i, v in enumerate(values) if not math.isfinite(v)]
    if bad:
        raise ScoreLogError(
            f"Feature vector v1{' for ' + where if where else ''} has non-finite values in "
            f"{', '.join(bad[:4])}.",
            hint="This happens with identical or blank frames for some features; "
            "score with --no-features to get the metrics alone.",
        )
    return FeatureVector(SCHEMA_V1, NAMES_V1, tuple(values))
