"""GPU detection through fake tools and a fake NVML: order, fallbacks, timeouts, pinning.

No GPU is used: these are the hardware paths, tested with recorded outputs and fakes only.
"""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from vmafx.errors import ConfigError
from vmafx.node.gpus import (
    CLINFO,
    DEFAULT_TIMEOUT_S,
    NVIDIA_SMI,
    NVIDIA_SMI_OLD,
    ROCM_SMI,
    SYSTEM_PROFILER,
    detect_gpus,
    select_gpu,
)
from vmafx.testing import FakeToolRunner

GPU = Path(__file__).parents[2] / "fixtures" / "gpu"
P4_UUID = "GPU-5f3e4c8a-1b2d-7e9f-0a1b-2c3d4e5f6a7b"
L4_UUID = "GPU-9a8b7c6d-5e4f-3a2b-1c0d-e9f8a7b6c5d4"


def sample(name: str) -> str:
    return (GPU / name).read_text()


def every_tool() -> FakeToolRunner:
    return FakeToolRunner(
        {
            "nvidia-smi": sample("nvidia-smi_p4_l4.csv"),
            "rocm-smi": sample("rocm-smi_mi210_7900xtx.json"),
            "clinfo": sample("clinfo_raw_arc_uhd.txt"),
        }
    )


def detect(runner: FakeToolRunner, **kwargs):
    kwargs.setdefault("nvml", None)
    kwargs.setdefault("platform", "linux")
    return detect_gpus(runner=runner, **kwargs)


def test_every_vendor_is_detected_nvidia_then_amd_then_intel():
    gpus = detect(every_tool())
    assert [(gpu.vendor, gpu.name) for gpu in gpus] == [
        ("nvidia", "Tesla P4"),
        ("nvidia", "NVIDIA L4"),
        ("amd", "AMD Instinct MI210"),
        ("amd", "Navi 31 [Radeon RX 7900 XT/7900 XTX/7900M]"),
        ("intel", "Intel(R) Arc(TM) A770 Graphics"),
        ("intel", "Intel(R) UHD Graphics 770"),
    ]


def test_each_tool_is_run_with_the_timeout():
    runner = every_tool()
    detect(runner, timeout_s=2.5)
    assert [argv for argv, _ in runner.calls] == [NVIDIA_SMI, ROCM_SMI, CLINFO]
    assert {timeout for _, timeout in runner.calls} == {2.5}
    assert DEFAULT_TIMEOUT_S == 5.0


def test_a_machine_without_any_tool_has_no_gpus_and_nothing_raises():
    assert detect(FakeToolRunner({})) == []


def test_a_tool_that_timed_out_costs_only_its_own_gpus():
    runner = every_tool()
    runner.outputs["rocm-smi"] = None  # the runner gives None for a tool stopped at its timeout
    assert {gpu.vendor for gpu in detect(runner)} == {"nvidia", "intel"}


def test_output_a_parser_cannot_understand_is_harmless():
    runner = FakeToolRunner({"system_profiler": "{not json", "nvidia-smi": "\x00\x01"})
    assert detect(runner, platform="darwin") == []
    assert detect(runner) == []


def test_an_old_nvidia_driver_is_asked_again_without_compute_capability():
    old = sample("nvidia-smi_old_driver.csv")
    runner = FakeToolRunner({"nvidia-smi": lambda argv: None if "compute_cap" in argv[1] else old})
    gpus = detect(runner)
    assert [gpu.name for gpu in gpus] == ["Quadro P2000", "Quadro P2000"]
    assert [argv for argv, _ in runner.calls][:2] == [NVIDIA_SMI, NVIDIA_SMI_OLD]


def test_macos_asks_system_profiler_only():
    runner = every_tool()
    runner.outputs["system_profiler"] = sample("system_profiler_mbp2019.json")
    gpus = detect(runner, platform="darwin")
    assert [gpu.vendor for gpu in gpus] == ["intel", "amd"]
    assert [argv for argv, _ in runner.calls] == [SYSTEM_PROFILER]


class FakeNvml(types.SimpleNamespace):
    """The part of pynvml detection uses, for one L4."""

    def __init__(self, fail_init: bool = False) -> None:
        super().__init__(calls=[])
        self.fail_init = fail_init

    def nvmlInit(self):
        self.calls.append("init")
        if self.fail_init:
            raise RuntimeError("NVML Shared Library Not Found")

    def nvmlShutdown(self):
        self.calls.append("shutdown")

    def nvmlSystemGetDriverVersion(self):
        return b"550.54.15"

    def nvmlDeviceGetCount(self):
        return 1

    def nvmlDeviceGetHandleByIndex(self, index):
        return ("handle", index)

    def nvmlDeviceGetName(self, handle):
        return "NVIDIA L4"

    def nvmlDeviceGetUUID(self, handle):
        return L4_UUID

    def nvmlDeviceGetMemoryInfo(self, handle):
        return types.SimpleNamespace(total=23034 * 1024 * 1024, used=0, free=0)

    def nvmlDeviceGetCudaComputeCapability(self, handle):
        return (8, 9)


def test_nvml_is_preferred_to_nvidia_smi_and_shut_down_after():
    nvml = FakeNvml()
    runner = every_tool()
    gpus = detect(runner, nvml=lambda: nvml)
    assert gpus[0].to_json() == {
        "vendor": "nvidia",
        "name": "NVIDIA L4",
        "uuid": L4_UUID,
        "index": 0,
        "memory_mb": 23034,
        "driver": "550.54.15",
        "compute_capability": "8.9",
    }
    assert [gpu.vendor for gpu in gpus].count("nvidia") == 1
    assert NVIDIA_SMI not in [argv for argv, _ in runner.calls]
    assert nvml.calls == ["init", "shutdown"]


@pytest.mark.parametrize("loader", [lambda: None, lambda: FakeNvml(fail_init=True)])
def test_without_pynvml_or_a_driver_nvidia_smi_answers(loader):
    gpus = detect(every_tool(), nvml=loader)
    assert [gpu.name for gpu in gpus][:2] == ["Tesla P4", "NVIDIA L4"]


def test_pinning_by_uuid_keeps_that_gpu_only_and_ignores_case():
    (gpu,) = detect(every_tool(), pin=L4_UUID.lower())
    assert (gpu.name, gpu.index) == ("NVIDIA L4", 1)


def test_pinning_an_amd_or_intel_gpu_works_the_same_way():
    assert detect(every_tool(), pin="0x18f68e602b8a790f")[0].name == "AMD Instinct MI210"
    uhd = "86808046-0c00-0000-0002-000000000000"
    assert detect(every_tool(), pin=uhd)[0].name == "Intel(R) UHD Graphics 770"


def test_a_pin_that_matches_nothing_is_a_config_error_listing_the_uuids():
    with pytest.raises(ConfigError) as info:
        detect(every_tool(), pin="GPU-00000000-dead-beef-0000-000000000000")
    text = str(info.value)
    assert "VMAFX_NODE_GPU=GPU-00000000-dead-beef-0000-000000000000 matches no GPU" in text
    assert P4_UUID in text and L4_UUID in text


def test_a_pin_by_index_is_refused_with_the_reason():
    with pytest.raises(ConfigError, match="looks like a GPU index; vmafx pins a node by UUID"):
        detect(every_tool(), pin="1")


def test_a_pin_on_a_machine_without_gpus_says_none_was_detected():
    with pytest.raises(ConfigError, match="No GPU was detected"):
        select_gpu([], "GPU-1")


def test_an_empty_pin_means_no_pin():
    assert len(detect(every_tool(), pin="  ")) == 6
