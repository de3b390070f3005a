"""ONNX Runtime inference: provider choice, loading, refusing models that do not fit."""

from __future__ import annotations

import numpy as np
import pytest
from tests.unit.ai.conftest import N, good_weights, random_weights

from vmafx.ai.samples import synthetic_samples
from vmafx.errors import ModelError, UsageError


def test_providers_are_chosen_gpu_first_and_always_end_with_cpu():
    from vmafx.ai.inference import choose_providers

    everything = [
        "CPUExecutionProvider",
        "OpenVINOExecutionProvider",
        "CUDAExecutionProvider",
        "ROCMExecutionProvider",
    ]
    assert choose_providers(everything) == [
        "CUDAExecutionProvider",
        "ROCMExecutionProvider",
        "OpenVINOExecutionProvider",
        "CPUExecutionProvider",
    ]
    assert choose_providers(["AzureExecutionProvider", "CPUExecutionProvider"]) == [
        "CPUExecutionProvider"
    ]
    assert choose_providers(everything, ["OpenVINOExecutionProvider"]) == [
        "OpenVINOExecutionProvider",
        "CPUExecutionProvider",
    ]
    assert choose_providers(["CPUExecutionProvider"], ["CUDAExecutionProvider"]) == [
        "CPUExecutionProvider"
    ]


def test_the_engine_predicts_what_the_weights_compute(publish):
    from vmafx.ai.inference import InferenceEngine

    weights = good_weights()
    path = publish(1, weights)
    engine = InferenceEngine(n_features=N)
    engine.install(engine.load(path, version=1))
    rows, scores = synthetic_samples(64, seed=3)
    prediction = engine.predict(rows)
    assert prediction.version == 1
    assert prediction.scores.shape == (64,)
    np.testing.assert_allclose(
        prediction.scores, weights.predict(rows).reshape(-1), rtol=1e-5, atol=1e-3
    )
    assert np.corrcoef(prediction.scores, scores)[0, 1] > 0.98
    assert engine.predict(rows[0]).scores.shape == (1,)
    assert engine.current.providers[-1] == "CPUExecutionProvider"


def test_a_model_whose_input_size_differs_from_the_schema_is_refused(publish):
    from vmafx.ai.inference import InferenceEngine

    path = publish(1, random_weights(0, n=79), n_features=79)
    with pytest.raises(
        ModelError, match=r"takes input of shape \['batch', 79\]; the feature schema has 80"
    ):
        InferenceEngine(n_features=N).load(path)


def test_bytes_that_are_not_onnx_are_refused_without_crashing(tmp_path, needs_ort):
    from vmafx.ai.checkpoints import write_checkpoint
    from vmafx.ai.inference import InferenceEngine

    path, _ = write_checkpoint(tmp_path, 1, b"\x08\x07garbage that hashes fine")
    with pytest.raises(ModelError, match="is not a loadable ONNX model"):
        InferenceEngine(n_features=N).load(path)


def test_predicting_before_any_model_or_with_wrong_rows_is_refused(publish):
    from vmafx.ai.inference import InferenceEngine

    engine = InferenceEngine(n_features=N)
    with pytest.raises(ModelError, match="No model is loaded yet"):
        engine.predict(np.zeros(N))
    engine.install(engine.load(publish(1, good_weights())))
    with pytest.raises(UsageError, match=r"shape \[2, 79\] do not fit"):
        engine.predict(np.zeros((2, 79)))


def test_installing_counts_swaps_and_serves_the_new_version(publish):
    from vmafx.ai.inference import InferenceEngine

    engine = InferenceEngine(n_features=N)
    first = engine.load(publish(1, good_weights()), version=1)
    second = engine.load(publish(2, random_weights(1)), version=2)
    engine.install(first)
    held = engine.current
    engine.install(second)
    assert (engine.version, engine.swaps_total) == (2, 2)
    assert held is first  # a caller holding the old model keeps a working session
    assert held.predict(np.zeros((1, N), np.float32)).shape == (1,)


def test_a_model_with_a_fixed_batch_of_one_is_refused(tmp_path, needs_ort):
    from onnx import TensorProto, helper

    from vmafx.ai.checkpoints import write_checkpoint
    from vmafx.ai.inference import InferenceEngine

    graph = helper.make_graph(
        [helper.make_node("ReduceSum", ["features"], ["score"], keepdims=1)],
        "fixed",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, N])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, [1, 1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path, _ = write_checkpoint(tmp_path, 1, model.SerializeToString())
    with pytest.raises(ModelError, match="takes input of shape|fails on a batch of 2 rows"):
        InferenceEngine(n_features=N).load(path)
