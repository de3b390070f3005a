"""GPU detection at node start-up, and pinning a node to one GPU by UUID.

NVIDIA: NVML through `pynvml` (package nvidia-ml-py, imported lazily), else `nvidia-smi`. AMD:
`rocm-smi`. Intel: `clinfo`. macOS: `system_profiler` (and only it, so an Intel Mac's GPU is not
counted twice). Every probe is bounded by a timeout, harmless when its tool is missing or fails
(debug log, no GPUs), and never raises: detection on a machine without GPUs returns `[]`.

`ToolRunner` is the port the probes run tools through: `SubprocessToolRunner` runs them for
real (own process group, killed whole on timeout), tests pass a fake. No GPU is used here: the
hardware paths are tested with fake tools and recorded outputs, never run on real hardware.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from vmafx.core.gpus import DetectedGpu
from vmafx.errors import ConfigError
from vmafx.node.gpu_parsers import (
    parse_clinfo,
    parse_nvidia_smi_csv,
    parse_rocm_smi,
    parse_system_profiler,
)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 5.0
_NVIDIA_FIELDS = "index,name,uuid,memory.total,driver_version"
_CSV = "--format=csv,noheader,nounits"
NVIDIA_SMI = ["nvidia-smi", f"--query-gpu={_NVIDIA_FIELDS},compute_cap", _CSV]
#: Drivers before 510 refuse the compute_cap field: asked again without it.
NVIDIA_SMI_OLD = ["nvidia-smi", f"--query-gpu={_NVIDIA_FIELDS}", _CSV]
ROCM_SMI = [
    "rocm-smi", "--showproductname", "--showuniqueid", "--showmeminfo", "vram",
    "--showdriverversion", "--json",
]  # fmt: skip
CLINFO = ["clinfo", "--raw"]
SYSTEM_PROFILER = ["system_profiler", "SPDisplaysDataType", "-json"]


class ToolRunner(Protocol):
    def run(self, argv: Sequence[str], timeout_s: float) -> str | None:
        """The tool's stdout when it ran and exited 0; None when missing, failed or too slow."""
        ...


class SubprocessToolRunner:
    """Runs a GPU tool from PATH in its own process group, with `LC_ALL=C`."""

    def run(self, argv: Sequence[str], timeout_s: float) -> str | None:
        executable = shutil.which(argv[0])
        if executable is None:
            log.debug("GPU tool not found", extra={"tool": argv[0]})
            return None
        try:
            with subprocess.Popen(
                [executable, *argv[1:]],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
                env={**os.environ, "LC_ALL": "C"},
                start_new_session=True,
            ) as proc:
                return _collect(proc, argv[0], timeout_s)
        except OSError as error:
            log.debug("GPU tool could not start", extra={"tool": argv[0], "error": str(error)})
            return None


def _collect(proc: subprocess.Popen[str], tool: str, timeout_s: float) -> str | None:
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        try:
            proc.communicate(timeout=1.0)
        except subprocess.TimeoutExpired:
            log.debug("GPU tool left a child holding its output", extra={"tool": tool})
        log.debug("GPU tool timed out", extra={"tool": tool, "timeout_s": timeout_s})
        return None
    if proc.returncode != 0:
        log.debug(
            "GPU tool failed",
            extra={"tool": tool, "returncode": proc.returncode, "stderr": stderr[-500:]},
        )
        return None
    return stdout


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


NvmlLoader = Callable[[], Any]


def import_nvml() -> Any:
    """The `pynvml` module (nvidia-ml-py), or None when it is not installed."""
    try:
        return importlib.import_module("pynvml")
    except ImportError:
        return None


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def read_nvml(nvml: Any) -> list[DetectedGpu]:
    """Every NVIDIA GPU NVML reports; raises whatever NVML raises (the caller falls back)."""
    nvml.nvmlInit()
    try:
        driver = _text(nvml.nvmlSystemGetDriverVersion())
        gpus = []
        for index in range(int(nvml.nvmlDeviceGetCount())):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            try:
                major, minor = nvml.nvmlDeviceGetCudaComputeCapability(handle)
                capability: str | None = f"{major}.{minor}"
            except Exception:  # an old driver: the rest is still worth having
                capability = None
            gpus.append(
                DetectedGpu(
                    vendor="nvidia",
                    name=_text(nvml.nvmlDeviceGetName(handle)),
                    uuid=_text(nvml.nvmlDeviceGetUUID(handle)),
                    index=index,
                    memory_mb=int(nvml.nvmlDeviceGetMemoryInfo(handle).total) // (1024 * 1024),
                    driver=driver,
                    compute_capability=capability,
                )
            )
        return gpus
    finally:
        nvml.nvmlShutdown()


