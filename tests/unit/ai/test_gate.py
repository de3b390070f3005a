"""The stability gate: a deliberately degraded checkpoint is quarantined, a sound one activated."""

from __future__ import annotations

import numpy as np
import pytest
from tests.unit.ai.conftest import N, good_weights, random_weights

from vmafx.ai.samples import synthetic_samples

pytestmark = pytest.mark.usefixtures("needs_ort")


def gate_with_holdout(n: int, min_samples: int = 20):
    from vmafx.ai.trainer.gate import HoldOut, StabilityGate

    holdout = HoldOut(every=10, capacity=500)
    rows, scores = synthetic_samples(n, seed=21)
    for row, score in zip(rows, scores, strict=True):
        holdout.add(row, float(score))
    return StabilityGate(holdout, n_features=N, min_samples=min_samples)


def degrade(weights, amount: float, seed: int = 0):
    """The same model with noise added to its first layer (a training run gone wrong)."""
    from vmafx.ai.trainer.export import MlpWeights

    rng = np.random.default_rng(seed)
    (w1, b1), second = weights.layers
    noisy = (w1 + rng.normal(0, amount, w1.shape).astype(np.float32), b1)
    return MlpWeights(weights.mean, weights.inv_std, (noisy, second), weights.out_scale)


def active_entry(publish, weights):
    from vmafx.ai.registry import read_registry

    publish(1, weights)
    return read_registry(publish.folder).get(1)


def test_the_held_out_share_is_about_one_in_every_and_stable_per_job():
    from vmafx.ai.trainer.gate import HoldOut

    holdout = HoldOut(every=10, capacity=10)
    claimed = [holdout.claims(f"job-{i}") for i in range(10_000)]
    assert 0.08 < sum(claimed) / len(claimed) < 0.12
    assert claimed == [holdout.claims(f"job-{i}") for i in range(10_000)]


def test_a_deliberately_degraded_checkpoint_is_quarantined(publish):
    from vmafx.ai.trainer.export import model_bytes

    gate = gate_with_holdout(200)
    active = active_entry(publish, good_weights())
    verdict = gate.judge(model_bytes(degrade(good_weights(), 0.05)), active, publish.folder)
    assert verdict.status == "quarantined"
    assert verdict.baseline_version == 1
    drop = verdict.baseline_figures.plcc - verdict.figures.plcc
    assert drop > 0.005
    assert f"a drop of {drop:.4f} > 0.005" in verdict.reason


def test_a_checkpoint_within_the_plcc_tolerance_becomes_active(publish):
    from vmafx.ai.trainer.export import model_bytes

    gate = gate_with_holdout(200)
    active = active_entry(publish, degrade(good_weights(), 0.05))
    verdict = gate.judge(model_bytes(good_weights()), active, publish.folder)
    assert verdict.status == "active"
    assert verdict.figures.plcc > verdict.baseline_figures.plcc
    assert verdict.figures.n == 200


def test_the_first_checkpoint_is_judged_on_its_own(tmp_path, needs_ort):
    from vmafx.ai.trainer.export import model_bytes

    verdict = gate_with_holdout(50).judge(model_bytes(good_weights()), None, tmp_path)
    assert verdict.status == "active"
    assert verdict.figures.plcc > 0.98
    assert "no active version to compare with" in verdict.reason


def test_too_small_a_held_out_set_leaves_the_checkpoint_a_candidate(tmp_path, needs_ort):
    from vmafx.ai.trainer.export import model_bytes

    verdict = gate_with_holdout(5).judge(model_bytes(good_weights()), None, tmp_path)
    assert verdict.status == "candidate"
    assert verdict.reason == "held-out set has 5 samples; the gate needs 20 to judge"


def test_a_checkpoint_with_constant_output_is_quarantined(tmp_path, needs_ort):
    from vmafx.ai.trainer.export import MlpWeights, model_bytes

    w = random_weights(0)
    flat = MlpWeights(w.mean, w.inv_std, ((w.layers[0][0] * 0, w.layers[0][1]), w.layers[1]), 100.0)
    verdict = gate_with_holdout(50).judge(model_bytes(flat), None, tmp_path)
    assert verdict.status == "quarantined"
    assert "undefined" in verdict.reason


def test_a_first_checkpoint_that_runs_against_the_truth_is_quarantined(tmp_path, needs_ort):
    from vmafx.ai.trainer.export import MlpWeights, model_bytes

    good = good_weights()
    (w1, b1), second = good.layers
    inverted = MlpWeights(good.mean, good.inv_std, ((-w1, b1 + 1.0), second), 100.0)
    verdict = gate_with_holdout(50).judge(model_bytes(inverted), None, tmp_path)
    assert verdict.status == "quarantined"
    assert "is below the floor 0.0" in verdict.reason


def test_an_unreadable_active_version_is_noted_and_the_candidate_judged_alone(publish):
    from vmafx.ai.trainer.export import model_bytes

    active = active_entry(publish, good_weights())
    (publish.folder / active.file).write_bytes(b"gone")
    verdict = gate_with_holdout(50).judge(model_bytes(good_weights()), active, publish.folder)
    assert verdict.status == "active"
    assert "the active version 1 could not be scored" in verdict.reason
