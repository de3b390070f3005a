"""Trainer settings from VMAFX_SIDECAR_*, the missing-extra message, and `vmafx models list`."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vmafx.ai.checkpoints import checkpoint_name
from vmafx.ai.figures import Figures
from vmafx.ai.registry import ModelStatus, ModelVersion, Registry, write_registry
from vmafx.ai.trainer.settings import sidecar_settings
from vmafx.cli.app import app
from vmafx.errors import ConfigError, MissingExtraError, exit_code_for


def test_every_sidecar_setting_of_the_design_is_read_from_the_environment(tmp_path):
    env = {
        "VMAFX_SIDECAR_SOCKET": str(tmp_path / "t.sock"),
        "VMAFX_SIDECAR_CHECKPOINT_DIR": str(tmp_path / "models"),
        "VMAFX_SIDECAR_REPLAY_CAPACITY": "500",
        "VMAFX_SIDECAR_BATCH_SIZE": "16",
        "VMAFX_SIDECAR_REPLAY_MIX": "0.25",
        "VMAFX_SIDECAR_LR": "0.001",
        "VMAFX_SIDECAR_EMA_DECAY": "0.99",
        "VMAFX_SIDECAR_CKPT_INTERVAL_S": "0",
        "VMAFX_SIDECAR_MIN_SAMPLES_CKPT": "64",
        "VMAFX_SIDECAR_N_FEATURES": "80",
        "VMAFX_BASE_MODEL_PATH": str(tmp_path / "base.pt"),
        "VMAFX_SIDECAR_STATUS_PORT": "",
    }
    s = sidecar_settings(env=env)
    assert s.socket == tmp_path / "t.sock"
    assert s.checkpoint_dir == tmp_path / "models"
    assert (s.replay_capacity, s.batch_size, s.replay_mix, s.lr, s.ema_decay) == (
        500,
        16,
        0.25,
        0.001,
        0.99,
    )
    assert (s.ckpt_interval_s, s.min_samples_ckpt, s.n_features) == (0.0, 64, 80)
    assert s.base_model_path == tmp_path / "base.pt"
    assert s.status_port is None


def test_the_defaults_are_the_originals():
    s = sidecar_settings(env={"XDG_STATE_HOME": "/state"})
    assert s.socket == Path("/tmp/vmafx-sidecar.sock")
    assert s.checkpoint_dir == Path("/state/vmafx/models")
    assert (s.replay_capacity, s.batch_size, s.replay_mix, s.lr) == (10_000, 32, 0.5, 1e-4)
    assert (s.ema_decay, s.ckpt_interval_s, s.min_samples_ckpt, s.n_features) == (
        0.999,
        600.0,
        1000,
        80,
    )


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("REPLAY_MIX", "1.0", "VMAFX_SIDECAR_REPLAY_MIX is 1.0; it must be in [0, 1)"),
        ("EMA_DECAY", "1", "VMAFX_SIDECAR_EMA_DECAY is 1.0; it must be in [0, 1)"),
        ("BATCH_SIZE", "0", "VMAFX_SIDECAR_BATCH_SIZE is 0"),
        ("LR", "abc", "VMAFX_SIDECAR_LR has the value 'abc'"),
    ],
)
def test_impossible_settings_are_config_errors(key, value, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace(")", r"\)")):
        sidecar_settings(env={f"VMAFX_SIDECAR_{key}": value})


def test_a_missing_extra_names_the_exact_install_command(monkeypatch):
    from vmafx.ai.trainer import require_torch

    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "torch" else object()
    )
    with pytest.raises(MissingExtraError) as info:
        require_torch()
    assert info.value.command == "pip install 'vmafx[train]'"
    assert str(info.value) == (
        "The trainer needs torch, which is not installed. Install it with: pip install 'vmafx[train]'"
    )
    assert exit_code_for(info.value) == 19


def write_two_versions(folder: Path) -> None:
    entries = (
        ModelVersion(
            1,
            checkpoint_name(1),
            "a" * 64,
            ModelStatus.active,
            "2026-01-01T00:00:00+00:00",
            step=10,
            samples=160,
            figures=Figures(0.91, 0.9, 5.0, 40),
        ),
        ModelVersion(
            2,
            checkpoint_name(2),
            "b" * 64,
            ModelStatus.quarantined,
            "2026-01-01T00:10:00+00:00",
            figures=Figures(0.8, 0.79, 8.0, 40),
            baseline_version=1,
            baseline_figures=Figures(0.91, 0.9, 5.0, 40),
            reason="drop",
        ),
    )
    write_registry(folder, Registry(entries, "vmafx-features-v1", 80, "2026-01-01T00:10:00+00:00"))


def test_models_list_shows_versions_figures_and_status(tmp_path):
    write_two_versions(tmp_path)
    result = CliRunner().invoke(
        app, ["models", "list", "--dir", str(tmp_path)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    row1 = next(line for line in lines if line.strip().startswith("│ 1") or " 1 " in line[:12])
    assert "active (latest-stable, latest)" in row1
    assert "0.9100" in row1
    assert any("quarantined" in line and "v1 0.9100" in line for line in lines)


def test_models_list_as_json_carries_the_registry_and_the_stable_version(tmp_path):
    write_two_versions(tmp_path)
    result = CliRunner().invoke(app, ["models", "list", "--dir", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["latest_stable"] == 1
    assert [v["status"] for v in body["versions"]] == ["active", "quarantined"]
    assert body["versions"][1]["figures"]["plcc"] == 0.8


def test_models_list_without_a_registry_says_where_it_looked(tmp_path):
    result = CliRunner().invoke(app, ["models", "list", "--dir", str(tmp_path)])
    assert result.exit_code != 0
    assert isinstance(result.exception, Exception)
    assert "There is no registry.json in" in str(result.exception)