def _nvml_gpus(load: NvmlLoader, timeout_s: float) -> list[DetectedGpu] | None:
    """NVML's answer, or None (not installed, no driver, or stuck past the timeout)."""
    answer: list[list[DetectedGpu] | None] = [None]

    def probe() -> None:
        try:
            module = load()
            if module is not None:
                answer[0] = read_nvml(module)
        except Exception as error:  # NVMLError and friends: fall back to nvidia-smi
            log.debug("NVML unavailable", extra={"error": repr(error)})

    worker = threading.Thread(target=probe, name="vmafx-nvml-probe", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        log.debug("NVML did not answer in time", extra={"timeout_s": timeout_s})
        return None
    return answer[0]


def _tool(
    runner: ToolRunner,
    argv: Sequence[str],
    parse: Callable[[str], list[DetectedGpu]],
    timeout_s: float,
) -> list[DetectedGpu] | None:
    """The parsed GPUs, [] when the output holds none, None when the tool gave no output."""
    output = runner.run(argv, timeout_s)
    if output is None:
        return None
    try:
        return parse(output)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        log.debug("GPU tool output not understood", extra={"tool": argv[0], "error": repr(error)})
        return []


def _nvidia(runner: ToolRunner, nvml: NvmlLoader | None, timeout_s: float) -> list[DetectedGpu]:
    if nvml is not None:
        found = _nvml_gpus(nvml, timeout_s)
        if found:
            return found
    for argv in (NVIDIA_SMI, NVIDIA_SMI_OLD):
        gpus = _tool(runner, argv, parse_nvidia_smi_csv, timeout_s)
        if gpus is not None:
            return gpus
    return []


def nvml_gpus(
    nvml: NvmlLoader = import_nvml, timeout_s: float = DEFAULT_TIMEOUT_S
) -> list[DetectedGpu] | None:
    """What NVML alone reports; None when it is not installed, finds no driver or hangs."""
    return _nvml_gpus(nvml, timeout_s)


def smi_gpus(
    runner: ToolRunner | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
) -> list[DetectedGpu] | None:
    """What `nvidia-smi` alone reports (asked again without compute_cap for an old driver);
    None when it is missing or fails."""
    runner = runner or SubprocessToolRunner()
    for argv in (NVIDIA_SMI, NVIDIA_SMI_OLD):
        gpus = _tool(runner, argv, parse_nvidia_smi_csv, timeout_s)
        if gpus is not None:
            return gpus
    return None


def nvidia_gpus(
    *, runner: ToolRunner | None = None, nvml: NvmlLoader | None = import_nvml,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> list[DetectedGpu]:  # fmt: skip
    """The NVIDIA GPUs alone (NVML, else nvidia-smi): what `--decode auto` decides on."""
    return _nvidia(runner or SubprocessToolRunner(), nvml, timeout_s)


def detect_gpus(
    *,
    runner: ToolRunner | None = None,
    nvml: NvmlLoader | None = import_nvml,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    platform: str = sys.platform,
    pin: str | None = None,
) -> list[DetectedGpu]:
    """Every GPU found (NVIDIA, AMD, Intel; Apple on macOS), or just the one `pin` names.

    `pin` is the value of `VMAFX_NODE_GPU`: a UUID as detection reports it. A pin that matches
    nothing is a ConfigError; nothing else raises.
    """
    runner = runner or SubprocessToolRunner()
    if platform == "darwin":
        gpus = _tool(runner, SYSTEM_PROFILER, parse_system_profiler, timeout_s) or []
    else:
        gpus = _nvidia(runner, nvml, timeout_s)
        gpus += _tool(runner, ROCM_SMI, parse_rocm_smi, timeout_s) or []
        gpus += _tool(runner, CLINFO, parse_clinfo, timeout_s) or []
    log.info(
        "GPUs detected",
        extra={"gpus": [f"{gpu.vendor} {gpu.name} {gpu.uuid}" for gpu in gpus]},
    )
    if pin is not None and pin.strip():
        return [select_gpu(gpus, pin)]
    return gpus


def _listing(gpus: Sequence[DetectedGpu]) -> str:
    if not gpus:
        return "No GPU was detected on this machine (nvidia-smi/NVML, rocm-smi, clinfo)."
    return "Detected: " + "; ".join(f"{gpu.name} ({gpu.uuid or 'no UUID'})" for gpu in gpus) + "."


def select_gpu(gpus: Sequence[DetectedGpu], pin: str) -> DetectedGpu:
    """The GPU whose UUID is `pin` (case-insensitive), or a ConfigError that lists them."""
    wanted = pin.strip()
    if wanted.isdigit():
        raise ConfigError(
            f"VMAFX_NODE_GPU={wanted} looks like a GPU index; vmafx pins a node by UUID, "
            "because indices change when cards are added, removed or reordered.",
            hint=_listing(gpus),
        )
    for gpu in gpus:
        if gpu.uuid and gpu.uuid.lower() == wanted.lower():
            return gpu
    raise ConfigError(
        f"VMAFX_NODE_GPU={wanted} matches no GPU on this machine.",
        hint=_listing(gpus) + " Set VMAFX_NODE_GPU to one of these UUIDs, or unset it.",
    )
