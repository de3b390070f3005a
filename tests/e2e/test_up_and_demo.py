"""`vmafx up` and `vmafx demo` as a newcomer runs them: real processes on loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMAFX_")}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    return env


def wait_for(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def http_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.loads(answer.read())


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return answer.status == 200
    except OSError:
        return False


def start_up(tmp_path: Path, grpc: int, http: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "vmafx", "up", "--grpc-listen", f"127.0.0.1:{grpc}",
         "--http-listen", f"127.0.0.1:{http}", "--no-trainer"],
        cwd=tmp_path, env=env_for(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail("vmafx up did not stop within 60 s of Ctrl-C")
    return proc.returncode, err


def test_up_starts_a_farm_with_a_node_and_ctrl_c_stops_it_keeping_the_store(tmp_path):
    grpc, http = free_port(), free_port()
    base = f"http://127.0.0.1:{http}"
    proc = start_up(tmp_path, grpc, http)
    try:
        wait_for(lambda: ready(f"{base}/readyz"), 60, "the controller")
        wait_for(lambda: len(http_json(f"{base}/v1/nodes").get("nodes", [])) >= 1, 60, "a node")
        body = json.dumps(
            {
                "kind": "thumbnail",
                "spec": {"source": str(tmp_path / "none.mp4"), "output": str(tmp_path / "t.jpg")},
            }
        )
        request = urllib.request.Request(
            f"{base}/v1/jobs", data=body.encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            job_id = json.loads(answer.read())["id"]
    finally:
        code, err = stop(proc)
    assert code == 0, err
    assert "vmafx is up" in err and f"127.0.0.1:{http}" in err
    assert "nothing was lost" in err
    proc = start_up(tmp_path, grpc, http)
    try:
        wait_for(lambda: ready(f"{base}/readyz"), 60, "the controller again")
        assert http_json(f"{base}/v1/jobs/{job_id}")["id"] == job_id
    finally:
        code, err = stop(proc)
    assert code == 0, err


def test_up_refuses_a_port_in_use_with_the_fix(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-m", "vmafx", "up", "--grpc-listen", f"127.0.0.1:{port}", "--no-trainer"],
            cwd=tmp_path, env=env_for(tmp_path), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert out.returncode == 2
    assert f"127.0.0.1:{port} is already in use" in out.stderr
    assert "Traceback" not in out.stderr


def test_demo_builds_a_ladder_with_the_farms_tuner_and_prints_vmaf_per_rung(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "vmafx", "demo", "--clips", "1", "--seconds", "1",
         "--controller", f"127.0.0.1:{free_port()}"],
        cwd=tmp_path, env=env_for(tmp_path), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr + out.stdout
    rows = [line for line in out.stdout.splitlines() if "testsrc" in line and "│" in line]
    assert 2 <= len(rows) <= 3, out.stdout
    kbps = [float(row.split("│")[4]) for row in rows]
    vmafs = [float(row.split("│")[5]) for row in rows]
    assert all(0 < v <= 100 for v in vmafs)
    assert kbps == sorted(kbps) and vmafs == sorted(vmafs), "on the hull, VMAF rises with bits"
    assert "9 points measured" in out.stdout  # 3 resolutions × 3 CRFs
    rungs = list((tmp_path / "vmafx-demo" / "encodes" / "testsrc").glob("*.mkv"))
    assert len(rungs) == 9  # every measured point is a node's encode; the rungs among them
