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

from vmafx.config import default_checkpoint_dir, sidecar_settings, state_dir
from vmafx.errors import ConfigError, UnavailableError
from vmafx.media.runner import die_with_parent

#: Seconds the controller gets to answer /readyz after it starts.
READY_TIMEOUT_S = 60.0


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


def check_port_free(address: str, what: str) -> None:
    host, port = _split(address)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise ConfigError(
                f"The {what} address {address} is already in use (is a farm already up?).",
                hint=f"Stop the other process, or pick another port with --{what}-listen.",
            ) from None


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


class LocalFarm:
    def __init__(self, settings: FarmSettings) -> None:
        self.settings = settings
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.trainer_socket = state_dir() / "trainer.sock"
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
        node_env = {"VMAFX_NODE_MODEL_DIR": str(self.model_dir)}
        if s.trainer and trainer_available():
            trainer_env = {
                "VMAFX_SIDECAR_SOCKET": str(self.trainer_socket),
                "VMAFX_SIDECAR_CHECKPOINT_DIR": str(self.model_dir),
            }
            self._spawn("trainer", ["trainer"], trainer_env)
            node_env["VMAFX_NODE_FEEDBACK_SOCKET"] = str(self.trainer_socket)
        for i in range(s.nodes):
            http = f"127.0.0.1:{s.node_http_base_port + i}"
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
            dead = self.dead_child()
            if dead:
                raise UnavailableError(
                    f"The {dead} stopped while starting.",
                    hint=f"Its log is {self.settings.log_dir / (dead + '.log')}.",
                )
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
