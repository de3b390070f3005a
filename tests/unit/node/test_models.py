"""The node's served model: predictions in score results, `infer` jobs, model metrics, settings.

Checkpoints are tiny ONNX models written as the trainer writes them (ONNX Runtime needed: skipped
locally without it, a failure in CI).
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import require
from tests.unit.ai.conftest import N, good_weights, has, random_weights
from tests.unit.node.test_handlers import MEDIA, FakeScorer, context, score_spec

from vmafx.ai.samples import synthetic_samples
from vmafx.core.jobs import JobKind
from vmafx.errors import ConfigError, MissingExtraError, ModelError, UsageError
from vmafx.node import models as node_models
from vmafx.node.handlers.infer import InferHandler
from vmafx.node.handlers.registry import served_queues
from vmafx.node.handlers.score import ScoreHandler
from vmafx.node.metrics import NodeMetrics
from vmafx.node.models import MODEL_NAME, NodeModels, model_folder
from vmafx.node.settings import NodeSettings, node_settings


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The media folder score jobs may read (the scorer is a fake; the files must exist)."""
    media = tmp_path / "media"
    media.mkdir()
    for name in ("ref.y4m", "dis.mp4"):
        shutil.copy(MEDIA / name, media / name)
    return media


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    require(has("onnx", "onnxruntime"), "onnx + onnxruntime (vmafx[ai,train])")
    return tmp_path / "models"


def publish(folder: Path, version: int, weights, status: str = "active") -> None:
    """A checkpoint written and listed in registry.json as the trainer does."""
    from vmafx.ai.registry import ModelStatus, ModelVersion, Registry, read_registry, write_registry
    from vmafx.ai.trainer.export import export_checkpoint

    path, digest = export_checkpoint(folder, version, weights)
    registry = read_registry(folder) or Registry(feature_schema="vmafx-features-v1", n_features=N)
    entry = ModelVersion(version, path.name, digest, ModelStatus(status), "2026-01-01T00:00:00Z")
    write_registry(folder, registry.with_version(entry, updated_at="2026-01-01T00:00:00Z"))


def node_models_for(folder: Path) -> NodeModels:
    from vmafx.ai.hotswap import ModelWatcher
    from vmafx.ai.inference import InferenceEngine

    engine = InferenceEngine(n_features=N)
    return NodeModels(engine, ModelWatcher(engine, folder, poll_interval_s=0.05))


def infer_job(root: Path, **spec):
    return context(JobKind.INFER, {"model": MODEL_NAME, **spec}, root)


def rows(n: int = 3) -> list[list[float]]:
    return synthetic_samples(n, seed=7)[0].tolist()


# --- score results carry the served model's prediction -------------------------------------------
def test_a_score_result_carries_the_active_models_prediction_and_version(root, tmp_path, folder):
    publish(folder, 1, good_weights())
    models = node_models_for(folder)
    assert models.watcher.check().action == "swapped"
    handler = ScoreHandler(FakeScorer(), tmp_path / "r", predict=models.predict_features)
    output = handler.run(context(JobKind.SCORE, score_spec(root), root))
    prediction = output.result["prediction"]
    assert prediction["model_version"] == 1
    assert math.isfinite(prediction["score"])
    assert output.result["results"][0]["prediction"] == prediction
    expected = models.engine.predict([[0.5] * N]).scores[0]  # FakeScorer's features are 0.5
    assert prediction["score"] == pytest.approx(float(expected), abs=1e-4)


def test_a_newer_active_checkpoint_is_what_later_scores_are_predicted_by(root, tmp_path, folder):
    publish(folder, 1, good_weights())
    models = node_models_for(folder)
    models.watcher.check()
    publish(folder, 2, random_weights(3))
    publish(folder, 3, random_weights(4), status="quarantined")
    assert models.watcher.check().version == 2
    handler = ScoreHandler(FakeScorer(), tmp_path / "r", predict=models.predict_features)
    output = handler.run(context(JobKind.SCORE, score_spec(root), root))
    assert output.result["prediction"]["model_version"] == 2  # never the quarantined 3


def test_without_a_loaded_model_the_prediction_is_null(root, tmp_path, folder):
    models = node_models_for(folder)
    assert models.watcher.check().action == "nothing"
    handler = ScoreHandler(FakeScorer(), tmp_path / "r", predict=models.predict_features)
    output = handler.run(context(JobKind.SCORE, score_spec(root), root))
    assert output.result["prediction"] is None
    assert output.result["results"][0]["prediction"] is None
    assert models.predict_features(None) is None


def test_a_node_without_inference_says_prediction_null(root, tmp_path):
    output = ScoreHandler(FakeScorer(), tmp_path / "r").run(
        context(JobKind.SCORE, score_spec(root), root)
    )
    assert output.result["prediction"] is None


