"""One poisoned sample must never stop training: it is refused in its ack, and a step that still
turns non-finite is dropped (its batch discarded, the model as before), never retried forever."""

from __future__ import annotations

import dataclasses
import json
import logging
import random

import numpy as np
import pytest
from tests.unit.ai.conftest import N

from vmafx.ai import protocol
from vmafx.ai.protocol import encode_sample
from vmafx.ai.samples import synthetic_samples
from vmafx.ai.trainer.settings import SidecarSettings
from vmafx.errors import BadSampleError

pytestmark = pytest.mark.usefixtures("needs_torch")
ROWS, SCORES = synthetic_samples(3000, seed=17)


def service(tmp_path, *, fresh: bool = True, **overrides):
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
    learner = Learner(settings, QualityMlp(N), publish=publisher, rng=random.Random(1), fresh=fresh)
    return TrainerService(learner, gate, publisher, n_features=N)


def raw_line(job_id: str, features: list[float] | list[str], score: str) -> bytes:
    """A request line written by hand: features and score as JSON tokens (NaN, 1e400, …)."""
    values = ",".join(v if isinstance(v, str) else repr(float(v)) for v in features)
    return f'{{"job_id":"{job_id}","features":[{values}],"true_score":{score}}}'.encode()


def clean(i: int) -> bytes:
    return encode_sample(f"clean-{i}", ROWS[i].tolist(), float(SCORES[i]))[:-1]


def learner(**overrides):
    import torch

    from vmafx.ai.trainer.learner import Learner
    from vmafx.ai.trainer.model import QualityMlp

    torch.manual_seed(0)
    base = SidecarSettings(checkpoint_dir=None, seed=0, warmup_steps=1, grad_clip=1.0, lr=0.01)
    return Learner(
        dataclasses.replace(base, **overrides),
        QualityMlp(N, (8,)),
        rng=random.Random(0),
        fresh=True,
    )


def params(model) -> list[np.ndarray]:
    return [p.detach().numpy().copy() for p in model.parameters()]


def buffers(model) -> list[np.ndarray]:
    return [b.detach().numpy().copy() for b in model.buffers()]


def momentum(lrn) -> list[np.ndarray | None]:
    state = lrn.optimizer.state
    return [
        None if "momentum_buffer" not in state[p] else state[p]["momentum_buffer"].numpy().copy()
        for p in lrn.live.parameters()
    ]


def same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        (x is None and y is None) or (x is not None and y is not None and np.array_equal(x, y))
        for x, y in zip(a, b, strict=True)
    )


# -- refused in the ack ---------------------------------------------------------------------------


def test_the_1e30_attack_is_refused_and_thousands_of_clean_samples_still_train(tmp_path):
    svc = service(tmp_path, pending_capacity=200)
    poison = json.loads(svc.handle_line(raw_line("poison", ROWS[0].tolist(), "1e30")))
    assert poison == {
        "ok": False,
        "error": "true_score is 1e+30; a score must be from 0 to 100 (VMAF's range)",
        "job_id": "poison",
    }
    acks = [json.loads(svc.handle_line(clean(i))) for i in range(1, 3000)]
    assert all(a["ok"] is True for a in acks)
    trained = [a for a in acks if a.get("trained")]
    assert len(trained) >= 150  # ~2,700 trained samples / 16 per step
    assert all(isinstance(a["loss"], float) for a in trained)
    assert len(svc.learner.pending) < 16
    status = svc.status()
    assert status["samples_rejected"] == 1
    assert status["steps_dropped"] == 0
    assert status["step_count"] == len(trained)


@pytest.mark.parametrize(
    ("score", "message"),
    [
        ("1e30", "true_score is 1e+30; a score must be from 0 to 100"),
        ("100.5", "true_score is 100.5; a score must be from 0 to 100"),
        ("-0.001", "true_score is -0.001; a score must be from 0 to 100"),
        ("1e400", "true_score is inf; it must be finite"),
        ("-Infinity", "true_score is -inf; it must be finite"),
        ("NaN", "true_score is nan; it must be finite"),
    ],
)
def test_a_score_outside_0_to_100_or_not_finite_is_refused_with_the_reason(score, message):
    with pytest.raises(BadSampleError) as caught:
        protocol.parse_sample(raw_line("j", [1.0] * N, score), N)
    assert message in caught.value.message
    assert caught.value.job_id == "j"


@pytest.mark.parametrize("score", [0, 0.0, 100, 100.0, 37.5])
def test_scores_at_and_inside_the_bounds_are_accepted(score):
    assert protocol.parse_sample(raw_line("j", [1.0] * N, str(score)), N).true_score == score


def test_the_client_does_not_send_a_score_the_trainer_would_refuse():
    with pytest.raises(ValueError, match="from 0 to 100"):
        protocol.encode_sample("j", [1.0] * N, 1e30)


