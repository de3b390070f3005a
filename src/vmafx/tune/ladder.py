"""A per-title ladder: measured points per resolution → upper convex hull → rungs.

`build_ladder` takes an `evaluate_at(width, height, crf)` callable (the ffmpeg evaluator on this
machine, a table in tests, probe jobs on a farm) and spends a budget of full encodes: by
default `len(crfs)` per resolution, placed by `vmafx.tune.refine` (the ends and middle of the
CRF range first, then the CRFs predicted to move the hull most: the knees and the crossovers
between resolutions). `refine=False` keeps the plain grid: every CRF of `crfs` per resolution,
from the cheapest up, stopping once a point reaches `top_vmaf` or exceeds `max_kbps`. Every
point is scored after bicubic upscaling to the source's resolution (the usual convention: what a
player shows on the source-sized screen).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from vmafx.tune.hull import Gap, Point, restrict, rungs_for_targets, rungs_spread, thin, upper_hull
from vmafx.tune.refine import Plan, make_plan, next_probes
from vmafx.tune.search import Measurement

EvaluateAt = Callable[[int, int, float], Measurement]
DEFAULT_RUNGS = 4


@dataclasses.dataclass(frozen=True)
class LadderRequest:
    heights: tuple[int, ...]
    crfs: tuple[float, ...]
    rungs: int | None = None
    targets: tuple[float, ...] = ()
    max_kbps: float | None = None
    top_vmaf: float | None = None
    min_gap: Gap | None = None
    #: Place the points where the hull is uncertain (`vmafx.tune.refine`) instead of measuring
    #: every CRF of `crfs`; refinements may pick any CRF of [min(crfs), max(crfs)] in `step`s.
    refine: bool = True
    step: float = 1.0
    #: Points measured in all; None: len(crfs) per resolution (what the grid would spend).
    budget: int | None = None


@dataclasses.dataclass(frozen=True)
class LadderResult:
    points: tuple[Point, ...]
    hull: tuple[Point, ...]
    rungs: tuple[Point, ...]
    #: Resolutions left out, with why (e.g. above the source's).
    skipped: tuple[str, ...]
    encodes: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "points": [p.as_dict() for p in self.points],
            "hull": [p.as_dict() for p in self.hull],
            "rungs": [p.as_dict() for p in self.rungs],
            "skipped": list(self.skipped),
            "encodes": self.encodes,
            "scored_at": "source resolution (bicubic upscale)",
        }


def sizes(
    source_w: int, source_h: int, heights: Sequence[int]
) -> tuple[list[tuple[int, int]], list[str]]:
    """(width, height) per asked-for height, keeping the aspect ratio with even widths."""
    out: list[tuple[int, int]] = []
    skipped: list[str] = []
    for height in sorted(set(heights), reverse=True):
        if height > source_h:
            skipped.append(f"{height}p is above the source's {source_h}p")
            continue
        width = max(2, round(source_w * height / source_h / 2) * 2)
        out.append((width, height + height % 2))
    return out, skipped


def crf_grid(lo: float, hi: float, count: int) -> tuple[float, ...]:
    """`count` whole CRFs spread evenly over [lo, hi]."""
    if count <= 1:
        return (float(round((lo + hi) / 2)),)
    return tuple(sorted({float(round(lo + (hi - lo) * i / (count - 1))) for i in range(count)}))


def build_ladder(
    request: LadderRequest, source_w: int, source_h: int, evaluate_at: EvaluateAt
) -> LadderResult:
    chosen, skipped = sizes(source_w, source_h, request.heights)
    measure = _measure_refined if request.refine else _measure_grid
    points, encodes = measure(request, chosen, evaluate_at)
    return finish(request, points, skipped, encodes)


def plan_for(request: LadderRequest, chosen: Sequence[tuple[int, int]]) -> Plan:
    """The refinement plan of a request over the chosen sizes (for `vmafx.tune.refine`)."""
    return make_plan(
        chosen,
        request.crfs,
        step=request.step,
        budget=request.budget,
        top_vmaf=request.top_vmaf,
        max_kbps=request.max_kbps,
    )


def finish(
    request: LadderRequest, points: Sequence[Point], skipped: Sequence[str], encodes: int
) -> LadderResult:
    """Hull and rungs of measured points (pure: a farm that measured them calls this too)."""
    hull = restrict(upper_hull(points), max_kbps=request.max_kbps, top_vmaf=request.top_vmaf)
    if request.targets:
        rungs = rungs_for_targets(hull, request.targets)
    else:
        rungs = rungs_spread(hull, request.rungs or DEFAULT_RUNGS)
    rungs = thin(rungs, request.min_gap)
    return LadderResult(tuple(points), tuple(hull), tuple(rungs), tuple(skipped), encodes)


def _point(width: int, height: int, crf: float, m: Measurement) -> Point:
    kbps = m.kbps if m.kbps is not None else 0.0
    return Point(width, height, crf, kbps, round(m.vmaf, 3))


def _measure_refined(
    request: LadderRequest, chosen: Sequence[tuple[int, int]], evaluate_at: EvaluateAt
) -> tuple[list[Point], int]:
    plan = plan_for(request, chosen)
    points: list[Point] = []
    encodes = 0
    while probes := next_probes(plan, points):
        for width, height, crf in probes:
            m = evaluate_at(width, height, crf)
            encodes += not m.cached
            points.append(_point(width, height, crf, m))
    return points, encodes


def _measure_grid(
    request: LadderRequest, chosen: Sequence[tuple[int, int]], evaluate_at: EvaluateAt
) -> tuple[list[Point], int]:
    points: list[Point] = []
    encodes = 0
    for width, height in chosen:
        for crf in sorted(request.crfs, reverse=True):
            m = evaluate_at(width, height, crf)
            encodes += not m.cached
            point = _point(width, height, crf, m)
            points.append(point)
            if request.top_vmaf is not None and m.vmaf >= request.top_vmaf:
                break
            if request.max_kbps is not None and point.kbps > request.max_kbps:
                break
    return points, encodes
