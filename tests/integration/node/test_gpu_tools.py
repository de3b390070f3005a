"""GPU detection through the real subprocess path, with FAKE `nvidia-smi`, `rocm-smi` and
`clinfo` executables on PATH printing real-world output (tests/fixtures/gpu). No GPU is used:
the hardware tools are fakes, never run on real hardware here."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from vmafx.errors import ConfigError
from vmafx.node.gpus import SubprocessToolRunner, detect_gpus

pytestmark = pytest.mark.integration

GPU = Path(__file__).parents[2] / "fixtures" / "gpu"
CAT = shutil.which("cat") or "/bin/cat"
SLEEP = shutil.which("sleep") or "/bin/sleep"


def tool(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def printing(bin_dir: Path, name: str, fixture: str) -> None:
    tool(bin_dir, name, f"exec {CAT} '{GPU / fixture}'")


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder that is the whole PATH: a tool is there only if the test puts it there."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    return folder


def detect(**kwargs):
    return detect_gpus(runner=SubprocessToolRunner(), nvml=None, platform="linux", **kwargs)


def test_fake_tools_on_path_are_run_and_parsed(bin_dir):
    printing(bin_dir, "nvidia-smi", "nvidia-smi_p4_l4.csv")
    printing(bin_dir, "rocm-smi", "rocm-smi_mi210_7900xtx.json")
    printing(bin_dir, "clinfo", "clinfo_raw_arc_uhd.txt")
    gpus = detect()
    assert [gpu.name for gpu in gpus] == [
        "Tesla P4",
        "NVIDIA L4",
        "AMD Instinct MI210",
        "Navi 31 [Radeon RX 7900 XT/7900 XTX/7900M]",
        "Intel(R) Arc(TM) A770 Graphics",
        "Intel(R) UHD Graphics 770",
    ]


def test_no_tools_on_path_means_no_gpus(bin_dir):
    assert detect() == []


def test_a_failing_tool_is_harmless(bin_dir):
    tool(bin_dir, "nvidia-smi", "echo 'NVIDIA-SMI has failed because it could not communicate "
         "with the NVIDIA driver.' >&2\nexit 9")  # fmt: skip
    tool(bin_dir, "rocm-smi", "echo 'ERROR: No AMD GPUs specified' >&2\nexit 2")
    printing(bin_dir, "clinfo", "clinfo_plain_uhd770.txt")
    assert [gpu.vendor for gpu in detect()] == ["intel"]


def test_an_old_driver_that_refuses_compute_cap_is_asked_again(bin_dir):
    tool(
        bin_dir,
        "nvidia-smi",
        f'case "$*" in *compute_cap*) echo \'Field "compute_cap" is not a valid field to query.\' >&2; exit 2;; esac\n'
        f"exec {CAT} '{GPU / 'nvidia-smi_old_driver.csv'}'",
    )
    gpus = detect()
    assert [(gpu.name, gpu.compute_capability) for gpu in gpus] == [("Quadro P2000", None)] * 2


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def test_a_tool_that_hangs_is_stopped_at_its_timeout_with_its_children(bin_dir, tmp_path):
    pidfile = tmp_path / "sleep.pid"
    tool(bin_dir, "clinfo", f"{SLEEP} 600 &\necho $! > '{pidfile}'\nwait")
    printing(bin_dir, "nvidia-smi", "nvidia-smi_p4_l4.csv")
    start = time.monotonic()
    gpus = detect(timeout_s=1.0)
    elapsed = time.monotonic() - start
    assert 1.0 <= elapsed < 4.0
    assert [gpu.vendor for gpu in gpus] == ["nvidia", "nvidia"]
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 3
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(pid), "the hung tool's child was left running"


def test_pinning_by_uuid_through_the_real_tools(bin_dir):
    printing(bin_dir, "nvidia-smi", "nvidia-smi_p4_l4.csv")
    (gpu,) = detect(pin="GPU-5f3e4c8a-1b2d-7e9f-0a1b-2c3d4e5f6a7b")
    assert gpu.name == "Tesla P4"
    with pytest.raises(ConfigError, match="matches no GPU"):
        detect(pin="GPU-ffffffff-ffff-ffff-ffff-ffffffffffff")


def test_the_tools_run_in_the_c_locale(bin_dir, tmp_path):
    seen = tmp_path / "locale"
    tool(bin_dir, "clinfo", f"echo \"$LC_ALL\" > '{seen}'")
    detect()
    assert seen.read_text().strip() == "C"
