"""`vmafx up` gives its trainer, its nodes and its controller one checkpoint folder, so nodes
serve its models and the controller's Models page lists them."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmafx.cli import farm as farm_module
from vmafx.cli.farm import FarmSettings, LocalFarm, checkpoint_dir


def spawned(
    monkeypatch: pytest.MonkeyPatch, *, trainer: bool, args: dict[str, list[str]] | None = None
) -> dict[str, dict[str, str]]:
    """Each part's environment (and, into `args`, its command line) as `vmafx up` starts it."""
    calls: dict[str, dict[str, str]] = {}
    argv = {} if args is None else args
    monkeypatch.setattr(farm_module, "check_port_free", lambda *_: None)
    monkeypatch.setattr(farm_module, "port_free", lambda *_: True)
    monkeypatch.setattr(farm_module, "trainer_available", lambda: trainer)
    monkeypatch.setattr(LocalFarm, "wait_ready", lambda self: None)

    def spawn(self: LocalFarm, name: str, args: list[str], env: dict[str, str] | None = None):
        calls[name] = dict(env or {})
        argv[name] = list(args)

    monkeypatch.setattr(LocalFarm, "_spawn", spawn)
    LocalFarm(FarmSettings(nodes=2)).start()
    return calls


def test_the_trainer_writes_where_the_nodes_read(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.delenv("VMAFX_SIDECAR_CHECKPOINT_DIR", raising=False)
    args: dict[str, list[str]] = {}
    calls = spawned(monkeypatch, trainer=True, args=args)
    folder = str(tmp_path / "vmafx" / "models")
    assert calls["trainer"]["VMAFX_SIDECAR_CHECKPOINT_DIR"] == folder
    controller = args["controller"]
    assert controller[controller.index("--model-dir") + 1] == folder
    for node in ("node-1", "node-2"):
        assert calls[node]["VMAFX_NODE_MODEL_DIR"] == folder
        assert calls[node]["VMAFX_NODE_FEEDBACK_SOCKET"] == calls["trainer"]["VMAFX_SIDECAR_SOCKET"]


def test_an_operators_checkpoint_folder_is_the_nodes_too(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("VMAFX_SIDECAR_CHECKPOINT_DIR", str(tmp_path / "mine"))
    assert checkpoint_dir() == tmp_path / "mine"
    calls = spawned(monkeypatch, trainer=False)
    assert "trainer" not in calls
    assert calls["node-1"] == {"VMAFX_NODE_MODEL_DIR": str(tmp_path / "mine")}
