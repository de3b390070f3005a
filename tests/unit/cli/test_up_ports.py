"""`vmafx up` moves its own listeners (nodes, trainer) off taken ports, ends with the reason
and exit 17 when a part stops, and prints client commands that reach the farm it started."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from vmafx.cli import farm as farm_module
from vmafx.cli import up as up_module
from vmafx.cli.farm import FarmSettings, LocalFarm, PartStoppedError, pick_port
from vmafx.errors import exit_code_for


def busy(*ports: int):
    return lambda host, port: port not in ports


def test_a_free_preferred_port_is_kept(monkeypatch):
    monkeypatch.setattr(farm_module, "port_free", busy())
    taken: set[int] = {9090}
    assert pick_port("127.0.0.1", 9091, taken) == 9091
    assert taken == {9090, 9091}


def test_a_taken_port_moves_to_a_free_one(monkeypatch):
    monkeypatch.setattr(farm_module, "port_free", busy(9091))
    ports = iter([9091, 9092, 40001])
    monkeypatch.setattr(farm_module, "free_port", lambda host="": next(ports))
    assert pick_port("127.0.0.1", 9091, {9092}) == 40001


def started(monkeypatch, tmp_path: Path, *, taken: tuple[int, ...]) -> tuple[LocalFarm, dict]:
    """A farm started with every part's spawn recorded (nothing runs)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setattr(farm_module, "check_port_free", lambda *_: None)
    monkeypatch.setattr(farm_module, "port_free", busy(*taken))
    spare = iter(range(41000, 41100))
    monkeypatch.setattr(farm_module, "free_port", lambda host="": next(spare))
    monkeypatch.setattr(farm_module, "trainer_available", lambda: True)
    monkeypatch.setattr(LocalFarm, "wait_ready", lambda self: None)
    spawned: dict[str, tuple[list[str], dict[str, str]]] = {}

    def spawn(self: LocalFarm, name: str, args: list[str], env: dict[str, str] | None = None):
        spawned[name] = (list(args), dict(env or {}))

    monkeypatch.setattr(LocalFarm, "_spawn", spawn)
    farm = LocalFarm(FarmSettings(nodes=2))
    farm.start()
    return farm, spawned


def test_nodes_and_trainer_whose_usual_ports_are_taken_get_free_ones(monkeypatch, tmp_path):
    farm, spawned = started(monkeypatch, tmp_path, taken=(9091, 9475))
    node_1 = spawned["node-1"][0]
    assert node_1[node_1.index("--http-listen") + 1] == "127.0.0.1:41001"
    node_2 = spawned["node-2"][0]
    assert node_2[node_2.index("--http-listen") + 1] == "127.0.0.1:9092"
    assert spawned["trainer"][1]["VMAFX_SIDECAR_STATUS_PORT"] == "41000"
    assert farm.node_http == ["127.0.0.1:41001", "127.0.0.1:9092"]
    assert farm.trainer_status == "127.0.0.1:41000"


def test_free_usual_ports_are_used(monkeypatch, tmp_path):
    farm, spawned = started(monkeypatch, tmp_path, taken=())
    assert spawned["trainer"][1]["VMAFX_SIDECAR_STATUS_PORT"] == "9475"
    assert farm.node_http == ["127.0.0.1:9091", "127.0.0.1:9092"]


class DeadNode:
    def __init__(self, log_dir: Path) -> None:
        self.settings = FarmSettings(log_dir=log_dir)

    def dead_child(self) -> str | None:
        return "node-1"

    raise_for_dead_child = LocalFarm.raise_for_dead_child


def test_a_part_that_stops_ends_up_with_its_reason_and_exit_17(tmp_path):
    (tmp_path / "node-1.log").write_text(
        "2026-12-06 INFO vmafx.node.gpus: GPUs detected\n"
        "error: the node cannot listen on 127.0.0.1:9091: Address already in use. Pick "
        "another --http-listen address, or port 0 for any free port.\n"
    )

    class Running:
        requested = False

    with pytest.raises(PartStoppedError) as stopped:
        up_module.watch(DeadNode(tmp_path), Running)  # type: ignore[arg-type]
    assert stopped.value.message == (
        "node-1 stopped: the node cannot listen on 127.0.0.1:9091: Address already in use."
    )
    assert "--http-listen" not in str(stopped.value)  # that flag would move the controller
    assert str(tmp_path / "node-1.log") in (stopped.value.hint or "")
    assert exit_code_for(stopped.value) == 17


def announced(monkeypatch, grpc: str) -> str:
    settings = FarmSettings(grpc_listen=grpc, scoring_roots=(Path("/media"),))
    out = io.StringIO()
    up_module._announce(Console(file=out, width=200), settings, ["127.0.0.1:9091"])
    return out.getvalue()


def test_the_printed_commands_name_a_controller_on_another_port(monkeypatch):
    text = announced(monkeypatch, "127.0.0.1:19090")
    assert "vmafx jobs submit score REF.mp4 DIS.mp4 --controller 127.0.0.1:19090" in text
    assert "vmafx demo --controller 127.0.0.1:19090" in text


def test_the_printed_commands_need_no_flag_on_the_default_port(monkeypatch):
    text = announced(monkeypatch, "127.0.0.1:9090")
    assert "vmafx jobs submit score REF.mp4 DIS.mp4  or  vmafx demo\n" in text
