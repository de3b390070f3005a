"""Integration helpers for the AI tests: short socket folders and a raw line client, on top of
the shared factories of tests/ai_fixtures.py (re-exported so pytest finds the fixtures)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.ai_fixtures import *  # noqa: F403
from tests.ai_fixtures import N, good_weights, random_weights  # noqa: F401 - named for test imports


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
    from vmafx.ai.trainer.settings import SidecarSettings

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
