"""A whole farm on this machine as one process tree: controller + N nodes (+ trainer).

`LocalFarm` starts each part as a `python -m vmafx …` child in its own session (so a Ctrl-C
reaches `vmafx up` first, which then stops the parts in order: nodes drain, then the trainer,
then the controller), with a parent-death signal so no part outlives a killed `vmafx up`.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from vmafx.ai.trainer.settings import sidecar_settings
from vmafx.config import default_checkpoint_dir, state_dir
from vmafx.errors import ConfigError, UnavailableError
from vmafx.media.runner import die_with_parent

#: Seconds the controller gets to answer /readyz after it starts.
READY_TIMEOUT_S = 60.0
#: Seconds `vmafx up` waits for its nodes to listen before saying it is up (encoder probes).
NODES_TIMEOUT_S = 30.0
LOOPBACK = "127.0.0.1"
#: The trainer's usual `/status` port (`SidecarSettings.status_port`); another when it is taken.
TRAINER_STATUS_PORT = 9475


@dataclasses.dataclass(frozen=True)
class FarmSettings:
    grpc_listen: str = "127.0.0.1:9090"
    http_listen: str = "127.0.0.1:8080"
    store: str | None = None
    nodes: int = 1
    scoring_roots: tuple[Path, ...] = ()
    trainer: bool = True
    node_http_base_port: int = 9091
    log_dir: Path = dataclasses.field(default_factory=lambda: state_dir() / "logs")

    @property
    def ui_url(self) -> str:
        return f"http://{self.http_listen}/"


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    try:
        return host or "127.0.0.1", int(port)
    except ValueError:
        raise ConfigError(
            f"The address {address!r} is not HOST:PORT.", hint="E.g. 127.0.0.1:9090."
        ) from None


def port_free(host: str, port: int) -> bool:
    """Could a listener bind HOST:PORT now?"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def check_port_free(address: str, what: str) -> None:
    host, port = _split(address)
    if not port_free(host, port):
        raise ConfigError(
            f"The {what} address {address} is already in use (is a farm already up?).",
            hint=f"Stop the other process, or pick another port with --{what}-listen.",
        )


def pick_port(host: str, preferred: int, taken: set[int]) -> int:
    """`preferred` when it is free (and this farm gives it to nothing else), else any free
    port; the port is added to `taken`. The farm's own listeners (nodes, trainer) move rather
    than fail: the user never chose their ports."""
    port = preferred
    while port in taken or not port_free(host, port):
        port = free_port(host)
    taken.add(port)
    return port


def free_port(host: str = "127.0.0.1") -> int:
    """A port that nothing listens on right now (for a farm that only this command uses)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def trainer_available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "onnxruntime")) and (
        importlib.util.find_spec("vmafx.ai.trainer") is not None
    )


def checkpoint_dir() -> Path:
    """The trainer's checkpoint folder (its settings, else the default), which nodes serve."""
    try:
        return sidecar_settings().checkpoint_dir or default_checkpoint_dir()
    except ConfigError:  # the trainer will say what is wrong when it starts
        return default_checkpoint_dir()


class PartStoppedError(UnavailableError):
    """A part of the farm (controller, node, trainer) stopped on its own (exit 17)."""


def part_stopped(name: str, log: Path) -> PartStoppedError:
    """The error for a part that stopped: the first sentence of the last error in its log (its
    own advice names its own flags, which `vmafx up` does not take), and where the log is."""
    reason = last_error(log)
    what = reason.split(". ", 1)[0].rstrip(".") + "." if reason else None
    return PartStoppedError(
        f"{name} stopped" + (f": {what}" if what else "; its log says why."),
        hint=f"Its log is {log}. Nothing was lost: the store keeps every job.",
    )


