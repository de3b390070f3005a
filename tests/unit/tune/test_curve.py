"""The monotone fit: isotonic regression, then a monotone cubic."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmafx.tune.curve import MonotoneCurve, isotonic_decreasing


def test_isotonic_regression_pools_violators() -> None:
    assert isotonic_decreasing([90, 91, 80]) == [90.5, 90.5, 80]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(0, 100), min_size=2, max_size=12))
def test_the_fit_never_rises_with_crf(values: list[float]) -> None:
    curve = MonotoneCurve.fit([(10 + 3 * i, v) for i, v in enumerate(values)])
    xs = [9 + 0.25 * i for i in range(170)]
    ys = [curve(x) for x in xs]
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(ys))


def test_the_fit_passes_through_monotone_points_and_crosses_between_them() -> None:
    curve = MonotoneCurve.fit([(20, 96.0), (25, 93.0), (30, 88.0)])
    assert curve(25) == 93.0
    assert 25 < curve.crossing(92.0, 10, 51) < 30


def test_one_point_extends_with_the_prior_slope() -> None:
    curve = MonotoneCurve.fit([(30, 90.0)], outside_slope=-2.0)
    assert curve(28) == 94.0
    assert curve.crossing(94.0, 10, 51) == pytest.approx(28.0)
