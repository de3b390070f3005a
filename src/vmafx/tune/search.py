"""The target-quality CRF search, as a pure function of an `evaluate` callable.

`search_crf(evaluate, settings, prior)` answers the highest CRF on the grid lo, lo+step, …, hi
whose VMAF over the whole input is ≥ target. It never runs anything itself: `evaluate(crf, kind)`
does (ffmpeg on this machine through `vmafx.tune.evaluator`, a lookup table in tests and in the
benchmark, probe jobs on a farm later). Two kinds are asked for:

- "cheap": an estimate (an encode of sample segments, or of the whole input scored on every
  n-th frame when the input is too short for samples). Its VMAF differs from the whole input's
  by a bias that the first full measurement reveals.
- "full": the whole input encoded at full quality and scored on every frame. A passing one is
  the deliverable.

Stage A spends cheap probes: the first at the prior's prediction, the next where the monotone fit
of *every* cheap point (with the prior's slope outside them) crosses the target, until the
crossing is bracketed closely. Stage B spends full probes: at the fitted crossing corrected by
the bias, then one step up only when the fit cannot rule it out (within `margin` of the target),
and down until a full measurement passes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

from vmafx.tune.curve import DEFAULT_SLOPE, MonotoneCurve

CHEAP, FULL = "cheap", "full"


@dataclasses.dataclass(frozen=True)
class Measurement:
    """What one evaluation measured and what it cost."""

    vmaf: float
    frames_encoded: int
    frames_scored: int
    seconds: float
    #: sample | subsampled | full: what was actually done.
    kind: str
    size_bytes: int | None = None
    kbps: float | None = None
    #: Served from the probe cache (nothing was encoded or scored now; the cost is the original's).
    cached: bool = False
    encoder: str = ""


@dataclasses.dataclass(frozen=True)
class Probe:
    crf: float
    stage: str
    measurement: Measurement

    @property
    def vmaf(self) -> float:
        return self.measurement.vmaf


Evaluate = Callable[[float, str], Measurement]


@dataclasses.dataclass(frozen=True)
class Prior:
    """What is expected before the first probe."""

    crf: float
    #: VMAF per CRF unit near the target (negative).
    slope: float = DEFAULT_SLOPE
    #: Expected full VMAF minus cheap VMAF at the same CRF.
    sample_bias: float = 0.0
    source: str = "defaults"


@dataclasses.dataclass(frozen=True)
class SearchSettings:
    target: float
    lo: float
    hi: float
    step: float = 1.0
    tolerance: float = 0.0
    max_cheap: int = 5
    #: Full probes spent going *up* (to prove or find a higher passing CRF), the first included.
    max_full_up: int = 2
    #: A step up is measured only when the fit puts it within this much of the target.
    margin: float = 0.5
    #: Stage A stops once the crossing is bracketed by cheap points at most this many steps apart.
    bracket_steps: int = 2

    def __post_init__(self) -> None:
        if not 0 <= self.target <= 100:
            raise ValueError(f"target {self.target} is outside 0–100")
        if self.step <= 0 or self.hi < self.lo:
            raise ValueError("need step > 0 and lo ≤ hi")

    def snap(self, crf: float) -> float:
        """The highest grid CRF ≤ crf, clamped to [lo, hi]."""
        k = math.floor((crf - self.lo) / self.step + 1e-9)
        return min(self.hi, max(self.lo, self.lo + k * self.step))

    def on_grid(self, crf: float) -> float:
        return round(crf, 6)


@dataclasses.dataclass(frozen=True)
class SearchResult:
    crf: float | None
    vmaf: float | None
    hit: bool
    probes: tuple[Probe, ...]
    #: The best full measurement (highest VMAF) when the target was not reached.
    best: Probe | None
    #: Why the search stopped, in words.
    reason: str
    sample_bias: float
    slope: float


class _State:
    def __init__(self, evaluate: Evaluate, settings: SearchSettings, prior: Prior) -> None:
        self.evaluate = evaluate
        self.s = settings
        self.prior = prior
        self.cheap: dict[float, float] = {}
        self.full: dict[float, float] = {}
        self.probes: list[Probe] = []

    def measure(self, crf: float, stage: str) -> float:
        crf = self.s.on_grid(crf)
        book = self.cheap if stage == CHEAP else self.full
        if crf in book:
            return book[crf]
        m = self.evaluate(crf, stage)
        self.probes.append(Probe(crf, stage, m))
        book[crf] = m.vmaf
        return m.vmaf

    def cheap_curve(self) -> MonotoneCurve | None:
        if not self.cheap:
            return None
        return MonotoneCurve.fit(list(self.cheap.items()), outside_slope=self.prior.slope)

    def bias(self) -> float:
        """Full minus cheap VMAF, from full points where the cheap fit is well determined (at a
        cheap point, or between cheap points at most `bracket_steps` apart); else the prior's."""
        curve = self.cheap_curve()
        if curve is None:
            return 0.0
        offsets = [v - curve(c) for c, v in self.full.items() if self.determined(c)]
        return sum(offsets) / len(offsets) if offsets else self.prior.sample_bias

    def determined(self, crf: float) -> bool:
        """Is the fit at `crf` an interpolation between close measured points?"""
        if crf in self.cheap:
            return True
        below = [c for c in self.cheap if c < crf]
        above = [c for c in self.cheap if c > crf]
        span = self.s.bracket_steps * self.s.step + 1e-9
        return bool(below and above) and min(above) - max(below) <= span

    def predicted(self, crf: float) -> float:
        """Full VMAF at crf: measured, else the cheap fit plus the bias, else the prior line."""
        crf = self.s.on_grid(crf)
        if crf in self.full:
            return self.full[crf]
        curve = self.cheap_curve()
        if curve is not None:
            return curve(crf) + self.bias()
        return self.s.target + self.prior.slope * (crf - self.prior.crf)

    def full_curve_crossing(self) -> float:
        """Highest CRF predicted to pass, from one monotone fit of every point: cheap ones
        shifted by the bias, full ones as measured (they override a cheap one at their CRF)."""
        s = self.s
        bias = self.bias()
        points = {c: v + bias for c, v in self.cheap.items()}
        points.update(self.full)
        curve = MonotoneCurve.fit(list(points.items()), outside_slope=self.prior.slope)
        return curve.crossing(s.target, s.lo, s.hi)


