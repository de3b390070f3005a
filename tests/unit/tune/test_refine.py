"""Where a ladder measures: `vmafx.tune.refine` and `build_ladder` on model titles (pure)."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmafx.tune.gains import PredictionNoise, expected_gain, hull_gain
from vmafx.tune.hull import Point, bd_rate, upper_hull
from vmafx.tune.ladder import LadderRequest, build_ladder, crf_grid
from vmafx.tune.refine import make_plan, next_probes, predictions
from vmafx.tune.search import Measurement

SIZES = ((1280, 720), (854, 480), (640, 360))


def title(mid: float, width: float, caps: tuple[float, ...], bases: tuple[float, ...]):  # type: ignore[no-untyped-def]
    """A model title: per size, VMAF a logistic of the CRF under a cap (smaller sizes lose
    detail), bitrate halving every 6 CRF from a base (smaller sizes cost less)."""

    def point(width_px: int, height: int, crf: float) -> Point:
        k = [h for _, h in SIZES].index(height)
        vmaf = caps[k] / (1 + math.exp((crf - mid + 3 * k) / width))
        kbps = bases[k] * 2 ** (-(crf - 18) / 6)
        return Point(width_px, height, crf, kbps, vmaf)

    return point


TITLES = [
    title(36, 5, (100, 93, 84), (8000, 3600, 2000)),
    title(30, 4, (100, 96, 90), (12000, 5000, 2400)),
    title(40, 7, (99, 90, 78), (5000, 2600, 1500)),
    title(33, 3, (100, 94, 86), (9000, 3000, 1200)),
]


def grid_hull(point) -> list[Point]:  # type: ignore[no-untyped-def]
    return upper_hull([point(w, h, c) for w, h in SIZES for c in range(18, 43)])


def ladder(point, refine: bool, **extra: object):  # type: ignore[no-untyped-def]
    asked: list[tuple[int, int, float]] = []

    def at(width: int, height: int, crf: float) -> Measurement:
        asked.append((width, height, crf))
        p = point(width, height, crf)
        return Measurement(p.vmaf, 10, 10, 0.1, "full", None, p.kbps, False)

    request = LadderRequest((720, 480, 360), crf_grid(18, 42, 6), rungs=4, refine=refine, **extra)  # type: ignore[arg-type]
    return build_ladder(request, 1280, 720, at), asked


def test_over_the_model_titles_the_refined_ladder_is_within_1_percent_and_beats_the_grid() -> None:
    ours, theirs = [], []
    for point in TITLES:
        anchor = grid_hull(point)
        ours.append(bd_rate(list(ladder(point, refine=True)[0].hull), anchor) or 0.0)
        theirs.append(bd_rate(list(ladder(point, refine=False)[0].hull), anchor) or 0.0)
    assert sum(ours) / len(ours) < 0.5 < sum(theirs) / len(theirs)


@pytest.mark.parametrize("index", range(len(TITLES)))
def test_the_refined_ladder_beats_the_even_grid_at_the_same_budget(index: int) -> None:
    point = TITLES[index]
    anchor = grid_hull(point)
    refined, asked = ladder(point, refine=True)
    even, _ = ladder(point, refine=False)
    assert len(asked) == len(set(asked)) == 18  # the budget: 6 per size, nothing twice
    assert refined.encodes == 18
    ours, theirs = bd_rate(list(refined.hull), anchor), bd_rate(list(even.hull), anchor)
    assert ours is not None and theirs is not None
    # (VMAF is kept to 3 decimals: a hull of the grid's own points is at most 0.01 % off)
    assert -0.01 <= ours <= theirs + 0.01
    assert ours < 1.0


@settings(max_examples=12, deadline=None)
@given(
    mid=st.floats(26, 44),
    width=st.floats(2.5, 9),
    caps=st.tuples(st.floats(95, 100), st.floats(85, 95), st.floats(70, 85)),
    base=st.floats(2000, 20000),
    ratios=st.tuples(st.floats(0.3, 0.6), st.floats(0.3, 0.6)),
    budget=st.integers(9, 24),
)
def test_refinement_spends_its_budget_on_new_points_and_keeps_the_hull_concave(
    mid: float,
    width: float,
    caps: tuple[float, float, float],
    base: float,
    ratios: tuple[float, float],
    budget: int,
) -> None:
    point = title(mid, width, caps, (base, base * ratios[0], base * ratios[0] * ratios[1]))
    result, asked = ladder(point, refine=True, budget=budget)
    assert len(asked) == len(set(asked)) <= budget
    assert all(18 <= c <= 42 and c == int(c) for _, _, c in asked)
    # every size got its coarse points (the ends and the middle) before any refinement
    assert {(h, c) for _, h, c in asked[:9]} == {
        (h, c) for h in (720, 480, 360) for c in (18.0, 30.0, 42.0)
    }
    xs = [math.log(p.kbps) for p in result.hull]
    ys = [p.vmaf for p in result.hull]
    slopes = [(ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i]) for i in range(len(xs) - 1)]
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(slopes))
    anchor = grid_hull(point)
    assert (bd_rate(list(result.hull), anchor) or 0.0) >= -0.01  # never beats what it samples


def test_a_batch_is_distinct_unmeasured_and_within_the_budget() -> None:
    point = TITLES[0]
    plan = make_plan(SIZES, crf_grid(18, 42, 6))
    measured: list[Point] = []
    first = next_probes(plan, measured, batch=5)
    assert first == [(w, h, 42.0) for w, h in SIZES]  # coarse: every size at once
    while len(measured) < 9:
        measured += [point(*p) for p in next_probes(plan, measured)]
    batch = next_probes(plan, measured, batch=5)
    assert len(batch) == len(set(batch)) == 5
    assert not {(p.width, p.height, p.crf) for p in measured} & set(batch)
    measured += [point(*p) for p in batch]
    assert len(next_probes(plan, measured, batch=50)) == 18 - len(measured)
    measured += [point(*p) for p in next_probes(plan, measured, batch=50)]
    assert next_probes(plan, measured, batch=5) == []


def test_top_vmaf_puts_the_dearest_coarse_point_where_the_fit_reaches_it() -> None:
    point = TITLES[0]
    result, asked = ladder(point, refine=True, top_vmaf=95.0)
    top = [c for w, h, c in asked if h == 720]
    assert top[:2] == [42.0, 30.0] and top[2] > 18.0  # the fit of 42 and 30 reaches 95 above 18
    reaching = [c for w, h, c in asked if h == 720 and point(w, h, c).vmaf >= 95]
    assert reaching and not [c for c in top if c < max(reaching)]
    assert result.hull[-1].vmaf >= 95


def test_a_resolution_the_others_dominate_gets_only_its_coarse_points() -> None:
    # 480p costs nearly what 720p does for less VMAF than 360p gives at a third of the bits
    point = title(34, 5, (100, 80, 88), (8000, 7000, 2000))
    dominated = [point(854, 480, c) for c in range(18, 43)]
    hull = grid_hull(point)
    assert not [p for p in dominated if p in hull]  # the model title is what the test says
    _, asked = ladder(point, refine=True)
    assert len(asked) == 18
    assert sorted(c for _, h, c in asked if h == 480) == [18.0, 30.0, 42.0]
    assert len([1 for _, h, _ in asked if h != 480]) == 15  # the rest went to the others


def test_expected_gain_sees_a_prediction_just_under_the_hull_and_not_one_far_under_it() -> None:
    hull = [Point(640, 360, 42, 100, 40.0), Point(1280, 720, 30, 400, 80.0)]
    on_chord = Point(854, 480, 36, 200, 60.0)  # log-midpoint, on the segment
    just_under = dataclasses.replace(on_chord, vmaf=59.8)
    far_under = dataclasses.replace(on_chord, vmaf=45.0)
    noise = PredictionNoise()
    assert hull_gain(hull, just_under, np.linspace(40, 80, 200)) == 0
    assert expected_gain(hull, just_under, 3, noise) > 0
    assert expected_gain(hull, far_under, 3, noise) == 0
    # farther from a measured point, less is known: more of the outcomes move the hull
    assert expected_gain(hull, just_under, 6, noise) > expected_gain(hull, just_under, 1, noise)
    # and a point above the hull keeps roughly its plain gain (some outcomes gain less)
    above = dataclasses.replace(on_chord, vmaf=66.0)
    plain = hull_gain(hull, above, np.linspace(40, 80, 200))
    assert plain > 0
    assert expected_gain(hull, above, 1, noise) == pytest.approx(plain, rel=0.1)


def test_when_no_prediction_gains_the_next_probe_is_the_best_expected_gain() -> None:
    # every size on one convex curve in (log kbps, VMAF): the hull is the chord of its ends, no
    # prediction rises above it, so the refinement explores
    def flat(width: int, height: int, crf: float) -> Point:
        k = [h for _, h in SIZES].index(height)
        log_kbps = math.log(4000) - (crf - 18) * math.log(2) / 6 - 0.7 * k
        return Point(width, height, crf, math.exp(log_kbps), 1.2 * log_kbps**2)

    plan = make_plan(SIZES, crf_grid(18, 42, 6), budget=12)
    measured: list[Point] = []
    while len(measured) < 9:
        measured += [flat(*p) for p in next_probes(plan, measured)]
    (probe,) = next_probes(plan, measured)
    guesses = predictions(plan, measured)
    ys = np.linspace(min(p.vmaf for p in measured), max(p.vmaf for p in measured), 200)
    assert max(hull_gain(measured, g, ys) for g in guesses) == 0
    scores = {
        (g.width, g.height, g.crf): expected_gain(
            measured, g, min(abs(g.crf - c) for c in (18, 30, 42)), plan.noise or PredictionNoise()
        )
        for g in guesses
    }
    assert max(scores.values()) > 0
    assert scores[probe] == max(scores.values())
    without = dataclasses.replace(plan, noise=None)
    assert next_probes(without, measured) != [probe]  # the box exploration would pick elsewhere


def _gains(plan, measured):  # type: ignore[no-untyped-def]
    """Every prediction with its hull gain, largest first (ties in prediction order)."""
    ys = np.linspace(upper_hull(measured)[0].vmaf, upper_hull(measured)[-1].vmaf, 200)
    scored = [(hull_gain(measured, g, ys), g) for g in predictions(plan, measured)]
    return sorted(scored, key=lambda t: -t[0])


def _looked_ahead(plan, measured, gain: float, guess: Point) -> float:  # type: ignore[no-untyped-def]
    """The gain of `guess` plus 1/2 and 1/4 of the greedy picks' gains after it."""
    believed, total = [*measured, guess], gain
    for weight in (0.5, 0.25):
        after = _gains(plan, believed)
        if not after or after[0][0] <= 0:
            break
        total += weight * after[0][0]
        believed.append(after[0][1])
    return total


def test_each_pick_looks_two_greedy_picks_ahead_and_sometimes_that_changes_it() -> None:
    changed = checked = 0
    for point in TITLES:
        plan = make_plan(SIZES, crf_grid(18, 42, 6), budget=18)
        greedy = dataclasses.replace(plan, lookahead=1)
        measured: list[Point] = []
        while len(measured) < 9:
            measured += [point(*p) for p in next_probes(plan, measured)]
        while probes := next_probes(plan, measured):
            ranked = _gains(plan, measured)
            if ranked[0][0] > 0:  # (else it explores: test_when_no_prediction_gains_…)
                first = ranked[0][1]
                assert next_probes(greedy, measured) == [(first.width, first.height, first.crf)]
                scores = {
                    (p.width, p.height, p.crf): _looked_ahead(plan, measured, g, p)
                    for g, p in ranked[:6]
                }
                assert scores[probes[0]] == pytest.approx(max(scores.values()))
                changed += probes[0] != (first.width, first.height, first.crf)
                checked += 1
            measured.append(point(*probes[0]))
    assert checked > 20
    assert changed > 0  # the look-ahead is not the greedy pick under another name