# --- infer jobs ------------------------------------------------------------------------------------
def test_infer_runs_the_rows_on_the_served_model(root, folder):
    publish(folder, 1, good_weights())
    models = node_models_for(folder)
    models.watcher.check()
    data = rows(5)
    output = InferHandler(models).run(infer_job(root, rows=data))
    assert output.result["model"] == MODEL_NAME
    assert output.result["model_version"] == 1
    assert output.result["rows"] == 5
    expected = models.engine.predict(np.asarray(data, np.float32)).scores
    assert output.result["predictions"] == pytest.approx(expected.tolist(), abs=1e-5)


def test_infer_can_ask_for_another_listed_version_but_never_a_quarantined_one(root, folder):
    publish(folder, 1, good_weights())
    publish(folder, 2, random_weights(5))
    publish(folder, 3, random_weights(6), status="quarantined")
    models = node_models_for(folder)
    models.watcher.check()
    assert models.engine.version == 2
    handler = InferHandler(models)
    for version in ("1", "pinned:1"):
        assert (
            handler.run(infer_job(root, rows=rows(), version=version)).result["model_version"] == 1
        )
    assert handler.run(infer_job(root, rows=rows(), version="latest")).result["model_version"] == 2
    with pytest.raises(ModelError, match="quarantined version is never served"):
        handler.run(infer_job(root, rows=rows(), version="3"))
    with pytest.raises(ConfigError, match="latest-stable, latest, pinned"):
        handler.run(infer_job(root, rows=rows(), version="newest"))


def test_infer_refuses_another_model_and_rows_of_the_wrong_width(root, folder):
    publish(folder, 1, good_weights())
    models = node_models_for(folder)
    models.watcher.check()
    handler = InferHandler(models)
    with pytest.raises(UsageError, match="serves the model 'vmafx-tiny', not 'other'"):
        handler.run(context(JobKind.INFER, {"model": "other", "rows": rows()}, root))
    with pytest.raises(UsageError, match="have 3 features each; model version 1 takes 80"):
        handler.run(infer_job(root, rows=[[1.0, 2.0, 3.0]]))


def test_infer_before_the_first_checkpoint_fails_precisely(root, folder):
    with pytest.raises(ModelError, match="no model loaded yet"):
        InferHandler(node_models_for(folder)).run(infer_job(root, rows=rows()))


def test_infer_is_served_only_by_nodes_with_inference():
    kinds = (JobKind.SCORE, JobKind.INFER)
    assert "infer" in served_queues(dict.fromkeys(kinds))  # type: ignore[arg-type]


# --- metrics, settings, start-up ----------------------------------------------------------------
def test_model_metrics_follow_the_served_version_and_count_swaps(folder):
    models = node_models_for(folder)
    metrics = NodeMetrics()
    metrics.watch_models(models.engine)
    value = metrics.registry.get_sample_value
    assert value("vmafx_model_checkpoint_version") == 0
    assert value("vmafx_model_swaps_total") == 0
    publish(folder, 1, good_weights())
    models.watcher.check()
    publish(folder, 4, random_weights(2))
    models.watcher.check()
    assert value("vmafx_model_checkpoint_version") == 4
    assert value("vmafx_model_swaps_total") == 2


def test_the_model_folder_defaults_to_the_trainers_and_the_poll_is_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert model_folder(NodeSettings()) == tmp_path / "vmafx" / "models"
    env = {"VMAFX_NODE_MODEL_DIR": str(tmp_path / "m"), "VMAFX_NODE_MODEL_POLL_S": "0.5"}
    settings = node_settings(env=env)
    assert (model_folder(settings), settings.model_poll_s) == (tmp_path / "m", 0.5)
    with pytest.raises(ConfigError, match="VMAFX_NODE_MODEL_POLL_S"):
        node_settings(env={"VMAFX_NODE_MODEL_POLL_S": "0"})


def test_without_onnx_runtime_inference_is_off_with_one_log_line(monkeypatch, caplog):
    def missing(**_: object) -> None:
        raise MissingExtraError("no onnxruntime", extra="ai", command="pip install 'vmafx[ai]'")

    monkeypatch.setattr(node_models, "InferenceEngine", missing)
    with caplog.at_level(logging.INFO, logger="vmafx.node.models"):
        assert node_models.start_models(NodeSettings()) is None
    assert [r.message for r in caplog.records] == [
        "model inference is off: ONNX Runtime is not installed (pip install 'vmafx[ai]')"
    ]


def test_started_models_pick_up_a_checkpoint_by_themselves(folder):
    settings = NodeSettings(model_dir=folder, model_poll_s=0.02)
    models = node_models.start_models(settings)
    assert models is not None
    try:
        publish(folder, 1, good_weights())
        for _ in range(250):
            if models.engine.version == 1:
                break
            time.sleep(0.02)
        assert models.engine.version == 1
    finally:
        models.stop()
