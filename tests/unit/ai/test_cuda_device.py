"""`VMAFX_SIDECAR_CUDA=1` and ONNX Runtime's CUDA provider, with availability monkeypatched: the
development and CI machines have a CPU-only torch and onnxruntime. Never run on a GPU here."""

from __future__ import annotations

import logging
import random

import numpy as np
import pytest
import torch

from vmafx.ai.inference import choose_providers, cuda_provider_note
from vmafx.ai.trainer.app import TrainerApp
from vmafx.ai.trainer.device import training_device
from vmafx.ai.trainer.learner import Learner
from vmafx.ai.trainer.model import QualityMlp
from vmafx.ai.trainer.replay import Batch
from vmafx.ai.trainer.settings import sidecar_settings


def test_the_cpu_unless_asked():
    chosen = training_device(False, cuda_available=lambda: True)
    assert chosen.device == torch.device("cpu")
    assert chosen.reason == "cpu (VMAFX_SIDECAR_CUDA not set)"


def test_cuda_asked_and_available_moves_to_the_first_gpu():
    chosen = training_device(True, cuda_available=lambda: True)
    assert chosen.device == torch.device("cuda", 0)
    assert chosen.name == "cuda:0"
    assert chosen.reason.startswith("cuda:0 (")


def test_cuda_asked_without_one_trains_on_the_cpu_and_says_why(caplog):
    with caplog.at_level(logging.WARNING, logger="vmafx.ai.trainer.device"):
        chosen = training_device(True, cuda_available=lambda: False)
    assert chosen.device == torch.device("cpu")
    assert "VMAFX_SIDECAR_CUDA=1 but torch.cuda.is_available() is False" in chosen.reason
    if "+cpu" in torch.__version__:
        assert "CPU-only build" in chosen.reason
    assert "trainer falls back to the CPU" in caplog.text


def test_the_setting_is_read_from_the_environment(tmp_path):
    env = {"VMAFX_SIDECAR_CUDA": "1", "VMAFX_SIDECAR_CHECKPOINT_DIR": str(tmp_path)}
    assert sidecar_settings(env=env).cuda is True
    assert sidecar_settings(env={"VMAFX_SIDECAR_CHECKPOINT_DIR": str(tmp_path)}).cuda is False


def test_the_trainer_reports_its_device_in_status(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    env = {
        "VMAFX_SIDECAR_CUDA": "1",
        "VMAFX_SIDECAR_CHECKPOINT_DIR": str(tmp_path / "models"),
        "VMAFX_SIDECAR_SOCKET": str(tmp_path / "s.sock"),
        "VMAFX_SIDECAR_STATUS_PORT": "",
    }
    app = TrainerApp(sidecar_settings(env=env))
    status = app.status()
    assert status["device"] == "cpu"
    assert "VMAFX_SIDECAR_CUDA=1" in str(status["device_reason"])


def test_a_learner_on_an_explicit_device_trains_there():
    settings = sidecar_settings(env={"VMAFX_SIDECAR_N_FEATURES": "4"}).checked()
    learner = Learner(settings, QualityMlp(4), rng=random.Random(1), device=torch.device("cpu"))
    rows = [(np.full(4, i, dtype=np.float32), float(i)) for i in range(8)]
    loss = learner.train_step(Batch(new=rows, replayed=[]))
    assert np.isfinite(loss)
    assert all(p.device == torch.device("cpu") for p in learner.live.parameters())
    assert learner.live.mean.device == torch.device("cpu")


def test_onnx_runtime_picks_cuda_when_the_installed_build_has_it():
    available = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers(available) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert cuda_provider_note(available) is None


def test_without_the_cuda_provider_the_note_names_onnxruntime_gpu():
    note = cuda_provider_note(["CPUExecutionProvider"])
    assert note is not None
    assert "onnxruntime-gpu" in note
    assert "offers CPUExecutionProvider" in note


@pytest.mark.parametrize("available", [[], ["CPUExecutionProvider"]])
def test_the_cpu_provider_is_always_the_fallback(available):
    assert choose_providers(available)[-1] == "CPUExecutionProvider"
