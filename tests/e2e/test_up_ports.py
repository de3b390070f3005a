"""`vmafx up` keeps its promises about ports (issue 18 item 7): its node and trainer move off
ports that are taken, and a part that stops ends `vmafx up` with the reason and a failing exit."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.test_up_and_demo import env_for, free_port, ready, start_up, stop, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def usual_ports_taken() -> Iterator[None]:
    """Listen on the node's (9091) and the trainer's (9475) usual ports, where they are free."""
    held = []
    for port in (9091, 9475):
        sock = socket.socket()
        # An earlier test's node may leave the port in TIME_WAIT: `vmafx up` may bind over that
        # (it sets SO_REUSEADDR, as servers do), so the fixture must too, or it would hold nothing.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
            held.append(sock)
        except OSError:  # a listener has it already: just as good
            sock.close()
    try:
        yield
    finally:
        for sock in held:
            sock.close()


def nodes(base: str) -> list[dict]:
    with urllib.request.urlopen(f"{base}/v1/nodes", timeout=5) as answer:
        return list(json.loads(answer.read()).get("nodes", []))


def test_up_moves_its_node_off_a_taken_port_and_stays_up(tmp_path, usual_ports_taken):
    grpc, http = free_port(), free_port()
    base = f"http://127.0.0.1:{http}"
    proc = start_up(tmp_path, grpc, http)
    try:
        wait_for(lambda: ready(f"{base}/readyz"), 60, "the controller")
        wait_for(lambda: len(nodes(base)) >= 1, 60, "a node on a free port")
        assert proc.poll() is None
    finally:
        code, err = stop(proc)
    assert code == 0, err
    assert "vmafx is up" in err and "stopped" in err
    assert "HTTP 127.0.0.1:9091" not in err
    assert f"--controller 127.0.0.1:{grpc}" in err  # the printed commands reach this farm


def test_up_ends_with_the_reason_and_exit_17_when_its_node_stops(tmp_path):
    env = env_for(tmp_path) | {"VMAFX_NODE_CONCURRENCY": "bogus"}
    out = subprocess.run(
        [sys.executable, "-m", "vmafx", "up", "--grpc-listen", f"127.0.0.1:{free_port()}",
         "--http-listen", f"127.0.0.1:{free_port()}", "--no-trainer"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert out.returncode == 17, out.stderr
    assert "vmafx is up" not in out.stderr
    assert "node-1 stopped: VMAFX_NODE_CONCURRENCY: 'bogus' is not QUEUE=LIMIT." in out.stderr
    assert str(Path("node-1.log")) in out.stderr
    assert "Traceback" not in out.stderr
