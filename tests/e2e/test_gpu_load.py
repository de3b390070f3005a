"""GPU load from a real `vmafx node` process to the controller's `/metrics` and `/v1/nodes`.

The node runs as an operator starts it, pinned to one GPU of a FAKE `nvidia-smi` on its PATH
(detection prints tests/fixtures/gpu/nvidia-smi_p4_l4.csv, the load query
nvidia-smi_usage_p4_l4.csv). No GPU and no NVML here: never run on real hardware.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.farm import Farm, migrated_template

pytestmark = pytest.mark.e2e

GPU = Path(__file__).parents[1] / "fixtures" / "gpu"
P4 = "GPU-5f3e4c8a-1b2d-7e9f-0a1b-2c3d4e5f6a7b"
WAIT_S = 60.0


def fake_nvidia_smi(folder: Path) -> Path:
    """An `nvidia-smi` that answers the detection query and the load query from recordings."""
    folder.mkdir(parents=True, exist_ok=True)
    tool = folder / "nvidia-smi"
    tool.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        f"  *utilization.gpu*) exec cat '{GPU / 'nvidia-smi_usage_p4_l4.csv'}' ;;\n"
        f"  *) exec cat '{GPU / 'nvidia-smi_p4_l4.csv'}' ;;\n"
        "esac\n"
    )
    tool.chmod(0o755)
    return folder


@pytest.fixture
def farm(tmp_path: Path) -> Iterator[Farm]:
    made = Farm(tmp_path / "farm", migrated_template(tmp_path))
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def node(farm: Farm, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "PATH": f"{fake_nvidia_smi(tmp_path / 'bin')}{os.pathsep}{os.environ['PATH']}",
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "VMAFX_CONTROLLER_ADDR": farm.grpc_target,
        "VMAFX_NODE_GPU": P4,
        "VMAFX_NODE_ENCODERS": "libx264",  # probe only one encoder: start fast
        "VMAFX_NODE_QUEUES": "encode",
        "VMAFX_NODE_RESULTS_DIR": str(tmp_path / "results"),
        "PYTHONUNBUFFERED": "1",
    }
    log = (tmp_path / "node.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "vmafx", "node", "--name", "fake-p4", "--http-listen", ""],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
        start_new_session=True,
    )  # fmt: skip
    try:
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        log.close()


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return str(answer.read().decode())


def _value(text: str, family: str) -> float:
    """The one sample of `vmafx_node_gpu_<family>` for the P4."""
    [found] = re.findall(rf'^vmafx_node_gpu_{family}\{{[^}}]*uuid="{P4}"\}} (\S+)$', text, re.M)
    return float(found)


def test_a_nodes_gpu_load_reaches_metrics_and_the_node_list(farm, node, tmp_path):
    wanted = re.compile(
        r'vmafx_node_gpu_utilization_ratio\{gpu="0",node="fake-p4",tenant="[^"]+",'
        rf'uuid="{P4}"\}} 0\.37'
    )
    deadline = time.monotonic() + WAIT_S
    text = ""
    while time.monotonic() < deadline and not wanted.search(text):
        assert node.poll() is None, (tmp_path / "node.log").read_text()[-3000:]
        text = _get(f"{farm.http_url}/metrics")
        time.sleep(0.2)
    assert wanted.search(text), (tmp_path / "node.log").read_text()[-3000:]
    assert _value(text, "encoder_sessions") == 2
    assert _value(text, "encoder_utilization_ratio") == 0.61
    assert _value(text, "memory_used_bytes") == 1843 * 1024 * 1024
    assert _value(text, "memory_total_bytes") == 7680 * 1024 * 1024
    assert "GPU-9a8b7c6d" not in text  # the L4 is not this node's (pinned to the P4)
    [listed] = json.loads(_get(f"{farm.http_url}/v1/nodes"))["nodes"]
    assert listed["gpu_usage"] == [
        {"uuid": P4, "index": 0, "utilization_pct": 37.0, "encoder_utilization_pct": 61.0,
         "encoder_sessions": 2, "memory_used_mb": 1843, "memory_total_mb": 7680}
    ]  # fmt: skip
