"""VmafxModelTraining → the trainer's ConfigMap, and the trainer's /status → `.status`."""

from __future__ import annotations

import pytest

from vmafx import config
from vmafx.errors import UsageError
from vmafx.operator.training import config_map_of, environment_of, status_of


def test_settings_become_the_sidecar_variables_the_trainer_reads() -> None:
    env = environment_of({"lr": 0.0002, "batchSize": 64, "gatePlccDelta": 0.01,
                          "baseModelPath": "/models/base.onnx"})  # fmt: skip
    assert env == {
        "VMAFX_SIDECAR_LR": "0.0002",
        "VMAFX_SIDECAR_BATCH_SIZE": "64",
        "VMAFX_SIDECAR_GATE_PLCC_DELTA": "0.01",
        "VMAFX_BASE_MODEL_PATH": "/models/base.onnx",
    }
    settings = config.sidecar_settings(env=env)  # the trainer's own loader accepts them
    assert (settings.lr, settings.batch_size, settings.gate_plcc_delta) == (0.0002, 64, 0.01)


def test_an_unknown_or_placement_setting_is_refused_with_the_known_names() -> None:
    with pytest.raises(
        UsageError, match=r"spec.settings.learningRate is not a trainer setting"
    ) as info:
        environment_of({"learningRate": 1})
    assert info.value.hint is not None and "batchSize" in info.value.hint
    with pytest.raises(UsageError, match="socket"):
        environment_of({"socket": "/tmp/x.sock"})  # where it listens is the chart's business


def test_the_config_map_is_named_after_the_training_unless_spec_names_one() -> None:
    assert config_map_of("online", "media", {})["metadata"]["name"] == "online-trainer"
    named = config_map_of("online", "media", {"configMap": "trainer-env", "settings": {"lr": 1}})
    assert named["metadata"]["name"] == "trainer-env" and named["data"] == {"VMAFX_SIDECAR_LR": "1"}


def test_the_trainer_status_is_mirrored_in_camel_case() -> None:
    body = {"phase": "Running", "step_count": 12, "samples_trained": 384, "last_loss": 0.5,
            "active_version": 3, "acks": {"ok": 9}}  # fmt: skip
    assert status_of(body) == {"phase": "Running", "stepCount": 12, "samplesTrained": 384,
                               "lastLoss": 0.5, "activeVersion": 3}  # fmt: skip
