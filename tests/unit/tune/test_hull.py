"""The convex hull and rung picking, as pure functions."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmafx.tune.hull import (
    Gap,
    Point,
    bd_rate,
    restrict,
    rungs_for_targets,
    rungs_spread,
    thin,
    upper_hull,
)


def pt(height: int, crf: float, kbps: float, vmaf: float) -> Point:
    return Point(height * 16 // 9, height, crf, kbps, vmaf)


POINTS = [
    pt(240, 30, 200, 60), pt(240, 24, 400, 70), pt(240, 18, 900, 74),
    pt(480, 30, 450, 75), pt(480, 24, 900, 84), pt(480, 18, 2000, 88),
    pt(720, 30, 1000, 85), pt(720, 24, 2000, 93), pt(720, 18, 4500, 97),
]  # fmt: skip


def test_the_hull_keeps_the_best_point_per_bitrate_region() -> None:
    hull = [(p.height, p.crf) for p in upper_hull(POINTS)]
    # 240p CRF 24 lies under the segment from 240p CRF 30 to 480p CRF 30; 240p CRF 18 costs as
    # much as 480p CRF 24 for 10 points less.
    assert hull == [(240, 30), (480, 30), (480, 24), (720, 24), (720, 18)]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(50, 20000), st.floats(20, 100)),
        min_size=1,
        max_size=30,
        unique_by=lambda t: t[0],
    )
)
def test_hull_points_are_concave_and_rising(raw: list[tuple[float, float]]) -> None:
    hull = upper_hull([pt(360, i, k, v) for i, (k, v) in enumerate(raw)])
    assert hull
    xs = [math.log(p.kbps) for p in hull]
    ys = [p.vmaf for p in hull]
    assert all(b > a for a, b in itertools.pairwise(ys))
    slopes = [(ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i]) for i in range(len(hull) - 1)]
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(slopes))
    # no measured point lies above the hull
    for k, v in raw:
        x = math.log(k)
        for i in range(len(hull) - 1):
            if xs[i] <= x <= xs[i + 1]:
                t = (x - xs[i]) / (xs[i + 1] - xs[i])
                assert v <= ys[i] + t * (ys[i + 1] - ys[i]) + 1e-6


def test_targets_pick_the_cheapest_hull_point_reaching_each() -> None:
    rungs = rungs_for_targets(upper_hull(POINTS), [95, 90, 80])
    assert [(p.height, p.crf) for p in rungs] == [(480, 24), (720, 24), (720, 18)]


def test_spread_rungs_include_both_ends() -> None:
    hull = upper_hull(POINTS)
    rungs = rungs_spread(hull, 3)
    assert rungs[0] == hull[0] and rungs[-1] == hull[-1] and len(rungs) == 3


def test_max_kbps_and_top_vmaf_cut_the_hull() -> None:
    hull = upper_hull(POINTS)
    assert max(p.kbps for p in restrict(hull, max_kbps=2500)) <= 2500
    assert restrict(hull, top_vmaf=90)[-1].vmaf == 93


def test_min_gap_thins_rungs_by_ratio_or_vmaf_step() -> None:
    hull = upper_hull(POINTS)
    assert all(
        b.kbps >= 2 * a.kbps
        for a, b in zip(thin(hull, Gap.parse("2x")), thin(hull, Gap.parse("2x"))[1:], strict=False)
    )
    stepped = thin(hull, Gap.parse("10"))
    assert all(b.vmaf - a.vmaf >= 10 for a, b in itertools.pairwise(stepped))


@pytest.mark.parametrize("text", ["0.5x", "abc", "120"])
def test_a_min_gap_that_means_nothing_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Gap.parse(text)


def test_bd_rate_of_a_curve_against_itself_is_zero_and_half_the_bits_is_minus_50() -> None:
    hull = upper_hull(POINTS)
    assert bd_rate(hull, hull) == pytest.approx(0.0, abs=1e-9)
    half = [Point(p.width, p.height, p.crf, p.kbps / 2, p.vmaf) for p in hull]
    assert bd_rate(half, hull) == pytest.approx(-50.0, abs=1e-6)


def test_bd_rate_matches_a_hand_computed_case() -> None:
    """Anchor: (100 kbps, 60) → (1000 kbps, 80). Test: the same ends and (400 kbps, 70) in the
    middle. In log bitrate the test lies above the anchor by a triangle that is 0 at VMAF 60
    and 80 and ln 400 − (ln 100 + ln 10 / 2) = ln(4 / √10) at 70, so the mean difference is
    half of that and BD-rate = (4 / √10)^½ − 1 = +12.47 %."""
    anchor = [pt(360, 30, 100, 60), pt(360, 20, 1000, 80)]
    test = [pt(360, 30, 100, 60), pt(360, 25, 400, 70), pt(360, 20, 1000, 80)]
    expected = ((4 / math.sqrt(10)) ** 0.5 - 1) * 100
    assert expected == pytest.approx(12.47, abs=0.01)
    assert bd_rate(test, anchor, samples=20000) == pytest.approx(expected, abs=0.01)
    assert bd_rate(anchor, test, samples=20000) == pytest.approx(
        ((math.sqrt(10) / 4) ** 0.5 - 1) * 100, abs=0.01
    )
    # Only the overlap counts: a test curve over VMAF 70–90 is compared over 70–80.
    shifted = [pt(360, 25, 400, 70), pt(360, 15, 4000, 90)]
    overlap = bd_rate(shifted, anchor, samples=20000)
    # at 70 the test needs ln 400 − ln(100·√10); at 80, ln(400·√10) − ln 1000: both ln(4/√10)
    assert overlap == pytest.approx((4 / math.sqrt(10) - 1) * 100, abs=0.01)
    assert bd_rate([pt(360, 30, 100, 20), pt(360, 20, 200, 30)], anchor) is None
