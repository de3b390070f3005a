"""A refused checkpoint makes the node fall back to the newest intact verified version, and says so.

Intact means: SHA-256 verified (digest file and registry), the right input size, loadable, and
not quarantined. Checkpoints are real ONNX files written as the trainer writes them.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from tests.unit.ai.conftest import N, good_weights, random_weights

from vmafx.errors import ModelError

WATCHER = "vmafx.ai.hotswap"


def watcher_for(folder: Path, policy: str = "latest-stable"):
    from vmafx.ai.hotswap import ModelWatcher
    from vmafx.ai.inference import InferenceEngine

    engine = InferenceEngine(n_features=N)
    return engine, ModelWatcher(engine, folder, policy=policy)


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


def warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_a_corrupt_active_checkpoint_falls_back_to_the_newest_intact_version(publish, caplog):
    publish(1, random_weights(1))
    publish(2, good_weights())
    truncate(publish(3, random_weights(3)))
    engine, watcher = watcher_for(publish.folder)
    with caplog.at_level(logging.WARNING, logger=WATCHER):
        outcome = watcher.check()
    assert (outcome.action, outcome.version, outcome.serving) == ("refused", 3, 2)
    assert engine.version == 2
    assert engine.predict(np.zeros(N)).version == 2
    [line] = warnings(caplog)
    assert line.startswith("model version 3 refused: The checkpoint model_v000003.onnx fails ")
    assert "(corrupt, truncated or replaced); serving version 2 instead" in line
    assert watcher.problem is None


def test_the_fallback_skips_quarantined_wrong_size_and_mismatched_versions(publish, caplog):
    from vmafx.ai.checkpoints import digest_path

    publish(1, good_weights())
    publish(2, random_weights(2), status="quarantined")
    publish(3, random_weights(3, n=40))  # another feature schema
    digest_path(publish(4, random_weights(4))).write_text("0" * 64 + "\n")
    publish(5, random_weights(5), status="candidate")  # not stable: latest-stable skips it
    engine, watcher = watcher_for(publish.folder)
    with caplog.at_level(logging.WARNING, logger=WATCHER):
        outcome = watcher.check()
    assert (outcome.action, outcome.version, outcome.serving, engine.version) == (
        "refused",
        4,
        1,
        1,
    )
    assert [v for v, _ in outcome.refused] == [4, 3]
    lines = warnings(caplog)
    assert len(lines) == 2
    assert lines[0].startswith("model version 4 refused: The checkpoint model_v000004.onnx fails")
    assert lines[0].endswith("; serving version 1 instead")
    assert lines[1].startswith("model version 3 refused: The model model_v000003.onnx takes input")
    assert "the feature schema has 80 features" in lines[1]
    assert lines[1].endswith("; serving version 1 instead")


def test_the_refusal_is_logged_once_not_at_every_poll(publish, caplog):
    publish(1, good_weights())
    truncate(publish(2, random_weights(2)))
    engine, watcher = watcher_for(publish.folder)
    with caplog.at_level(logging.WARNING, logger=WATCHER):
        first = watcher.check()
        again = [watcher.check() for _ in range(3)]
    assert (first.action, first.serving) == ("refused", 1)
    assert all((o.action, o.version, o.serving) == ("refused", 2, 1) for o in again)
    assert len(warnings(caplog)) == 1
    assert engine.swaps_total == 1


def test_a_node_already_serving_moves_to_the_newest_intact_version(publish, caplog):
    publish(1, random_weights(1))
    engine, watcher = watcher_for(publish.folder)
    assert watcher.check().action == "swapped"
    publish(2, good_weights())
    shutil.copy(publish.folder / "model_v000001.onnx", publish(3, random_weights(3)))  # replaced
    with caplog.at_level(logging.WARNING, logger=WATCHER):
        outcome = watcher.check()
    assert (outcome.action, outcome.version, outcome.serving, engine.version) == (
        "refused",
        3,
        2,
        2,
    )
    assert warnings(caplog)[0].endswith("; serving version 2 instead")


def test_a_new_corrupt_version_keeps_the_served_one_and_says_so(publish, caplog):
    publish(1, good_weights())
    engine, watcher = watcher_for(publish.folder)
    watcher.check()
    truncate(publish(2, random_weights(2)))
    with caplog.at_level(logging.WARNING, logger=WATCHER):
        outcome = watcher.check()
    assert (outcome.action, outcome.serving, engine.version, engine.swaps_total) == (
        "refused",
        1,
        1,
        1,
    )
    [line] = warnings(caplog)
    assert line.startswith("model version 2 refused: ")
    assert line.endswith("; still serving version 1")


def test_with_no_intact_version_predictions_are_absent_with_the_reason(publish, caplog):
    from vmafx.node.models import NodeModels

    truncate(publish(1, good_weights()))
    engine, watcher = watcher_for(publish.folder)
    models = NodeModels(engine, watcher)
    with caplog.at_level(logging.WARNING, logger=WATCHER):
        outcome = watcher.check()
    assert (outcome.action, outcome.version, outcome.serving) == ("refused", 1, None)
    assert engine.current is None
    [line] = warnings(caplog)
    assert line.startswith("model version 1 refused: The checkpoint model_v000001.onnx fails")
    assert line.endswith(
        "; no intact model version to fall back on: predictions are off until a sound "
        "checkpoint is published"
    )
    assert watcher.problem is not None and "model version 1 refused" in watcher.problem
    from vmafx.core.features import SCHEMA_V1, FeatureVector

    features = FeatureVector(SCHEMA_V1, tuple(f"f{i}" for i in range(N)), (0.5,) * N)
    assert models.predict_features(features) is None  # a score goes on, without a prediction
    with pytest.raises(ModelError) as caught:
        models.infer("vmafx-tiny", None, [[0.0] * N])
    assert "no model loaded yet" in caught.value.message
    assert "model version 1 refused" in caught.value.message
    publish(2, good_weights())  # a sound checkpoint arrives
    assert watcher.check().action == "swapped"
    assert watcher.problem is None
    assert models.predict_features(features) is not None


def test_a_score_job_goes_on_without_a_prediction_when_no_version_is_intact(publish, tmp_path):
    from tests.unit.node.test_handlers import MEDIA, FakeScorer, context, score_spec

    from vmafx.core.jobs import JobKind
    from vmafx.node.handlers.score import ScoreHandler
    from vmafx.node.models import NodeModels

    truncate(publish(1, good_weights()))
    engine, watcher = watcher_for(publish.folder)
    models = NodeModels(engine, watcher)
    watcher.check()
    root = tmp_path / "media"
    root.mkdir()
    for name in ("ref.y4m", "dis.mp4"):
        shutil.copy(MEDIA / name, root / name)
    handler = ScoreHandler(FakeScorer(), tmp_path / "r", predict=models.predict_features)
    output = handler.run(context(JobKind.SCORE, score_spec(root), root))
    assert output.result["prediction"] is None
    assert output.result["results"]


def test_a_pinned_version_is_never_replaced_by_another(publish, caplog):
    publish(1, good_weights())
    truncate(publish(2, random_weights(2)))
    engine, watcher = watcher_for(publish.folder, policy="pinned:2")
    with caplog.at_level(logging.WARNING, logger=WATCHER):
        outcome = watcher.check()
    assert (outcome.action, outcome.serving, engine.current) == ("refused", None, None)
    [line] = warnings(caplog)
    assert line.endswith(
        "; no intact model version to fall back on (the policy pinned:2 allows no other): "
        "predictions are off until a sound checkpoint is published"
    )


def test_a_served_version_that_is_quarantined_later_stops_being_served(publish, caplog):
    publish(1, good_weights())
    engine, watcher = watcher_for(publish.folder)
    watcher.check()
    registry_file = publish.folder / "registry.json"
    data = json.loads(registry_file.read_text())
    data["versions"][0]["status"] = "quarantined"
    registry_file.write_text(json.dumps(data))
    with caplog.at_level(logging.WARNING, logger=WATCHER):
        outcome = watcher.check()
    assert (outcome.action, engine.current) == ("nothing", None)
    [line] = warnings(caplog)
    assert line == (
        "model version 1 is no longer served: no version fits the policy latest-stable "
        "(a quarantined version is never served); predictions are off until a sound "
        "checkpoint is published"
    )


def test_infer_asking_for_latest_stable_falls_back_too(publish, tmp_path):
    from vmafx.node.models import NodeModels

    publish(1, good_weights())
    publish(2, random_weights(2))
    engine, watcher = watcher_for(publish.folder, policy="pinned:2")
    models = NodeModels(engine, watcher)
    watcher.check()
    truncate(publish(3, random_weights(3)))
    answer = models.infer("vmafx-tiny", "latest-stable", [[0.0] * N])
    assert answer["model_version"] == 2
    with pytest.raises(ModelError, match="model_v000003.onnx fails verification"):
        models.infer("vmafx-tiny", "3", [[0.0] * N])


def test_a_restarted_trainer_resumes_from_the_newest_intact_active_version(
    publish, needs_torch, caplog
):
    from vmafx.ai.trainer.app import initial_model
    from vmafx.ai.trainer.settings import SidecarSettings

    publish(1, random_weights(1))
    publish(2, good_weights())
    truncate(publish(3, random_weights(3)))
    settings = SidecarSettings(checkpoint_dir=publish.folder)
    with caplog.at_level(logging.WARNING, logger="vmafx.ai.trainer.model"):
        model, origin = initial_model(settings, publish.folder)
    assert origin == "resumed v2"
    weights = good_weights()
    np.testing.assert_array_equal(model.mean.numpy(), weights.mean)
    [line] = warnings(caplog)
    assert line.startswith("model version 3 refused: The checkpoint model_v000003.onnx fails ")
    assert line.endswith("; the trainer resumes from version 2 instead")


def test_a_trainer_whose_every_checkpoint_is_corrupt_starts_fresh_and_says_so(
    publish, needs_torch, caplog
):
    from vmafx.ai.trainer.app import initial_model
    from vmafx.ai.trainer.settings import SidecarSettings

    truncate(publish(1, good_weights()))
    settings = SidecarSettings(checkpoint_dir=publish.folder, seed=3)
    with caplog.at_level(logging.WARNING, logger="vmafx.ai.trainer.model"):
        _, origin = initial_model(settings, publish.folder)
    assert origin == "fresh"
    [line] = warnings(caplog)
    assert line.endswith("; no intact version to resume from: the trainer starts a fresh model")


def test_the_gate_compares_with_the_newest_intact_active_version_when_the_active_is_corrupt(
    publish,
):
    from tests.unit.ai.test_gate import degrade, gate_with_holdout

    from vmafx.ai.registry import Policy, read_registry
    from vmafx.ai.trainer.export import model_bytes

    publish(1, good_weights())
    truncate(publish(2, good_weights()))
    active, *older = read_registry(publish.folder).servable(Policy("latest-stable"))
    verdict = gate_with_holdout(200).judge(
        model_bytes(degrade(good_weights(), 0.05)), active, publish.folder, older=older
    )
    assert (verdict.status, verdict.baseline_version) == ("quarantined", 1)
    assert "for version 1 (the active version 2 could not be scored (The checkpoint" in (
        verdict.reason
    )
    assert "a drop of" in verdict.reason
