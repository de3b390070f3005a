"""The upper convex hull of measured (log bitrate, VMAF) points, and rungs picked on it. Pure.

A point on the hull is the best quality any measured (resolution, CRF) gives for its bitrate,
with diminishing returns: between two hull points no mixture of encodes does better. Rungs are
hull points, chosen for quality targets (the cheapest hull point reaching each) or spread evenly
in log bitrate, then thinned so consecutive rungs differ by at least a bitrate ratio or a VMAF
step.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence


@dataclasses.dataclass(frozen=True)
class Point:
    width: int
    height: int
    crf: float
    kbps: float
    vmaf: float

    def as_dict(self) -> dict[str, float | int]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Gap:
    """Minimum distance between consecutive rungs: a bitrate ratio or a VMAF step."""

    ratio: float | None = None
    vmaf: float | None = None

    @classmethod
    def parse(cls, text: str) -> Gap:
        """'1.5x' is a bitrate ratio; '6' a VMAF step. ValueError otherwise."""
        text = text.strip().lower()
        if text.endswith("x"):
            ratio = float(text[:-1])
            if not ratio > 1:
                raise ValueError("a bitrate ratio must be above 1 (e.g. 1.5x)")
            return cls(ratio=ratio)
        step = float(text)
        if not 0 < step < 100:
            raise ValueError("a VMAF step must lie between 0 and 100 (e.g. 6)")
        return cls(vmaf=step)

    def allows(self, lower: Point, upper: Point) -> bool:
        if self.ratio is not None and upper.kbps < lower.kbps * self.ratio:
            return False
        return not (self.vmaf is not None and upper.vmaf - lower.vmaf < self.vmaf)


def _cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def upper_hull(points: Sequence[Point]) -> list[Point]:
    """The points on the upper-left convex hull of (log kbps, VMAF), by rising bitrate.

    Only the rising part is kept: a point that costs more bits for no more quality is off it.
    """
    ordered = sorted((p for p in points if p.kbps > 0), key=lambda p: (math.log(p.kbps), -p.vmaf))
    hull: list[Point] = []
    for p in ordered:
        xy = (math.log(p.kbps), p.vmaf)
        if hull and p.vmaf <= hull[-1].vmaf:
            continue
        while len(hull) >= 2:
            o = (math.log(hull[-2].kbps), hull[-2].vmaf)
            a = (math.log(hull[-1].kbps), hull[-1].vmaf)
            if _cross(o, a, xy) >= 0:  # a lies on or below the segment o→p
                hull.pop()
            else:
                break
        hull.append(p)
    return hull


def restrict(
    hull: Sequence[Point], *, max_kbps: float | None = None, top_vmaf: float | None = None
) -> list[Point]:
    """Drop hull points above `max_kbps`, and every point past the first reaching `top_vmaf`."""
    kept: list[Point] = []
    for p in hull:
        if max_kbps is not None and p.kbps > max_kbps:
            break
        kept.append(p)
        if top_vmaf is not None and p.vmaf >= top_vmaf:
            break
    return kept


def rungs_for_targets(hull: Sequence[Point], targets: Sequence[float]) -> list[Point]:
    """For each target, the cheapest hull point reaching it (the best one if none does)."""
    picked: list[Point] = []
    for target in sorted(targets, reverse=True):
        reaching = [p for p in hull if p.vmaf >= target]
        point = min(reaching, key=lambda p: p.kbps) if reaching else None
        if point is not None and point not in picked:
            picked.append(point)
    return sorted(picked, key=lambda p: p.kbps)


def rungs_spread(hull: Sequence[Point], count: int) -> list[Point]:
    """`count` hull points spread evenly in log bitrate, the cheapest and dearest included."""
    if count <= 0 or not hull:
        return []
    if count >= len(hull):
        return list(hull)
    lo, hi = math.log(hull[0].kbps), math.log(hull[-1].kbps)
    picked: list[Point] = []
    for i in range(count):
        goal = lo + (hi - lo) * i / max(1, count - 1)
        free = [p for p in hull if p not in picked]
        picked.append(min(free, key=lambda p: abs(math.log(p.kbps) - goal)))
    return sorted(picked, key=lambda p: p.kbps)


def thin(rungs: Sequence[Point], gap: Gap | None) -> list[Point]:
    """Drop rungs too close to the one above them (the top rung is always kept)."""
    if gap is None:
        return list(rungs)
    kept: list[Point] = []
    for p in sorted(rungs, key=lambda r: -r.kbps):
        if not kept or gap.allows(p, kept[-1]):
            kept.append(p)
    return sorted(kept, key=lambda r: r.kbps)


def interpolate_kbps(hull: Sequence[Point], vmaf: float) -> float | None:
    """Bitrate at which the hull (linear in log kbps) reaches `vmaf`; None outside it."""
    for a, b in itertools.pairwise(hull):
        if a.vmaf <= vmaf <= b.vmaf:
            t = (vmaf - a.vmaf) / (b.vmaf - a.vmaf) if b.vmaf > a.vmaf else 0.0
            return math.exp(math.log(a.kbps) + t * (math.log(b.kbps) - math.log(a.kbps)))
    return None


def bd_rate(test: Sequence[Point], anchor: Sequence[Point], samples: int = 100) -> float | None:
    """Mean bitrate difference (%) of `test` against `anchor` at equal VMAF over their overlap,
    both read as piecewise-linear curves of log bitrate against VMAF (None without overlap)."""
    lo = max(test[0].vmaf, anchor[0].vmaf) if test and anchor else None
    hi = min(test[-1].vmaf, anchor[-1].vmaf) if test and anchor else None
    if lo is None or hi is None or hi <= lo:
        return None
    diffs = []
    for i in range(samples + 1):
        v = lo + (hi - lo) * i / samples
        a, b = interpolate_kbps(test, v), interpolate_kbps(anchor, v)
        if a is not None and b is not None:
            diffs.append(math.log(a) - math.log(b))
    return (math.exp(sum(diffs) / len(diffs)) - 1) * 100 if diffs else None
