"""PLCC, SROCC and RMSE against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vmafx.ai.figures import Figures, figures, ranks


def test_figures_match_hand_computed_values():
    # p = (1, 2, 3, 5), t = (1, 3, 2, 4): means 2.75 and 2.5
    # dp = (-1.75, -0.75, 0.25, 2.25), dt = (-1.5, 0.5, -0.5, 1.5)
    # Σ dp·dt = 2.625 - 0.375 - 0.125 + 3.375 = 5.5; Σ dp² = 8.75; Σ dt² = 5
    # PLCC = 5.5 / sqrt(43.75); ranks p = (1, 2, 3, 4), t = (1, 3, 2, 4): SROCC = 1 - 6·2/(4·15) = 0.8
    # RMSE = sqrt((0 + 1 + 1 + 1) / 4)
    f = figures(np.array([1.0, 2.0, 3.0, 5.0]), np.array([1.0, 3.0, 2.0, 4.0]))
    assert f.plcc == pytest.approx(5.5 / math.sqrt(43.75), abs=1e-12)
    assert f.srocc == pytest.approx(0.8, abs=1e-12)
    assert f.rmse == pytest.approx(math.sqrt(0.75), abs=1e-12)
    assert f.n == 4


def test_ties_share_their_average_rank():
    assert ranks(np.array([10.0, 20.0, 10.0, 30.0, 20.0])).tolist() == [1.5, 3.5, 1.5, 5.0, 3.5]


def test_a_constant_prediction_has_no_correlation():
    f = figures(np.full(5, 50.0), np.arange(5.0))
    assert math.isnan(f.plcc)
    assert math.isnan(f.srocc)
    assert f.rmse > 0


def test_figures_survive_a_json_round_trip_with_nan_as_null():
    f = Figures(math.nan, 0.5, 2.0, 10)
    assert f.as_dict() == {"plcc": None, "srocc": 0.5, "rmse": 2.0, "n": 10}
    back = Figures.from_dict(f.as_dict())
    assert math.isnan(back.plcc)
    assert (back.srocc, back.rmse, back.n) == (0.5, 2.0, 10)


def test_mismatched_lengths_are_an_error():
    with pytest.raises(ValueError, match="3 predictions for 2 true scores"):
        figures(np.ones(3), np.ones(2))
