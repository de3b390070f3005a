"""The learner: mixed batches, SGD with momentum and warm-up, the EMA shadow, the checkpoint rule."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest
from tests.unit.ai.conftest import N

from vmafx.ai.samples import synthetic_samples
from vmafx.ai.trainer.settings import SidecarSettings

pytestmark = pytest.mark.usefixtures("needs_torch")


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def settings(**overrides: object) -> SidecarSettings:
    base = SidecarSettings(checkpoint_dir=None, seed=0, warmup_steps=1, grad_clip=0.0, lr=0.01)
    return dataclasses.replace(base, **overrides)


def make(publish=None, clock=None, **overrides):
    import torch

    from vmafx.ai.trainer.learner import Learner
    from vmafx.ai.trainer.model import QualityMlp

    torch.manual_seed(0)
    return Learner(
        settings(**overrides),
        QualityMlp(N, (8,)),
        publish=publish,
        clock=clock or Clock(),
        rng=random.Random(0),
        fresh=False,  # keep the standardisation fixed: the maths below is about SGD and EMA
    )


ROWS, SCORES = synthetic_samples(4000, seed=11)


def feed(learner, start: int, n: int):
    return [learner.offer(ROWS[i], float(SCORES[i])) for i in range(start, start + n)]


def test_every_16th_sample_trains_one_step_on_16_new_and_16_replayed():
    learner = make()
    seen = []
    original = learner.train_step
    learner.train_step = lambda batch: seen.append(batch) or original(batch)
    outcomes = feed(learner, 0, 48)
    assert [o.kind for o in outcomes].count("trained") == 3
    assert outcomes[15].kind == "trained"
    assert all(o.kind == "buffered" for o in outcomes[:15])
    assert [o.step for o in outcomes[14:17]] == [0, 1, 1]
    assert [len(b.new) for b in seen] == [16, 16, 16]
    assert [len(b.replayed) for b in seen] == [0, 16, 16]  # nothing to replay before the first step
    assert [s for _, s in seen[2].new] == [float(SCORES[i]) for i in range(32, 48)]
    replay_scores = {float(SCORES[i]) for i in range(32)}
    assert {s for _, s in seen[2].replayed} <= replay_scores
    assert (len(learner.replay), len(learner.pending), learner.samples_trained) == (48, 0, 48)


def test_the_ema_shadow_moves_by_one_minus_beta_towards_the_live_weights():
    learner = make(ema_decay=0.9)
    before = [p.detach().clone() for p in learner.ema.parameters()]
    feed(learner, 0, 16)
    live = [p.detach() for p in learner.live.parameters()]
    for b, e, p in zip(before, learner.ema.parameters(), live, strict=True):
        np.testing.assert_allclose(
            e.numpy(), 0.9 * b.numpy() + 0.1 * p.numpy(), rtol=1e-5, atol=1e-7
        )


def test_one_step_is_sgd_with_weight_decay_on_the_mse_of_the_batch():
    import torch

    learner = make(lr=0.05, weight_decay=0.01, momentum=0.9)
    reference = [p.detach().clone().requires_grad_(True) for p in learner.live.parameters()]
    x = torch.from_numpy(ROWS[:16])
    y = torch.from_numpy(SCORES[:16].astype(np.float32)).reshape(-1, 1) / 100.0
    h = (x - learner.live.mean) * learner.live.inv_std
    out = torch.relu(h @ reference[0].T + reference[1]) @ reference[2].T + reference[3]
    torch.nn.functional.mse_loss(out, y).backward()
    outcome = feed(learner, 0, 16)[-1]
    for ref, p in zip(reference, learner.live.parameters(), strict=True):
        expected = ref.detach() - 0.05 * (
            ref.grad + 0.01 * ref.detach()
        )  # momentum buffer = first grad
        torch.testing.assert_close(p.detach(), expected, rtol=1e-5, atol=1e-7)
    assert outcome.loss == pytest.approx(float(((out.detach() - y) ** 2).mean()) * 100**2, rel=1e-5)


def test_the_learning_rate_warms_up_linearly():
    learner = make(lr=0.1, warmup_steps=4)
    feed(learner, 0, 16)
    assert learner.optimizer.param_groups[0]["lr"] == pytest.approx(0.025)
    feed(learner, 16, 48)
    assert learner.optimizer.param_groups[0]["lr"] == pytest.approx(0.1)


def test_checkpoint_needs_both_the_interval_and_the_new_samples():
    from vmafx.ai.trainer.learner import checkpoint_due

    assert not checkpoint_due(10.0, 0.0, 999, interval_s=10, min_samples=1000)
    assert not checkpoint_due(9.9, 0.0, 5000, interval_s=10, min_samples=1000)
    assert checkpoint_due(10.0, 0.0, 1000, interval_s=10, min_samples=1000)


def test_the_learner_publishes_the_ema_weights_when_the_rule_says_so():
    published = []
    clock = Clock()
    learner = make(
        publish=lambda w, step, n: published.append((w, step, n)) or f"/m/v{len(published)}",
        clock=clock,
        ckpt_interval_s=60,
        min_samples_ckpt=32,
    )
    assert all(o.checkpoint is None for o in feed(learner, 0, 64))  # enough samples, too early
    clock.t += 60
    outcomes = feed(learner, 64, 16)
    assert outcomes[-1].checkpoint == "/m/v1"
    weights, step, samples = published[0]
    assert (step, samples) == (5, 80)
    np.testing.assert_array_equal(weights.layers[0][0], learner.ema.net[0].weight.detach().numpy())
    clock.t += 60
    assert feed(learner, 80, 16)[-1].checkpoint is None  # 16 new samples < 32
    assert feed(learner, 96, 16)[-1].checkpoint == "/m/v2"


def test_a_failed_step_keeps_its_samples_and_is_retried():
    learner = make()
    calls = []

    def broken(batch):
        calls.append(len(batch.new))
        raise RuntimeError("out of memory")

    learner.train_step = broken
    outcome = feed(learner, 0, 16)[-1]
    assert (outcome.kind, outcome.error) == ("retry_queued", "training step failed: out of memory")
    assert len(learner.pending) == 16
    assert feed(learner, 16, 1)[0].kind == "retry_queued"
    assert calls == [16, 16]
    assert len(learner.replay) == 0


def test_a_full_pending_queue_answers_with_backpressure_and_admits_nothing():
    learner = make(pending_capacity=40, batch_size=32)
    learner.train_step = lambda batch: (_ for _ in ()).throw(RuntimeError("broken"))
    kinds = [o.kind for o in feed(learner, 0, 45)]
    assert kinds[:15] == ["buffered"] * 15
    assert set(kinds[15:40]) == {"retry_queued"}
    assert kinds[40:] == ["backpressure"] * 5
    assert len(learner.pending) == 40


def test_the_model_learns_the_synthetic_score():
    learner = make(lr=0.05, warmup_steps=10, grad_clip=1.0, ema_decay=0.99)
    import torch

    from vmafx.ai.trainer.model import QualityMlp

    fresh = make(lr=0.05)
    learner.live.load_state_dict(QualityMlp(N, (8,)).state_dict())  # untrained start
    with torch.no_grad():
        for model in (learner.live, learner.ema, fresh.live):
            model.mean.copy_(torch.from_numpy(ROWS.mean(axis=0)))
            model.inv_std.copy_(torch.from_numpy(1 / ROWS.std(axis=0)))
    feed(learner, 0, 3000)
    x, y = torch.from_numpy(ROWS[3000:]), SCORES[3000:]
    with torch.no_grad():
        trained = learner.ema(x).numpy().reshape(-1)
        untrained = fresh.live(x).numpy().reshape(-1)
    assert np.sqrt(np.mean((trained - y) ** 2)) < 0.5 * np.sqrt(np.mean((untrained - y) ** 2))
    assert np.corrcoef(trained, y)[0, 1] > 0.9
