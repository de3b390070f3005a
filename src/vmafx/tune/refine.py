"""Which (resolution, CRF) points a per-title ladder measures next. Pure: no process, no clock.

An exhaustive grid (every resolution × every CRF) finds the hull of (log bitrate, VMAF) but
spends most of its encodes on points far below it. `next_probes` spends a budget instead:

1. **Coarse points per resolution**: the cheapest CRF, the middle one, then the dearest. With
   `top_vmaf` the dearest is replaced by the highest CRF the fit of the others predicts to reach
   `top_vmaf` (refitted until a point reaches it: no bits above it); a point over `max_kbps`
   closes the CRFs below it.
2. **Refinement where the hull would move most**: per resolution, two monotone fits of its
   measured points (`MonotoneCurve`: VMAF against CRF, log bitrate against CRF; PCHIP through
   isotonic data) predict every unmeasured CRF. Each prediction is scored by how much it would
   move the hull: the mean log-bitrate saved, over the hull's VMAF range, by the hull with the
   predicted point added against the hull without it (the area between the two: what BD-rate
   integrates). The best is measured, the fits are redone, the next is picked, until the
   budget is spent. Predictions far under the hull (a resolution where another one wins)
   score zero, so the budget goes to the knees of each resolution's curve and to the
   crossovers where the hull switches resolution.
3. **Exploration** when no prediction would move the hull. First by the *expected* gain: a
   prediction is uncertain (its error grows with the CRF distance to the nearest measured point
   of its size, `PredictionNoise`), and the hull gain is zero for every outcome under the hull
   but positive for the outcomes above it, so a prediction that lies just under the hull (or on
   a flat stretch where the bitrate hardly moves and VMAF jumps by noise) still has a positive
   expected gain; the best is measured. Only when no outcome within the noise would move the
   hull, each prediction is pushed to the best its measured neighbours allow by monotonicity
   alone (fewer bits of the next CRF up, more VMAF of the next one down; most in the middle of
   a wide gap): the fits cannot see a knee between two far-apart points, the box can.

How each choice was measured: `benchmarks/tune.py` replays ladders on exhaustive grids
(docs/benchmarks.md, "Ladders"); what lost there (a sandwich-triangle bisection of the hull,
bisecting hull segments by CRF, fewer coarse points with shapes borrowed across resolutions,
linear instead of PCHIP fits, exploring every other pick, the expected gain in place of the
predicted one for every pick) is not kept.

A batch larger than one (a farm with idle nodes) is picked greedily, each pick counted as
measured at its prediction before the next ("kriging believer"): the batch spreads over
different parts of the hull instead of piling onto one.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from vmafx.tune.curve import MonotoneCurve
from vmafx.tune.hull import Point, upper_hull

Size = tuple[int, int]
Probe = tuple[int, int, float]

#: Log-bitrate slope per CRF step outside measured points (x264/x265: half the bits per 6 CRF).
LOG_KBPS_SLOPE = -math.log(2) / 6
#: Stop refining when no prediction would lower the hull's mean log bitrate by this much.
MIN_GAIN = 0.0
#: The optimism of exploration, once the fits predict no gain anywhere.
EXPLORE = 1.0
#: See `Plan.optimism`.
OPTIMISM = 0.0
_SAMPLES = 200
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


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a ladder may measure: the candidate CRFs, the coarse ones, the budget."""

    sizes: tuple[Size, ...]
    #: Every CRF a refinement may pick, ascending.
    candidates: tuple[float, ...]
    #: Measured first at every size: cheapest (highest CRF) first.
    coarse: tuple[float, ...]
    #: Points measured in all (coarse ones included).
    budget: int
    top_vmaf: float | None = None
    max_kbps: float | None = None
    min_gain: float = MIN_GAIN
    #: How far a prediction is pushed toward the best its measured neighbours allow (0: the
    #: fit as is; 1: the corner of their box), most in the middle of a wide gap.
    optimism: float = OPTIMISM
    #: The predictions' uncertainty, for the expected gain of exploration; None: no such step.
    noise: PredictionNoise | None = PredictionNoise()


