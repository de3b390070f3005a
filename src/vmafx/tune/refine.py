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
   integrates; `vmafx.tune.gains`). Predictions far under the hull (a resolution where
   another one wins) score zero, so the budget goes to the knees of each resolution's curve
   and to the crossovers where the hull switches resolution. The pick looks two steps ahead:
   of the LOOKAHEAD predictions of largest gain, the one whose gain plus half the gain of the
   greedy pick after it plus a quarter of the next (each believed at its prediction) is
   largest, so a pick that takes a little more now but spoils the next ones loses. It is
   measured, the fits are redone, the next is picked, until the budget is spent.
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
predicted one for every pick, coarse CRFs shifted per resolution) is not kept.

A batch larger than one (a farm with idle nodes) is picked greedily, each pick counted as
measured at its prediction before the next ("kriging believer"): the batch spreads over
different parts of the hull instead of piling onto one.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from vmafx.tune.curve import MonotoneCurve
from vmafx.tune.gains import PredictionNoise, expected, gain, hull_x, levels
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
#: The predictions' errors the exploration expects (see `PredictionNoise`).
NOISE = PredictionNoise()
#: Candidates of largest gain looked ahead from (1: the plain greedy pick); see `_looked_ahead`.
LOOKAHEAD = 6
#: Greedy picks played out after each of them, and the weight of each next one.
LOOKAHEAD_DEPTH = 2
LOOKAHEAD_DISCOUNT = 0.5


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
    noise: PredictionNoise | None = NOISE
    #: How many of the candidates of largest gain are looked ahead from (1: none).
    lookahead: int = LOOKAHEAD


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


def _distance(measured: Sequence[Point], guess: Point) -> float:
    crfs = [p.crf for p in _at(measured, (guess.width, guess.height))]
    return min(abs(c - guess.crf) for c in crfs) if crfs else 0.0


def _ranked(
    plan: Plan, believed: Sequence[Point], noise: PredictionNoise | None = None
) -> list[tuple[float, Point]]:
    """Every prediction with its gain (`noise`: expected gain), largest first."""
    hull = upper_hull(_usable(plan, believed))
    if len(hull) < 2:
        return []
    ys = levels(hull)
    before = hull_x(hull, ys)
    assert before is not None
    out: list[tuple[float, Point]] = []
    for guess in predictions(plan, believed):
        if plan.max_kbps is not None and guess.kbps > plan.max_kbps:
            continue
        if noise is None:
            out.append((gain(before, hull, guess, ys), guess))
        else:
            distance = _distance(believed, guess)
            out.append((expected(before, hull, guess, ys, distance, noise), guess))
    return sorted(out, key=lambda t: -t[0])  # stable: ties keep the predictions' order


def _best_guess(
    plan: Plan, believed: Sequence[Point], noise: PredictionNoise | None = None
) -> tuple[float, Point] | None:
    """The prediction with the largest gain (`noise`: expected gain) and that gain."""
    ranked = _ranked(plan, believed, noise)
    return ranked[0] if ranked else None


def _looked_ahead(plan: Plan, believed: Sequence[Point]) -> tuple[float, Point] | None:
    """Of the `plan.lookahead` predictions of largest gain, the one whose gain plus the gains
    of the greedy picks that would follow it (each believed at its prediction, weighted
    LOOKAHEAD_DISCOUNT, its square, …) is largest: a pick that leaves gains for the next ones
    beats one that takes a little more now and spoils them. The score returned is that sum."""
    ranked = _ranked(plan, believed)
    if not ranked or plan.lookahead <= 1 or ranked[0][0] <= plan.min_gain:
        return ranked[0] if ranked else None
    best: tuple[float, Point] | None = None
    for first, guess in ranked[: plan.lookahead]:
        total, weight, then = first, 1.0, [*believed, guess]
        for _ in range(LOOKAHEAD_DEPTH):
            after = _best_guess(plan, then)
            if after is None or after[0] <= 0:
                break
            weight *= LOOKAHEAD_DISCOUNT
            total += weight * after[0]
            then.append(after[1])
        if best is None or total > best[0]:
            best = (total, guess)
    return best


def _refinements(plan: Plan, measured: Sequence[Point], count: int) -> list[Probe]:
    believed = list(measured)
    picked: list[Probe] = []
    explore = dataclasses.replace(plan, optimism=EXPLORE)
    for _ in range(count):
        best = _looked_ahead(plan, believed)
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
