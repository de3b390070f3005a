"""Factories for the AI tests: model weights that predict the synthetic scores well or badly,
published checkpoint folders, and the torch / ONNX Runtime requirements (skip locally, fail in CI)."""

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


@pytest.fixture
def short_dir():
    """A short folder for sockets (a Unix socket path must fit in 108 bytes)."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="vx", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


class Conn:
    """A test client: raw lines out, parsed acks in (5 s timeout)."""

    def __init__(self, path: Path) -> None:
        import socket

        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5.0)
        self.sock.connect(str(path))
        self.reader = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def ack(self) -> dict:
        import json

        line = self.reader.readline()
        assert line.endswith(b"\n"), f"connection closed (got {line!r})"
        return json.loads(line)

    def at_eof(self) -> bool:
        return self.reader.readline() == b""

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


@pytest.fixture
def start_trainer(tmp_path: Path, short_dir: Path, needs_torch: None):
    """start_trainer(**settings) → a running TrainerApp on a private socket; stopped afterwards."""
    import dataclasses

    from vmafx.ai.trainer.app import TrainerApp
    from vmafx.config import SidecarSettings

    apps = []

    def _start(**overrides):
        base = SidecarSettings(
            socket=short_dir / "t.sock",
            checkpoint_dir=tmp_path / "models",
            status_port=0,
            seed=1,
            idle_timeout_s=10.0,
        )
        app = TrainerApp(dataclasses.replace(base, **overrides).checked())
        app.start()
        apps.append(app)
        return app

    yield _start
    for app in apps:
        app.stop()


def training_job_ids(n: int, every: int = 10, prefix: str = "job") -> list[str]:
    """Job ids the held-out split leaves to training (so step counts are exact)."""
    import zlib

    ids = (f"{prefix}-{i}" for i in range(10 * n + 100))
    return [j for j in ids if zlib.crc32(j.encode()) % every != 0][:n]


@pytest.fixture
def connect():
    """connect(path) → a Conn, closed at teardown."""
    opened: list[Conn] = []

    def _connect(path: Path) -> Conn:
        conn = Conn(path)
        opened.append(conn)
        return conn

    yield _connect
    for conn in opened:
        conn.close()