def make_plan(
    sizes: Sequence[Size],
    crfs: Sequence[float],
    *,
    step: float = 1.0,
    budget: int | None = None,
    top_vmaf: float | None = None,
    max_kbps: float | None = None,
    min_gain: float = MIN_GAIN,
    optimism: float = OPTIMISM,
    coarse_count: int = 3,
) -> Plan:
    """A plan over [min(crfs), max(crfs)] in `step`s; the budget defaults to len(crfs) per size
    (what a grid of `crfs` would spend), the coarse points are its ends and middle."""
    if not crfs:
        raise ValueError("a ladder needs at least one CRF")
    if step <= 0:
        raise ValueError("the CRF step must be above 0")
    ordered = sorted({float(c) for c in crfs})
    lo, hi = ordered[0], ordered[-1]
    count = math.floor((hi - lo) / step + 1e-9)
    candidates = sorted({round(lo + i * step, 6) for i in range(count + 1)} | set(ordered))
    if len(ordered) <= coarse_count:
        coarse = ordered
    else:
        coarse = sorted(
            {
                candidates[round((len(candidates) - 1) * i / (coarse_count - 1))]
                for i in range(coarse_count)
            }
        )
    spend = len(ordered) * len(sizes) if budget is None else budget
    return Plan(
        tuple(sizes),
        tuple(candidates),
        tuple(sorted(coarse, reverse=True)),
        spend,
        top_vmaf,
        max_kbps,
        min_gain,
        optimism,
    )


def next_probes(plan: Plan, measured: Sequence[Point], *, batch: int = 1) -> list[Probe]:
    """The next (width, height, crf) to measure given what is measured; [] when done.

    Coarse points come first, every size's next one at once (they are independent); then up
    to `batch` refinements. Never more than the budget left, never a point already measured.
    """
    left = plan.budget - len(measured)
    if left <= 0:
        return []
    coarse = [p for size in plan.sizes if (p := _next_coarse(plan, size, measured)) is not None]
    if coarse:
        return coarse[:left]
    return _refinements(plan, measured, min(batch, left))


def _at(measured: Sequence[Point], size: Size) -> list[Point]:
    return [p for p in measured if (p.width, p.height) == size]


def _floor(plan: Plan, points: Sequence[Point]) -> float | None:
    """CRFs at or below this are not worth measuring at a size: a higher CRF already reaches
    `top_vmaf` or spends more than `max_kbps`."""
    stops = [
        p.crf
        for p in points
        if (plan.top_vmaf is not None and p.vmaf >= plan.top_vmaf)
        or (plan.max_kbps is not None and p.kbps > plan.max_kbps)
    ]
    return max(stops) if stops else None


def _next_coarse(plan: Plan, size: Size, measured: Sequence[Point]) -> Probe | None:
    """The size's next coarse point (they are measured in order), None once they are done or
    a measured one closes the rest (it reaches `top_vmaf` or spends more than `max_kbps`).
    With `top_vmaf` the dearest one is where the fit predicts `top_vmaf`, and it is moved
    (refitted) until a point reaches it or the CRF it needs was measured."""
    points = _at(measured, size)
    index = len(points)
    floor = _floor(plan, points)
    done = {p.crf for p in points}
    coarse = plan.coarse
    if index < len(coarse):
        crf = coarse[index]
        if crf == plan.coarse[-1] and index >= 1 and plan.top_vmaf is not None:
            crf = _top_crf(plan, points, crf)
    elif plan.top_vmaf is not None and floor is None and index >= 2:
        crf = _top_crf(plan, points, plan.coarse[-1])
    else:
        return None
    if (floor is not None and crf <= floor) or crf in done:
        return None
    return (size[0], size[1], crf)


def _top_crf(plan: Plan, points: Sequence[Point], lowest: float) -> float:
    """The dearest coarse point with `top_vmaf`: the highest candidate CRF predicted to reach
    it (never below `lowest`), so no bits are spent above it."""
    assert plan.top_vmaf is not None
    curve = MonotoneCurve.fit([(p.crf, p.vmaf) for p in points])
    crossing = curve.crossing(plan.top_vmaf, lowest, plan.candidates[-1])
    reaching = [c for c in plan.candidates if lowest <= c <= crossing]
    return max(reaching) if reaching else lowest


