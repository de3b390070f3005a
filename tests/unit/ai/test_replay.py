"""Replay buffer, pending queue and batch composition (the replay mix), computed by hand."""

from __future__ import annotations

import random

import numpy as np
import pytest

from vmafx.ai.trainer.replay import PendingQueue, ReplayBuffer, compose_batch, new_per_step
from vmafx.ai.trainer.running import RunningStats


def item(i: int) -> tuple[np.ndarray, float]:
    return (np.full(3, i, np.float32), float(i))


@pytest.mark.parametrize(
    ("batch", "mix", "new"),
    [(32, 0.5, 16), (32, 0.0, 32), (32, 0.75, 8), (32, 0.99, 1), (1, 0.5, 1)],
)
def test_each_step_takes_batch_times_one_minus_mix_new_samples(batch, mix, new):
    assert new_per_step(batch, mix) == new


def test_a_batch_is_the_oldest_16_pending_plus_16_replay_draws_with_replacement():
    replay = ReplayBuffer(100)
    for i in range(100, 120):  # twenty old samples: 100..119
        replay.push(item(i))
    pending = PendingQueue(1000)
    for i in range(20):
        pending.put(item(i))
    batch = compose_batch(pending, replay, batch_size=32, replay_mix=0.5, rng=random.Random(7))
    assert batch is not None
    assert [s for _, s in batch.new] == [float(i) for i in range(16)]
    expected = random.Random(7)
    assert [s for _, s in batch.replayed] == [100.0 + expected.randrange(20) for _ in range(16)]
    assert len(pending) == 4
    x, y = batch.arrays()
    assert x.shape == (32, 3)
    assert x.dtype == np.float32
    assert y.shape == (32, 1)


def test_no_batch_while_fewer_than_16_new_samples_wait():
    pending = PendingQueue(100)
    for i in range(15):
        pending.put(item(i))
    assert (
        compose_batch(pending, ReplayBuffer(10), batch_size=32, replay_mix=0.5, rng=random.Random())
        is None
    )
    assert len(pending) == 15


def test_replay_draws_are_capped_at_the_number_of_samples_held():
    replay = ReplayBuffer(10)
    replay.push(item(1))
    replay.push(item(2))
    assert len(replay.sample(16, random.Random(0))) == 2
    assert ReplayBuffer(10).sample(16, random.Random(0)) == []


def test_the_replay_ring_evicts_its_oldest_and_counts():
    replay = ReplayBuffer(3)
    for i in range(5):
        replay.push(item(i))
    assert len(replay) == 3
    assert (replay.total_pushed, replay.evicted) == (5, 2)
    rng = random.Random(1)
    drawn = {s for _ in range(100) for _, s in replay.sample(3, rng)}
    assert drawn == {2.0, 3.0, 4.0}


def test_a_failed_window_goes_back_to_the_front_in_order():
    pending = PendingQueue(10)
    for i in range(5):
        pending.put(item(i))
    window = pending.take(3)
    pending.restore(window)
    assert [s for _, s in pending.take(5)] == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_running_stats_equal_the_batch_mean_and_variance_then_freeze():
    rng = np.random.default_rng(0)
    data = rng.normal(5.0, 3.0, (100, 4))
    stats = RunningStats(4, freeze_after=100)
    for chunk in np.split(data, [7, 30, 31, 64]):
        stats.update(chunk)
    np.testing.assert_allclose(stats.mean, data.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats.variance(), data.var(axis=0), rtol=1e-10)
    assert stats.frozen
    assert not stats.update(data + 100)
    np.testing.assert_allclose(stats.mean, data.mean(axis=0), rtol=1e-12)


def test_a_constant_feature_gets_a_floored_std_not_a_division_by_zero():
    stats = RunningStats(2, freeze_after=10)
    stats.update(np.array([[40.0, 1.0], [40.0, 2.0]]))
    inv = stats.inv_std()
    assert inv[0] == pytest.approx(1 / 0.04)
    assert inv[1] == pytest.approx(2.0)