def test_nan_features_are_refused_counted_and_never_reach_training(tmp_path):
    svc = service(tmp_path)
    acks = [
        json.loads(svc.handle_line(raw_line("n1", ["1"] * 5 + ["NaN"] + ["1"] * 74, "50"))),
        json.loads(svc.handle_line(raw_line("n2", ["Infinity"] + ["1"] * 79, "50"))),
    ]
    assert acks[0] == {
        "ok": False,
        "error": "features[5] is nan; values must be finite (no NaN or infinity)",
        "job_id": "n1",
    }
    assert acks[1]["ok"] is False and "features[0] is inf" in acks[1]["error"]
    assert (len(svc.learner.pending), len(svc.gate.holdout)) == (0, 0)
    assert svc.status()["samples_rejected"] == 2


# -- a step that turns non-finite is dropped -----------------------------------------------------


def test_a_step_whose_loss_is_not_finite_is_dropped_once_and_training_continues(caplog):
    lrn = learner(pending_capacity=64)
    live, ema, norm = params(lrn.live), params(lrn.ema), buffers(lrn.live)
    outcomes = [lrn.offer(ROWS[0], 1e30)]  # past validation: the learner trusts its caller
    outcomes += [lrn.offer(ROWS[i], float(SCORES[i])) for i in range(1, 16)]
    dropped = outcomes[-1]
    assert dropped.kind == "dropped"
    assert dropped.error == (
        "training step 1 dropped: its loss is inf; its 16 new samples were discarded"
    )
    assert same(params(lrn.live), live) and same(params(lrn.ema), ema)
    assert same(buffers(lrn.live), norm)  # the standardisation did not see the dropped rows
    assert lrn.norm.count == 0
    assert (lrn.step, len(lrn.pending), len(lrn.replay)) == (0, 0, 0)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [dropped.error]
    kinds = [lrn.offer(ROWS[i], float(SCORES[i])).kind for i in range(16, 1000)]
    assert kinds.count("trained") == (1000 - 16) // 16
    assert "dropped" not in kinds and "backpressure" not in kinds
    assert len(caplog.records) == len(warnings)  # no retry, no second log line
    status = lrn.status()
    assert (status["steps_dropped"], status["samples_dropped"]) == (1, 16)
    assert status["last_dropped_reason"] == dropped.error


def test_a_step_whose_parameters_turn_non_finite_is_dropped_and_the_model_restored():
    import torch

    lrn = learner()
    for i in range(64):  # a few good steps first: momentum buffers exist
        lrn.offer(ROWS[i], float(SCORES[i]))
    assert lrn.step == 4
    live, ema, velocity = params(lrn.live), params(lrn.ema), momentum(lrn)
    replayed = len(lrn.replay)
    original = lrn.optimizer.step

    def exploding(*args, **kwargs):
        original(*args, **kwargs)
        with torch.no_grad():
            next(lrn.live.parameters())[0, 0] = float("inf")

    lrn.optimizer.step = exploding
    outcome = [lrn.offer(ROWS[i], float(SCORES[i])) for i in range(64, 80)][-1]
    assert outcome.kind == "dropped"
    assert "its parameters are not finite" in (outcome.error or "")
    assert same(params(lrn.live), live) and same(params(lrn.ema), ema)
    assert same(momentum(lrn), velocity)
    assert (lrn.step, len(lrn.replay), len(lrn.pending)) == (4, replayed, 0)
    lrn.optimizer.step = original
    after = [lrn.offer(ROWS[i], float(SCORES[i])) for i in range(80, 96)][-1]
    assert (after.kind, lrn.step) == ("trained", 5)
    assert all(np.isfinite(p).all() for p in params(lrn.live))


def test_finite_but_huge_features_make_a_dropped_step_not_a_stuck_queue(tmp_path):
    svc = service(tmp_path, fresh=False, pending_capacity=64)  # resumed: standardisation fixed
    rows = ROWS.copy()
    rows[:16, 0] = np.float32(3e38)  # in float32's range; their square is not
    ids = [f"huge-{i}" for i in range(40) if not svc.gate.holdout.claims(f"huge-{i}")][:16]
    acks = [
        json.loads(svc.handle_line(encode_sample(j, rows[k].tolist(), 50.0)[:-1]))
        for k, j in enumerate(ids)
    ]
    assert all(a["ok"] for a in acks)
    last = acks[-1]
    assert last["step_dropped"] is True and last["trained"] is False
    assert last["training_error"] == (
        "training step 1 dropped: its loss is inf; its 16 new samples were discarded"
    )
    more = [json.loads(svc.handle_line(clean(i))) for i in range(16, 1016)]
    assert all(a["ok"] for a in more)
    assert sum(bool(a.get("trained")) for a in more) >= 50
    assert not any(a.get("step_dropped") for a in more)
    assert svc.status()["steps_dropped"] == 1


def test_the_dropped_step_ack_is_admitted_and_the_client_reads_it_as_delivered():
    raw = protocol.ack_step_dropped(7, "training step 8 dropped: its loss is inf", "j")
    assert json.loads(raw) == {
        "ok": True,
        "step": 7,
        "trained": False,
        "step_dropped": True,
        "training_error": "training step 8 dropped: its loss is inf",
        "job_id": "j",
    }
    ack = protocol.parse_ack(raw)
    assert (ack.ok, ack.retryable, ack.step_dropped, ack.error) == (
        True,
        False,
        True,
        "training step 8 dropped: its loss is inf",
    )
