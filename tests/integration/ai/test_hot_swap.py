"""Hot swap with calls in flight: no call fails, each runs wholly on one version, bad files refused."""

from __future__ import annotations

import threading

import numpy as np
from tests.integration.ai.conftest import N, good_weights, random_weights

from vmafx.ai.samples import synthetic_samples


def test_calls_in_flight_finish_on_the_model_they_started_with(needs_ort, publish):
    from vmafx.ai.inference import InferenceEngine, LoadedModel

    engine = InferenceEngine(n_features=N)
    engine.install(engine.load(publish(1, good_weights()), version=1))
    entered, release = threading.Event(), threading.Event()
    real = engine.current

    class SlowSession:
        def run(self, outputs, feeds):
            entered.set()
            release.wait(5)
            return real.session.run(outputs, feeds)

    slow = LoadedModel(1, real.path, real.sha256, N, real.providers, SlowSession(), real.input_name)
    engine.install(slow)
    result: list = []
    caller = threading.Thread(target=lambda: result.append(engine.predict(np.zeros(N))))
    caller.start()
    assert entered.wait(5)
    engine.install(engine.load(publish(2, random_weights(2)), version=2))  # swap mid-call
    assert engine.version == 2
    release.set()
    caller.join(5)
    assert result[0].version == 1
    np.testing.assert_allclose(
        result[0].scores, good_weights().predict(np.zeros((1, N))).reshape(-1), rtol=1e-4
    )


def test_swapping_under_load_fails_no_call_and_never_serves_a_bad_file(needs_ort, publish):
    from vmafx.ai.hotswap import ModelWatcher
    from vmafx.ai.inference import InferenceEngine

    weights = {1: good_weights()}
    publish(1, weights[1])
    engine = InferenceEngine(n_features=N)
    watcher = ModelWatcher(engine, publish.folder)
    assert watcher.check().action == "swapped"
    rows, _ = synthetic_samples(32, seed=2)
    expected = {}
    stop = threading.Event()
    failures: list[BaseException] = []
    calls = [0]
    seen_versions: set[int] = set()

    def caller() -> None:
        i = 0
        while not stop.is_set():
            try:
                prediction = engine.predict(rows[i % 32])
            except BaseException as exc:
                failures.append(exc)
                continue
            seen_versions.add(prediction.version)
            want = weights[prediction.version].predict(rows[i % 32 : i % 32 + 1]).reshape(-1)
            if not np.allclose(prediction.scores, want, rtol=1e-4, atol=1e-3):
                failures.append(
                    AssertionError(f"v{prediction.version} answered like another version")
                )
            i += 1
            calls[0] += 1

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for t in threads:
        t.start()
    for version in range(2, 14):
        weights[version] = random_weights(version)
        path = publish(version, weights[version])
        if version in (5, 9):  # a truncated file, then a hash mismatch: both refused
            path.write_bytes(
                path.read_bytes()[: 200 if version == 5 else -1] + (b"" if version == 5 else b"x")
            )
            assert watcher.check().action == "refused"
            assert engine.version == version - 1
            del weights[version]
            weights[version] = random_weights(version + 100)
            publish(version, weights[version])  # republished sound
        assert watcher.check().action == "swapped"
        expected[version] = True
    stop.set()
    for t in threads:
        t.join(10)
    assert failures == []
    assert calls[0] > 100
    assert engine.version == 13
    assert engine.swaps_total == 13
    assert len(seen_versions) > 3
