"""Scratch folders of object outputs: a live one is locked and survives a sweep; one whose node
died (its lock released) is removed by the next node to start; anything else is left alone."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from vmafx.node.handlers.uploads import RemoteOutput, sweep_stale_scratch


@pytest.fixture
def tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_a_live_scratch_folder_survives_and_a_dead_nodes_is_removed(tmp):
    live = RemoteOutput("s3://media/out/a.mp4", "http://signed.example/a", "job-live-0001")
    live.path.write_bytes(b"encoded")
    # A node that made its folder, wrote its output and was killed before cleaning up.
    script = (
        "import os, signal; from vmafx.node.handlers.uploads import RemoteOutput; "
        "out = RemoteOutput('s3://media/out/b.mp4', 'http://signed.example/b', 'job-dead-0002'); "
        "out.path.write_bytes(b'x' * 1000); os.kill(os.getpid(), signal.SIGKILL)"
    )
    env = {**os.environ, "TMPDIR": str(tmp)}
    died = subprocess.run([sys.executable, "-c", script], env=env, timeout=60, check=False)
    assert died.returncode == -9
    dead = list(tmp.glob("vmafx-out-job-dead-*"))
    assert len(dead) == 1 and (dead[0] / "b.mp4").stat().st_size == 1000
    (tmp / "vmafx-out-foreign").mkdir()  # no lock file: not a node's, left alone
    (tmp / "unrelated").mkdir()

    assert sweep_stale_scratch() == dead
    assert not dead[0].exists()
    assert live.path.read_bytes() == b"encoded"  # locked by this live "node"
    assert (tmp / "vmafx-out-foreign").exists() and (tmp / "unrelated").exists()
    live.cleanup()
    assert not list(tmp.glob("vmafx-out-job-live-*"))
    assert sweep_stale_scratch() == []
