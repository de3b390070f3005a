"""What a search measures and on which frames: metrics, quality parameters, sample segments. Pure.

Samples: a few short segments spread evenly over the input, concatenated into one clip that is
encoded and scored as a whole. Long inputs get up to `MAX_SEGMENTS` segments of `SAMPLE_S`
seconds (one per `EVERY_S`); short ones get two shorter segments; the samples never exceed a third
of the input. An input too short for two segments of `MIN_SEGMENT_FRAMES` frames has no samples:
its cheap probes encode the whole input and score every n-th frame instead.
"""

from __future__ import annotations

import dataclasses
import math

from vmafx.core.specs import TUNE_METRICS
from vmafx.errors import UsageError

#: --metric → (libvmaf model, pooled statistic); a farm tune job's `metric` takes the same.
METRICS: dict[str, tuple[str, str]] = dict(TUNE_METRICS)
SAMPLE_S = 2.0
EVERY_S = 30.0
MAX_SEGMENTS = 12
MIN_SEGMENT_FRAMES = 8
#: Samples never cover more than this share of the input.
MAX_SHARE = 1 / 3
#: Frames scored by a subsampled probe (every n-th frame, n chosen to score about this many).
SUBSAMPLED_FRAMES = 24

#: Quality range per encoder family: (name of the parameter, lowest, highest, default min, max).
_RANGES: dict[str, tuple[str, int, int, int, int]] = {
    "x264": ("crf", 0, 51, 10, 45),
    "x265": ("crf", 0, 51, 10, 45),
    "svtav1": ("crf", 1, 63, 10, 60),
    "aom": ("crf", 0, 63, 10, 60),
    "vpx": ("crf", 0, 63, 10, 60),
    "nvenc": ("cq", 1, 51, 10, 45),
    "qsv": ("cq", 1, 51, 10, 45),
    "amf": ("qp", 0, 51, 10, 45),
    "vaapi": ("qp", 1, 51, 10, 45),
}


@dataclasses.dataclass(frozen=True)
class QualityScale:
    parameter: str
    lowest: int
    highest: int
    default_min: int
    default_max: int


def quality_scale(family: str, codec: str) -> QualityScale:
    """The quality parameter of an encoder family and its range (AV1/VP9 hardware: 0–63)."""
    name, low, high, dmin, dmax = _RANGES[family]
    if family in ("nvenc", "amf", "vaapi", "qsv") and codec in ("av1", "vp9"):
        high, dmax = 63, 60
    return QualityScale(name, low, high, dmin, dmax)


def metric(name: str) -> tuple[str, str]:
    try:
        return METRICS[name]
    except KeyError:
        raise UsageError(
            f"metric {name!r} is not one the tuner knows.",
            hint=f"Use one of: {', '.join(METRICS)}.",
        ) from None


def metric_label(name: str | None) -> str:
    """How tables and messages name a metric: VMAF (vmaf_v0.6.1's mean), p5 VMAF, vmaf_neg…"""
    return {None: "VMAF", "vmaf": "VMAF", "p5": "p5 VMAF"}.get(name, str(name))


@dataclasses.dataclass(frozen=True)
class Segment:
    start: int
    frames: int


def plan_samples(frames: int, fps: float) -> tuple[Segment, ...]:
    """Sample segments for an input of `frames` frames (empty: too short for samples)."""
    segment = min(round(SAMPLE_S * fps), math.floor(frames * MAX_SHARE / 2))
    if segment < MIN_SEGMENT_FRAMES:
        return ()
    count = min(MAX_SEGMENTS, max(2, math.ceil(frames / (EVERY_S * fps))))
    count = max(2, min(count, math.floor(frames * MAX_SHARE / segment)))
    out = []
    for i in range(count):
        centre = (i + 0.5) * frames / count
        start = max(0, min(frames - segment, round(centre - segment / 2)))
        out.append(Segment(start, segment))
    return tuple(out)


def subsample_for(frames: int) -> int:
    """libvmaf's n_subsample for a cheap probe of a whole input: about SUBSAMPLED_FRAMES scored."""
    return max(1, frames // SUBSAMPLED_FRAMES)