def _hull_x(points: Sequence[Point], ys: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    hull = upper_hull(points)
    if len(hull) < 2:
        return None
    hx = np.array([math.log(p.kbps) for p in hull])
    hy = np.array([p.vmaf for p in hull])
    return np.interp(ys, hy, hx), hy


def _usable(plan: Plan, points: Sequence[Point]) -> list[Point]:
    return [p for p in points if p.kbps > 0 and (plan.max_kbps is None or p.kbps <= plan.max_kbps)]


def _size_fits(
    plan: Plan, measured: Sequence[Point]
) -> dict[Size, tuple[MonotoneCurve, MonotoneCurve, list[Point]]]:
    """Per size: the monotone fits of VMAF and of log bitrate against CRF. A size with one
    measured point borrows the shape of the nearest size with two or more, shifted through
    its point (curves of one title at neighbouring sizes run alike)."""
    own: dict[Size, tuple[MonotoneCurve, MonotoneCurve, list[Point]]] = {}
    single: dict[Size, Point] = {}
    for size in plan.sizes:
        points = sorted((p for p in _at(measured, size) if p.kbps > 0), key=lambda p: p.crf)
        if len(points) >= 2:
            vmaf = MonotoneCurve.fit([(p.crf, p.vmaf) for p in points])
            rate = MonotoneCurve.fit(
                [(p.crf, math.log(p.kbps)) for p in points], outside_slope=LOG_KBPS_SLOPE
            )
            own[size] = (vmaf, rate, points)
        elif len(points) == 1:
            single[size] = points[0]
    out = dict(own)
    for size, point in single.items():
        if not own:
            continue
        near = min(own, key=lambda s: abs(plan.sizes.index(s) - plan.sizes.index(size)))
        vmaf, rate, theirs = own[near]
        dv = point.vmaf - vmaf(point.crf)
        dr = math.log(point.kbps) - rate(point.crf)
        shifted = [
            Point(size[0], size[1], p.crf, math.exp(math.log(p.kbps) + dr), p.vmaf + dv)
            for p in theirs
            if p.crf != point.crf
        ]
        fitted = [point, *shifted]
        out[size] = (
            MonotoneCurve.fit([(p.crf, p.vmaf) for p in fitted]),
            MonotoneCurve.fit(
                [(p.crf, math.log(p.kbps)) for p in fitted], outside_slope=LOG_KBPS_SLOPE
            ),
            [point],
        )
    return out


def predictions(plan: Plan, measured: Sequence[Point]) -> list[Point]:
    """Every unmeasured, still-open candidate at every size with a fit (see `_size_fits`), at
    the (kbps, VMAF) the fits predict, pushed by `plan.optimism` toward the best corner of the
    box its measured neighbours bound it to (fewer bits, more VMAF)."""
    out: list[Point] = []
    for size, (vmaf, rate, points) in _size_fits(plan, measured).items():
        done = {p.crf for p in _at(measured, size)}
        floor = _floor(plan, points)
        if floor is None and plan.top_vmaf is not None:
            # nothing measured here reaches top_vmaf yet: no point dearer than where the fit
            # says it is reached
            crossing = vmaf.crossing(plan.top_vmaf, plan.candidates[0], plan.candidates[-1])
            under = [c for c in plan.candidates if c <= crossing]
            floor = under[-1] - 1e-9 if under else None
        for crf in plan.candidates:
            if crf in done or (floor is not None and crf <= floor):
                continue
            x, y = rate(crf), vmaf(crf)
            below = [p for p in points if p.crf < crf]
            above = [p for p in points if p.crf > crf]
            if below and above and plan.optimism > 0:
                a, b = below[-1], above[0]
                t = (crf - a.crf) / (b.crf - a.crf)
                push = plan.optimism * 4 * t * (1 - t)
                x = max(math.log(b.kbps), x - push * (x - math.log(b.kbps)))
                y = min(a.vmaf, y + push * (a.vmaf - y))
            out.append(Point(size[0], size[1], crf, math.exp(x), y))
    return out


def hull_gain(current: Sequence[Point], extra: Point, ys: np.ndarray) -> float:
    """Mean log-bitrate saved over the VMAF levels `ys` by adding `extra` to the hull."""
    before = _hull_x(current, ys)
    if before is None:
        return 0.0
    return _gain(before[0], current, extra, ys)


def _gain(before: np.ndarray, current: Sequence[Point], extra: Point, ys: np.ndarray) -> float:
    after = _hull_x([*current, extra], ys)
    return 0.0 if after is None else float(np.mean(before - after[0]))


def expected_gain(
    current: Sequence[Point], guess: Point, distance: float, noise: PredictionNoise
) -> float:
    """The mean of `hull_gain` over where `guess` may really lie: its VMAF and log bitrate each
    off by a normal error (`noise` at `distance` CRF steps from a measured point), independent,
    integrated on a 3 × 3 Gauss–Hermite grid. Never below the gain of a point on the hull's
    far side of every outcome (0), and above the plain gain where the prediction lies just under
    the hull: some of its outcomes move the hull."""
    hull = upper_hull(current)
    if len(hull) < 2:
        return 0.0
    ys = np.linspace(hull[0].vmaf, hull[-1].vmaf, _SAMPLES)
    before = _hull_x(hull, ys)
    assert before is not None
    return _expected(before[0], hull, guess, ys, distance, noise)


def _expected(
    before: np.ndarray,
    hull: Sequence[Point],
    guess: Point,
    ys: np.ndarray,
    distance: float,
    noise: PredictionNoise,
) -> float:
    sv = noise.vmaf_floor + noise.vmaf_per_step * distance
    sr = noise.log_kbps_floor + noise.log_kbps_per_step * distance
    total = 0.0
    for zv, wv in _NODES:
        for zr, wr in _NODES:
            outcome = dataclasses.replace(
                guess, kbps=guess.kbps * math.exp(zr * sr), vmaf=guess.vmaf + zv * sv
            )
            total += wv * wr * _gain(before, hull, outcome, ys)
    return total


def _distance(measured: Sequence[Point], guess: Point) -> float:
    crfs = [p.crf for p in _at(measured, (guess.width, guess.height))]
    return min(abs(c - guess.crf) for c in crfs) if crfs else 0.0


def _best_guess(
    plan: Plan, believed: Sequence[Point], noise: PredictionNoise | None = None
) -> tuple[float, Point] | None:
    """The prediction with the largest gain (`noise`: expected gain) and that gain."""
    usable = _usable(plan, believed)
    hull = upper_hull(usable)
    if len(hull) < 2:
        return None
    ys = np.linspace(hull[0].vmaf, hull[-1].vmaf, _SAMPLES)
    before = _hull_x(hull, ys)
    assert before is not None
    best: tuple[float, Point] | None = None
    for guess in predictions(plan, believed):
        if plan.max_kbps is not None and guess.kbps > plan.max_kbps:
            continue
        if noise is None:
            gain = _gain(before[0], hull, guess, ys)
        else:
            gain = _expected(before[0], hull, guess, ys, _distance(believed, guess), noise)
        if best is None or gain > best[0]:
            best = (gain, guess)
    return best


def _refinements(plan: Plan, measured: Sequence[Point], count: int) -> list[Probe]:
    believed = list(measured)
    picked: list[Probe] = []
    explore = dataclasses.replace(plan, optimism=EXPLORE)
    for _ in range(count):
        best = _best_guess(plan, believed)
        if (best is None or best[0] <= plan.min_gain) and plan.noise is not None:
            # the fits see nothing left to gain: what would the fits' usual errors uncover?
            best = _best_guess(plan, believed, plan.noise)
        if best is None or best[0] <= plan.min_gain:
            # not even that: explore, trusting only monotonicity
            best = _best_guess(explore, believed)
        if best is None or best[0] <= plan.min_gain:
            break
        guess = best[1]
        picked.append((guess.width, guess.height, guess.crf))
        believed.append(guess)
    return picked