def _stage_a(state: _State) -> None:
    s = state.s
    target = s.target - state.prior.sample_bias
    crf = s.snap(state.prior.crf)
    for _ in range(s.max_cheap):
        state.measure(crf, CHEAP)
        curve = state.cheap_curve()
        assert curve is not None
        est = curve.crossing(target, s.lo, s.hi)
        below = [c for c, v in state.cheap.items() if v >= target]
        above = [c for c, v in state.cheap.items() if v < target]
        if est >= s.hi and s.hi in state.cheap and state.cheap[s.hi] >= target:
            return
        if est < s.lo and s.lo in state.cheap:
            return
        if below and above and min(above) - max(below) <= s.bracket_steps * s.step + 1e-9:
            return
        nxt = s.snap(est)
        if s.on_grid(nxt) in state.cheap:
            up = s.on_grid(min(s.hi, nxt + s.step))
            if up in state.cheap:
                return
            nxt = up
        crf = nxt


def search_crf(evaluate: Evaluate, settings: SearchSettings, prior: Prior) -> SearchResult:
    """Find the highest grid CRF whose full VMAF ≥ target (see the module docstring)."""
    state = _State(evaluate, settings, prior)
    _stage_a(state)
    return _stage_b(state)


def _stage_b(state: _State) -> SearchResult:
    s = state.s
    crf = s.snap(max(s.lo, state.full_curve_crossing()))
    up_spent = failed_down = 0
    while True:
        vmaf = state.measure(crf, FULL)
        if vmaf >= s.target:
            up_spent += 1
            passing = crf
            if s.tolerance > 0 and vmaf <= s.target + s.tolerance:
                return _done(state, passing, "within the tolerance")
            if passing >= s.hi:
                return _done(state, passing, "the highest CRF in range reaches the target")
            nxt = s.on_grid(passing + s.step)
            if nxt in state.full:
                return _done(state, passing, "the next step was measured below the target")
            if up_spent >= s.max_full_up:
                return _done(state, passing, "full-encode budget spent going up")
            if state.determined(nxt) and state.predicted(nxt) < s.target - s.margin:
                return _done(state, passing, "the fit puts the next step below the target")
            crf = max(nxt, s.snap(state.full_curve_crossing()))
            continue
        passing_below = [c for c, v in state.full.items() if v >= s.target and c < crf]
        floor = max(passing_below) if passing_below else None
        if floor is not None and floor + s.step >= crf - 1e-9:
            return _done(state, floor, "the next step was measured below the target")
        if crf <= s.lo:
            return _unreachable(state)
        est = s.snap(state.full_curve_crossing())
        failed_down += 1
        nxt = min(est, crf - s.step)
        if failed_down >= 2:  # the fit keeps overshooting: bisect toward what passes
            nxt = min(nxt, s.snap(((floor if floor is not None else s.lo) + crf) / 2))
        crf = max(s.lo, nxt)
        if floor is not None:
            crf = max(crf, floor + s.step)


def _done(state: _State, crf: float, reason: str) -> SearchResult:
    return SearchResult(
        crf=crf,
        vmaf=state.full[crf],
        hit=True,
        probes=tuple(state.probes),
        best=None,
        reason=reason,
        sample_bias=state.bias(),
        slope=_slope(state),
    )


def _unreachable(state: _State) -> SearchResult:
    fulls = [p for p in state.probes if p.stage == FULL]
    best = max(fulls, key=lambda p: (p.vmaf, -p.crf))
    return SearchResult(
        crf=None,
        vmaf=None,
        hit=False,
        probes=tuple(state.probes),
        best=best,
        reason=f"even CRF {best.crf:g} (the lowest in range) gives VMAF {best.vmaf:.2f}",
        sample_bias=state.bias(),
        slope=_slope(state),
    )


def _slope(state: _State) -> float:
    points = state.cheap or state.full
    if len(points) < 2:
        return state.prior.slope
    curve = MonotoneCurve.fit(list(points.items()), outside_slope=state.prior.slope)
    xs = sorted(points)
    middle = min(xs, key=lambda c: abs(curve(c) - state.s.target))
    slope = curve.slope_at(middle, width=max(state.s.step, 1.0))
    return slope if slope < -0.05 else state.prior.slope
