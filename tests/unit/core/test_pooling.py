import math

import pytest

from vmafx.core.pooling import harmonic_mean, pool


def test_pool_computes_every_statistic_from_the_series():
    pooled = pool([1.0, 2.0, 3.0, 4.0, 5.0])
    assert pooled.mean == 3.0
    assert pooled.min == 1.0
    assert pooled.max == 5.0
    assert pooled.p5 == pytest.approx(1.2)
    assert pooled.p95 == pytest.approx(4.8)
    assert pooled.harmonic_mean == pytest.approx(
        1 / ((1 / 2 + 1 / 3 + 1 / 4 + 1 / 5 + 1 / 6) / 5) - 1
    )


def test_pool_prefers_libvmafs_own_pooled_figures():
    pooled = pool([1.0, 2.0], {"mean": 1.4999995, "harmonic_mean": 1.4, "min": 1.0, "max": 2.0})
    assert pooled.mean == 1.4999995
    assert pooled.harmonic_mean == 1.4


def test_pool_ignores_non_finite_libvmaf_figures():
    pooled = pool([1.0, 3.0], {"mean": math.nan})
    assert pooled.mean == 2.0


def test_harmonic_mean_is_defined_at_zero_like_libvmaf():
    assert harmonic_mean([0.0, 0.0]) == 0.0


def test_pool_refuses_an_empty_series():
    with pytest.raises(ValueError, match="empty"):
        pool([])
