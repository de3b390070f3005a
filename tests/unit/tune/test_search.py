"""The CRF search as a pure function: synthetic curves stand in for ffmpeg."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmafx.tune.search import FULL, Measurement, Prior, SearchSettings, search_crf

FRAMES = 100


def table(
    full: Callable[[float], float], cheap: Callable[[float], float] | None = None
) -> Callable[[float, str], Measurement]:
    cheap = cheap or full

    def evaluate(crf: float, kind: str) -> Measurement:
        if kind == FULL:
            return Measurement(full(crf), FRAMES, FRAMES, 1.0, "full")
        return Measurement(cheap(crf), FRAMES // 3, FRAMES // 3, 0.3, "sample")

    return evaluate


def logistic(mid: float, width: float = 6.0) -> Callable[[float], float]:
    return lambda crf: 100.0 / (1.0 + math.exp((crf - mid) / width))


def truth(curve: Callable[[float], float], target: float, lo: int = 10, hi: int = 51) -> int | None:
    passing = [c for c in range(lo, hi + 1) if curve(c) >= target]
    return max(passing) if passing else None


def test_monotone_curve_gives_the_highest_passing_crf() -> None:
    curve = logistic(40)
    result = search_crf(table(curve), SearchSettings(target=93, lo=10, hi=51), Prior(crf=24))
    assert result.hit
    assert result.crf == truth(curve, 93)
    assert result.vmaf is not None and result.vmaf >= 93


@settings(max_examples=60, deadline=None)
@given(
    mid=st.floats(20, 60),
    width=st.floats(3, 12),
    target=st.floats(80, 97),
    guess=st.floats(10, 51),
)
def test_on_monotone_data_the_answer_is_the_highest_passing_crf(
    mid: float, width: float, target: float, guess: float
) -> None:
    """Given the budget to finish (the defaults trade a rare step for fewer encodes)."""
    curve = logistic(mid, width)
    roomy = SearchSettings(target=target, lo=10, hi=51, max_cheap=8, max_full_up=12)
    result = search_crf(table(curve), roomy, Prior(crf=guess))
    expected = truth(curve, target)
    if expected is None:
        assert not result.hit and result.best is not None and result.best.crf == 10
    else:
        assert result.hit and result.crf == expected


def test_a_biased_cheap_probe_is_corrected_by_the_full_measurement() -> None:
    curve = logistic(40)
    result = search_crf(
        table(curve, cheap=lambda c: curve(c) + 1.5),
        SearchSettings(target=90, lo=10, hi=51),
        Prior(crf=30),
    )
    assert result.hit and result.crf == truth(curve, 90)
    assert result.sample_bias == pytest.approx(-1.5, abs=0.3)


def test_a_good_prior_needs_at_most_two_full_encodes() -> None:
    curve = logistic(40)
    answer = truth(curve, 93)
    assert answer is not None
    result = search_crf(
        table(curve), SearchSettings(target=93, lo=10, hi=51), Prior(crf=answer, slope=-1.0)
    )
    fulls = [p for p in result.probes if p.stage == FULL]
    assert result.crf == answer and len(fulls) <= 2


def test_noisy_cheap_probes_still_hit_the_target() -> None:
    curve = logistic(38)
    rng = random.Random(7)
    noisy = {c: curve(c) + rng.uniform(-0.4, 0.4) for c in range(10, 52)}
    result = search_crf(
        table(curve, cheap=lambda c: noisy[int(c)]),
        SearchSettings(target=92, lo=10, hi=51),
        Prior(crf=20),
    )
    assert result.hit and result.vmaf is not None and result.vmaf >= 92
    answer = truth(curve, 92)
    assert answer is not None and abs(result.crf - answer) <= 1  # type: ignore[operator]


def test_a_plateau_answers_the_highest_crf_on_it() -> None:
    def plateau(crf: float) -> float:
        return 96.0 if crf <= 30 else 80.0

    result = search_crf(table(plateau), SearchSettings(target=90, lo=10, hi=51), Prior(crf=20))
    assert result.hit and result.crf == 30


def test_a_target_out_of_reach_reports_the_best_vmaf_and_its_crf() -> None:
    result = search_crf(
        table(lambda c: 80.0 - (c - 10) * 0.5), SearchSettings(target=95, lo=10, hi=51), Prior(24)
    )
    assert not result.hit and result.crf is None
    assert result.best is not None and result.best.crf == 10 and result.best.vmaf == 80.0
    assert "CRF 10" in result.reason


def test_a_target_every_crf_reaches_answers_the_highest_crf() -> None:
    result = search_crf(table(lambda c: 99.0), SearchSettings(target=50, lo=10, hi=51), Prior(24))
    assert result.hit and result.crf == 51


def test_tolerance_stops_at_a_passing_setting_without_proving_the_next_step() -> None:
    curve = logistic(40)
    answer = truth(curve, 90)
    assert answer is not None
    exact = search_crf(table(curve), SearchSettings(target=90, lo=10, hi=51), Prior(answer - 1))
    loose = search_crf(
        table(curve), SearchSettings(target=90, lo=10, hi=51, tolerance=3), Prior(answer - 1)
    )
    assert loose.hit and loose.vmaf is not None and 90 <= loose.vmaf <= 93
    assert len(loose.probes) <= len(exact.probes)


def test_a_coarser_step_answers_on_its_grid() -> None:
    curve = logistic(40)
    result = search_crf(table(curve), SearchSettings(target=90, lo=10, hi=50, step=4), Prior(24))
    assert result.crf is not None and (result.crf - 10) % 4 == 0
    assert curve(result.crf) >= 90 > curve(result.crf + 4)


def test_a_target_outside_0_to_100_is_refused() -> None:
    with pytest.raises(ValueError, match="outside 0–100"):
        SearchSettings(target=101, lo=10, hi=51)


def test_nothing_is_measured_twice() -> None:
    seen: list[tuple[float, str]] = []
    inner = table(logistic(35))

    def evaluate(crf: float, kind: str) -> Measurement:
        seen.append((crf, kind))
        return inner(crf, kind)

    search_crf(evaluate, SearchSettings(target=93, lo=10, hi=51), Prior(crf=45))
    assert len(seen) == len(set(seen))


def test_with_default_budgets_a_bad_prior_still_hits_within_one_step() -> None:
    rng = random.Random(3)
    off = 0
    for _ in range(300):
        curve = logistic(rng.uniform(25, 55), rng.uniform(5, 12))
        target = rng.uniform(85, 95)
        expected = truth(curve, target)
        result = search_crf(
            table(curve), SearchSettings(target=target, lo=10, hi=51), Prior(rng.uniform(10, 51))
        )
        assert (expected is None) == (not result.hit)
        if expected is not None:
            assert result.crf is not None and curve(result.crf) >= target
            off += result.crf != expected
            assert expected - result.crf <= 2
    assert off <= 15


def test_a_long_walk_down_turns_into_bisection() -> None:
    def full(crf: float) -> float:
        return 96.0 if crf < 20 else 92.9

    result = search_crf(
        table(full, cheap=lambda c: full(c) + 5), SearchSettings(target=93, lo=10, hi=51), Prior(45)
    )
    fulls = [p for p in result.probes if p.stage == FULL]
    assert result.crf == 19 and len(fulls) <= 8


@settings(max_examples=80, deadline=None)
@given(
    top=st.floats(60, 100),
    drops=st.lists(st.one_of(st.just(0.0), st.floats(0, 6)), min_size=41, max_size=41),
    bias=st.floats(-3, 3),
    target=st.floats(50, 99),
    guess=st.integers(10, 51),
)
def test_on_any_monotone_table_the_answer_is_the_highest_passing_crf(
    top: float, drops: list[float], bias: float, target: float, guess: int
) -> None:
    """Any non-increasing table (plateaus and cliffs included, cheap probes off by a constant
    bias), with budgets to finish and no shortcut on the fit (margin 100): exact."""
    values = {10: top}
    for crf, drop in zip(range(11, 52), drops, strict=True):
        values[crf] = values[crf - 1] - drop
    roomy = SearchSettings(target=target, lo=10, hi=51, max_cheap=8, max_full_up=40, margin=100)
    result = search_crf(
        table(lambda c: values[round(c)], lambda c: values[round(c)] - bias),
        roomy,
        Prior(crf=guess),
    )
    passing = [c for c, v in values.items() if v >= target]
    if not passing:
        assert not result.hit and result.best is not None and result.best.crf == 10
    else:
        assert result.hit and result.crf == max(passing)
        assert result.vmaf == values[max(passing)]
