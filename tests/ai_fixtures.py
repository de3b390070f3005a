"""Factories shared by the unit and integration AI tests: model weights that predict the synthetic
scores well or badly, published checkpoint folders, and the torch / ONNX Runtime requirements
(skip locally, fail in CI). Each conftest re-exports them so pytest finds the fixtures."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import require

from vmafx.ai.samples import synthetic_layout

N = 80


def has(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


@pytest.fixture
def needs_torch() -> None:
    require(has("torch", "onnx", "onnxruntime"), "torch + onnx + onnxruntime (vmafx[train])")
    import torch

    torch.set_num_threads(1)  # as the trainer runs: a tiny model, threads only contend


@pytest.fixture
def needs_ort() -> None:
    require(has("onnx", "onnxruntime"), "onnx + onnxruntime (vmafx[ai,train])")


def good_weights(n: int = N, hidden: int = 4):
    """An MLP that recovers the synthetic score almost exactly (PLCC ≈ 0.99)."""
    from vmafx.ai.trainer.export import MlpWeights

    offsets, scales, signs = synthetic_layout(n)
    w1 = np.zeros((hidden, n), np.float32)
    w1[0] = signs / n
    b1 = np.zeros(hidden, np.float32)
    b1[0] = 0.5  # keeps the ReLU open for every quality in [0, 1] plus noise
    w2 = np.zeros((1, hidden), np.float32)
    w2[0, 0] = 0.75
    b2 = np.array([0.2 - 0.75 * 0.5], np.float32)
    return MlpWeights(
        offsets.astype(np.float32),
        (1.0 / scales).astype(np.float32),
        ((w1, b1), (w2, b2)),
        100.0,
    )


def random_weights(seed: int, n: int = N, hidden: int = 8):
    from vmafx.ai.trainer.export import MlpWeights

    rng = np.random.default_rng(seed)
    layers = (
        (
            rng.normal(0, 0.3, (hidden, n)).astype(np.float32),
            rng.normal(0, 0.1, hidden).astype(np.float32),
        ),
        (
            rng.normal(0, 0.3, (1, hidden)).astype(np.float32),
            rng.normal(0, 0.1, 1).astype(np.float32),
        ),
    )
    return MlpWeights(np.zeros(n, np.float32), np.ones(n, np.float32), layers, 100.0)


Publish = Callable[..., Path]


@pytest.fixture
def publish(tmp_path: Path, needs_ort: None) -> Publish:
    """publish(version, weights, status="active") writes a checkpoint and lists it in the registry."""
    from vmafx.ai.registry import ModelStatus, ModelVersion, Registry, read_registry, write_registry
    from vmafx.ai.trainer.export import export_checkpoint

    folder = tmp_path / "models"

    def _publish(version: int, weights, status: str = "active", n_features: int = N) -> Path:
        path, digest = export_checkpoint(folder, version, weights)
        registry = read_registry(folder) or Registry(
            feature_schema="vmafx-features-v1", n_features=n_features
        )
        entry = ModelVersion(
            version, path.name, digest, ModelStatus(status), "2026-01-01T00:00:00+00:00"
        )
        write_registry(folder, registry.with_version(entry, updated_at="2026-01-01T00:00:00+00:00"))
        return path

    _publish.folder = folder  # type: ignore[attr-defined]
    return _publish
