"""One line in, one ack out; bad lines never reach the buffers; checkpoints land in the registry."""

from __future__ import annotations

import dataclasses
import json
import random

import numpy as np
import pytest
from tests.unit.ai.conftest import N, good_weights

from vmafx.ai.protocol import encode_sample
from vmafx.ai.samples import synthetic_samples
from vmafx.ai.trainer.settings import SidecarSettings

pytestmark = pytest.mark.usefixtures("needs_torch")
ROWS, SCORES = synthetic_samples(600, seed=4)


def service(tmp_path, **overrides):
    from vmafx.ai.trainer.gate import HoldOut, StabilityGate
    from vmafx.ai.trainer.learner import Learner
    from vmafx.ai.trainer.model import QualityMlp
    from vmafx.ai.trainer.service import CheckpointPublisher, TrainerService

    settings = dataclasses.replace(
        SidecarSettings(checkpoint_dir=tmp_path, seed=1, ckpt_interval_s=0, min_samples_ckpt=10**9),
        **overrides,
    )
    gate = StabilityGate(HoldOut(every=10, capacity=100), n_features=N, min_samples=5)
    publisher = CheckpointPublisher(
        tmp_path, gate, feature_schema="vmafx-features-v1", n_features=N
    )
    learner = Learner(settings, QualityMlp(N), publish=publisher, rng=random.Random(1))
    return TrainerService(learner, gate, publisher, n_features=N)


def sample_line(i: int, job_id: str | None = None) -> bytes:
    return encode_sample(job_id or f"job-{i}", ROWS[i].tolist(), float(SCORES[i]))[:-1]


def test_bad_lines_are_refused_and_leave_every_buffer_untouched(tmp_path):
    svc = service(tmp_path)
    bad = [
        b"{oops",
        b'{"job_id": "j", "features": [1, 2], "true_score": 3}',
        sample_line(0).replace(b"[", b"[NaN,", 1),
        b'{"job_id": "j", "features": [' + b",".join([b"Infinity"] * N) + b'], "true_score": 1}',
        json.dumps({"job_id": "j", "features": [1.0] * N, "true_score": None}).encode(),
    ]
    acks = [json.loads(svc.handle_line(line)) for line in bad]
    assert all(a["ok"] is False and "retryable" not in a for a in acks)
    assert acks[1]["error"] == "features has 2 values; this trainer expects 80"
    assert acks[1]["job_id"] == "j"
    learner = svc.learner
    assert (len(learner.pending), len(learner.replay), len(svc.gate.holdout)) == (0, 0, 0)
    assert svc.acks["bad_input"] == 5


def test_held_out_samples_go_to_the_gate_not_to_training(tmp_path):
    svc = service(tmp_path)
    held = next(f"job-{i}" for i in range(100) if svc.gate.holdout.claims(f"job-{i}"))
    ack = json.loads(svc.handle_line(sample_line(1, job_id=held)))
    assert ack == {"ok": True, "step": 0, "trained": False, "job_id": held}
    assert (len(svc.gate.holdout), len(svc.learner.pending)) == (1, 0)


def test_a_checkpoint_is_exported_judged_and_listed(tmp_path):
    from vmafx.ai.registry import read_registry

    svc = service(tmp_path, min_samples_ckpt=160)
    acks = [json.loads(svc.handle_line(sample_line(i))) for i in range(400)]
    paths = [a["checkpoint"] for a in acks if a.get("checkpoint")]
    assert paths
    assert paths[0] == str(tmp_path / "model_v000001.onnx")
    registry = read_registry(tmp_path)
    first = registry.get(1)
    assert first.status in ("active", "quarantined")
    assert first.figures is not None
    assert 5 <= first.figures.n <= len(svc.gate.holdout)
    assert first.samples >= 160
    status = svc.status()
    assert status["checkpoint_counter"] == len(paths)
    assert status["holdout_size"] == len(svc.gate.holdout)
    assert status["last_checkpoint"]["version"] == len(paths)


def test_a_degraded_checkpoint_is_quarantined_and_latest_stable_stays(tmp_path):
    from vmafx.ai.registry import read_registry
    from vmafx.ai.trainer.export import MlpWeights

    svc = service(tmp_path)
    for i in range(60):
        svc.gate.holdout.add(ROWS[i], float(SCORES[i]))
    good = good_weights()
    svc.publisher(good, step=1, samples=16)
    (w1, b1), second = good.layers
    bad = MlpWeights(good.mean, good.inv_std, ((-w1, b1), second), 100.0)  # inverted: PLCC ≈ −1
    svc.publisher(bad, step=2, samples=32)
    registry = read_registry(tmp_path)
    assert [v.status.value for v in registry.versions] == ["active", "quarantined"]
    assert registry.stable().version == 1
    assert "a drop of" in registry.get(2).reason


def test_a_folder_for_another_feature_count_is_refused_at_start(tmp_path):
    from vmafx.ai.registry import Registry, write_registry
    from vmafx.errors import ModelError

    write_registry(tmp_path, Registry(feature_schema="other", n_features=12))
    with pytest.raises(ModelError, match="holds models for 12 features; this trainer has 80"):
        service(tmp_path)


def test_an_unexpected_loss_is_reported_in_the_ack_not_a_crash(tmp_path):
    svc = service(tmp_path)
    rows = ROWS.copy()
    rows[:, 0] = np.float32(3e38)  # finite inputs whose square overflows float32
    acks = [
        json.loads(svc.handle_line(encode_sample(f"x{i}", rows[i].tolist(), 50.0)[:-1]))
        for i in range(40)
    ]
    assert all(a["ok"] for a in acks)
    assert any(a.get("step_dropped") for a in acks) or any(a.get("trained") for a in acks)