def last_error(log: Path, lines: int = 40) -> str | None:
    """The last `error: …` line a vmafx process wrote to `log` (its one-paragraph error)."""
    try:
        tail = log.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return None
    for line in reversed(tail):
        if line.startswith("error: "):
            return line.removeprefix("error: ").strip()
    return None


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310 - loopback http
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class LocalFarm:
    def __init__(self, settings: FarmSettings) -> None:
        self.settings = settings
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.trainer_socket = state_dir() / "trainer.sock"
        #: Where each node's HTTP listener (`/metrics`, `/readyz`) and the trainer's `/status`
        #: are, once `start` has picked their ports.
        self.node_http: list[str] = []
        self.trainer_status: str | None = None
        #: The trainer writes checkpoints here, the nodes serve them and the controller lists them.
        self.model_dir = checkpoint_dir()

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        self.settings.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.settings.log_dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "vmafx", *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - only calls prctl
        )
        log.close()
        self.children.append((name, proc))

    def start(self) -> None:
        s = self.settings
        check_port_free(s.grpc_listen, "grpc")
        check_port_free(s.http_listen, "http")
        controller = ["controller", "--grpc-listen", s.grpc_listen, "--http-listen", s.http_listen]
        controller += ["--auth-disabled", "--model-dir", str(self.model_dir)]
        if s.store:
            controller += ["--store", s.store]
        for root in s.scoring_roots:
            controller += ["--scoring-root", str(root)]
        self._spawn("controller", controller)
        self.wait_ready()
        taken = {_split(s.grpc_listen)[1], _split(s.http_listen)[1]}
        node_env = {"VMAFX_NODE_MODEL_DIR": str(self.model_dir)}
        if s.trainer and trainer_available():
            status_port = pick_port(LOOPBACK, TRAINER_STATUS_PORT, taken)
            self.trainer_status = f"{LOOPBACK}:{status_port}"
            trainer_env = {
                "VMAFX_SIDECAR_SOCKET": str(self.trainer_socket),
                "VMAFX_SIDECAR_CHECKPOINT_DIR": str(self.model_dir),
                "VMAFX_SIDECAR_STATUS_HOST": LOOPBACK,
                "VMAFX_SIDECAR_STATUS_PORT": str(status_port),
            }
            self._spawn("trainer", ["trainer"], trainer_env)
            node_env["VMAFX_NODE_FEEDBACK_SOCKET"] = str(self.trainer_socket)
        for i in range(s.nodes):
            http = f"{LOOPBACK}:{pick_port(LOOPBACK, s.node_http_base_port + i, taken)}"
            self.node_http.append(http)
            args = [
                "node",
                "--controller",
                s.grpc_listen,
                "--name",
                f"{socket.gethostname()}-{i + 1}",
            ]
            self._spawn(f"node-{i + 1}", [*args, "--http-listen", http], node_env)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        url = f"http://{self.settings.http_listen}/readyz"
        while time.monotonic() < deadline:
            self.raise_for_dead_child()
            try:
                with urllib.request.urlopen(url, timeout=1) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise UnavailableError(
            f"The controller did not become ready within {READY_TIMEOUT_S:g} s.",
            hint=f"Its log is {self.settings.log_dir / 'controller.log'}.",
        )

    def wait_nodes(self, timeout_s: float = NODES_TIMEOUT_S) -> None:
        """Until every node answers `/livez` (it is past its start-up checks and listening);
        a part that stops meanwhile raises `PartStoppedError` with its reason. Slow nodes
        (long encoder probes) are not waited for past `timeout_s`."""
        waiting = list(self.node_http)
        deadline = time.monotonic() + timeout_s
        while waiting and time.monotonic() < deadline:
            self.raise_for_dead_child()
            waiting = [http for http in waiting if not _answers(f"http://{http}/livez")]
            if waiting:
                time.sleep(0.2)
        self.raise_for_dead_child()

    def raise_for_dead_child(self) -> None:
        dead = self.dead_child()
        if dead:
            raise part_stopped(dead, self.settings.log_dir / f"{dead}.log")

    def dead_child(self) -> str | None:
        for name, proc in self.children:
            if proc.poll() is not None:
                return name
        return None

    def stop(self, timeout_s: float = 40.0) -> None:
        """Nodes first (they drain), then the trainer, then the controller."""
        groups = [
            [c for c in self.children if c[0].startswith("node")],
            [c for c in self.children if c[0] == "trainer"],
            [c for c in self.children if c[0] == "controller"],
        ]
        for group in groups:
            for _, proc in group:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for _, proc in group:
                try:
                    proc.wait(timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.children.clear()
