"""VmafxModelTraining → the trainer's ConfigMap, and the trainer's /status → `.status`."""

from __future__ import annotations

import pytest

from vmafx.ai.trainer.settings import sidecar_settings
from vmafx.errors import UsageError
from vmafx.operator.training import config_map_of, environment_of, status_of, status_url

SPEC = {
    "nodePool": "nvidia-l4",
    "algorithm": "online-sgd-ema",
    "baseModel": "/models/base.onnx",
    "checkpoint": {"intervalSeconds": 300, "minSamples": 500},
    "training": {
        "batchSize": 64,
        "replayCapacity": 20000,
        "replayMix": 0.25,
        "learningRate": 0.0002,
        "emaDecay": 0.99,
    },
    "gate": {"plccDelta": 0.01, "minSamples": 30},
}


def test_the_spec_becomes_the_sidecar_variables_the_trainer_reads() -> None:
    env = environment_of(SPEC)
    assert env["VMAFX_BASE_MODEL_PATH"] == "/models/base.onnx"
    settings = sidecar_settings(env=env)  # the trainer's own loader accepts every one
    assert (settings.ckpt_interval_s, settings.min_samples_ckpt) == (300, 500)
    assert (settings.batch_size, settings.replay_capacity, settings.replay_mix) == (64, 20000, 0.25)
    assert (settings.lr, settings.ema_decay) == (0.0002, 0.99)
    assert (settings.gate_plcc_delta, settings.gate_min_samples) == (0.01, 30)
    assert str(settings.base_model_path) == "/models/base.onnx"


def test_an_unknown_algorithm_or_a_missing_pool_is_refused() -> None:
    with pytest.raises(UsageError, match="spec.algorithm 'adam' is not known"):
        environment_of({"nodePool": "p", "algorithm": "adam"})
    with pytest.raises(UsageError, match="spec.nodePool is missing"):
        config_map_of("online", "media", {})


def test_the_config_map_is_named_after_the_pool_its_sidecar_loads_it_from() -> None:
    made = config_map_of("online", "media", {"nodePool": "nvidia-l4", "training": {"batchSize": 8}})
    assert made["metadata"]["name"] == "vmafx-trainer-nvidia-l4"
    assert made["metadata"]["labels"]["vmafx.dev/training"] == "online"
    assert made["data"] == {"VMAFX_SIDECAR_BATCH_SIZE": "8"}


def test_the_trainer_status_is_mirrored_under_the_crd_names() -> None:
    body = {"phase": "Running", "step_count": 12, "samples_trained": 384, "last_loss": 0.5,
            "active_version": 3, "checkpoint_counter": 4, "acks": {"ok": 9},
            "last_checkpoint": {"version": 4, "file": "model_v000004.onnx"}}  # fmt: skip
    assert status_of(body) == {"phase": "Running", "step": 12, "samplesTrained": 384,
                               "lastLoss": 0.5, "activeVersion": 3, "checkpointCounter": 4,
                               "lastCheckpoint": "model_v000004.onnx"}  # fmt: skip


def test_the_status_comes_from_the_first_running_pod_of_the_pool() -> None:
    def pod(name: str, phase: str, ip: str | None) -> dict[str, object]:
        return {"metadata": {"name": name}, "status": {"phase": phase, "podIP": ip}}

    pods = [
        pod("b", "Running", "10.0.0.2"),
        pod("a", "Pending", None),
        pod("c", "Running", "10.0.0.3"),
    ]
    assert status_url(pods, 9475) == "http://10.0.0.2:9475/status"
    assert status_url([pod("a", "Pending", None)], 9475) is None
