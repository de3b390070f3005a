"""The watcher follows the registry and refuses everything that must never be served."""

from __future__ import annotations

import json

import numpy as np
from tests.unit.ai.conftest import N, good_weights, random_weights


def engine_and_watcher(folder, policy="latest-stable"):
    from vmafx.ai.hotswap import ModelWatcher
    from vmafx.ai.inference import InferenceEngine

    engine = InferenceEngine(n_features=N)
    return engine, ModelWatcher(engine, folder, policy=policy)


def test_nothing_happens_before_there_is_a_registry(tmp_path, needs_ort):
    engine, watcher = engine_and_watcher(tmp_path)
    assert watcher.check().action == "nothing"
    assert engine.current is None


def test_the_watcher_swaps_to_each_new_stable_version_once(publish):
    publish(1, good_weights())
    engine, watcher = engine_and_watcher(publish.folder)
    assert watcher.check().action == "swapped"
    assert watcher.check().action == "unchanged"
    publish(2, random_weights(2))
    outcome = watcher.check()
    assert (outcome.action, outcome.version, engine.version, engine.swaps_total) == (
        "swapped",
        2,
        2,
        2,
    )


def test_candidates_and_quarantined_versions_are_not_served_under_latest_stable(publish):
    publish(1, good_weights())
    publish(2, random_weights(2), status="candidate")
    publish(3, random_weights(3), status="quarantined")
    engine, watcher = engine_and_watcher(publish.folder)
    watcher.check()
    assert engine.version == 1
    _, latest = engine_and_watcher(publish.folder, policy="latest")
    latest.check()
    assert latest.engine.version == 2


def test_a_truncated_checkpoint_is_refused_and_the_old_model_keeps_serving(publish):
    publish(1, good_weights())
    engine, watcher = engine_and_watcher(publish.folder)
    watcher.check()
    path = publish(2, random_weights(2))
    path.write_bytes(path.read_bytes()[:100])
    outcome = watcher.check()
    assert outcome.action == "refused"
    assert "fails verification" in outcome.reason
    assert engine.version == 1
    assert engine.predict(np.zeros(N)).version == 1
    assert "fails verification" in watcher.refused[2]


def test_a_hash_mismatch_with_the_registry_is_refused(publish):
    publish(1, good_weights())
    engine, watcher = engine_and_watcher(publish.folder)
    watcher.check()
    publish(2, random_weights(2))
    reg_file = publish.folder / "registry.json"
    data = json.loads(reg_file.read_text())
    data["versions"][1]["sha256"] = "0" * 64
    reg_file.write_text(json.dumps(data))
    outcome = watcher.check()
    assert (outcome.action, engine.version) == ("refused", 1)
    assert "the registry lists" in outcome.reason


def test_a_corrupt_file_with_a_matching_digest_is_refused(publish):
    from vmafx.ai.checkpoints import digest_path, sha256_hex

    path = publish(1, good_weights())
    garbage = b"\x12\x34" * 500
    path.write_bytes(garbage)
    digest_path(path).write_text(sha256_hex(garbage) + "\n")
    reg_file = publish.folder / "registry.json"
    reg_file.write_text(
        reg_file.read_text().replace(
            json.loads(reg_file.read_text())["versions"][0]["sha256"], sha256_hex(garbage)
        )
    )
    engine, watcher = engine_and_watcher(publish.folder)
    outcome = watcher.check()
    assert outcome.action == "refused"
    assert "not a loadable ONNX model" in outcome.reason
    assert engine.current is None


def test_a_model_for_another_feature_count_is_refused(publish):
    publish(1, random_weights(0, n=40))
    engine, watcher = engine_and_watcher(publish.folder)
    outcome = watcher.check()
    assert outcome.action == "refused"
    assert "the feature schema has 80" in outcome.reason
    assert engine.current is None


def test_a_refusal_is_remembered_until_the_file_changes(publish, monkeypatch):
    path = publish(1, good_weights())
    good = path.read_bytes()
    path.write_bytes(good[:50])
    engine, watcher = engine_and_watcher(publish.folder)
    calls = []
    original = engine.load
    monkeypatch.setattr(engine, "load", lambda *a, **k: calls.append(1) or original(*a, **k))
    assert watcher.check().action == "refused"
    assert watcher.check().action == "refused"
    assert len(calls) == 1
    path.write_bytes(good)  # repaired
    assert watcher.check().action == "swapped"
    assert engine.version == 1


def test_an_unreadable_registry_keeps_the_current_model(publish):
    publish(1, good_weights())
    engine, watcher = engine_and_watcher(publish.folder)
    watcher.check()
    (publish.folder / "registry.json").write_text("{broken")
    outcome = watcher.check()
    assert outcome.action == "refused"
    assert engine.version == 1
