"""GPU load for heartbeats: the nvidia-smi parser on recorded outputs, NVML through a fake
`pynvml` module, and the sampler's order (NVML, nvidia-smi, nvidia-smi without the encoder
field) with fake tools. Never run on real hardware."""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from vmafx.core.gpuusage import GpuUsage
from vmafx.node.gpu_parsers import NVIDIA_USAGE_FIELDS, parse_nvidia_smi_usage
from vmafx.node.gpuload import GpuLoadSampler, read_nvml_usage, usage_argv

GPU = Path(__file__).parents[2] / "fixtures" / "gpu"
P4 = "GPU-5f3e4c8a-1b2d-7e9f-0a1b-2c3d4e5f6a7b"
L4 = "GPU-9a8b7c6d-5e4f-3a2b-1c0d-e9f8a7b6c5d4"
OLD_FIELDS = tuple(f for f in NVIDIA_USAGE_FIELDS if f != "utilization.encoder")


def test_nvidia_smi_usage_rows_become_gpu_usage():
    usage = parse_nvidia_smi_usage((GPU / "nvidia-smi_usage_p4_l4.csv").read_text())
    assert usage == [
        GpuUsage(uuid=P4, index=0, utilization_pct=37.0, encoder_utilization_pct=61.0,
                 encoder_sessions=2, memory_used_mb=1843, memory_total_mb=7680),
        GpuUsage(uuid=L4, index=1, utilization_pct=4.0, encoder_utilization_pct=0.0,
                 encoder_sessions=0, memory_used_mb=412, memory_total_mb=23034),
    ]  # fmt: skip


def test_an_old_driver_without_encoder_utilisation_and_na_values():
    text = (GPU / "nvidia-smi_usage_old_driver.csv").read_text()
    first, second = parse_nvidia_smi_usage(text, OLD_FIELDS)
    assert (first.utilization_pct, first.encoder_utilization_pct, first.encoder_sessions) == (
        88.0, None, 3,
    )  # fmt: skip
    assert (first.memory_used_mb, first.memory_total_mb) == (2977, 5120)
    assert second == GpuUsage(uuid="GPU-3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7", index=1)


@pytest.mark.parametrize(
    "text",
    ["", "garbage\n", "0, , 1, 2, 3, 4, 5\n", "0, GPU-x, 1, 2\n", "NVIDIA-SMI has failed\n"],
)
def test_malformed_usage_output_gives_no_gpu_rather_than_an_error(text):
    assert parse_nvidia_smi_usage(text) == []


def test_impossible_figures_are_unknown_once_checked():
    odd = GpuUsage(uuid="GPU-x", utilization_pct=250.0, encoder_utilization_pct=float("nan"),
                   encoder_sessions=-1, memory_used_mb=10, memory_total_mb=-5)  # fmt: skip
    assert odd.checked() == GpuUsage(uuid="GPU-x", memory_used_mb=10)


class FakeNvml:
    """What pynvml offers, for two GPUs; the second refuses encoder figures (NotSupported)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def nvmlInit(self) -> None:
        self.calls.append("init")

    def nvmlShutdown(self) -> None:
        self.calls.append("shutdown")

    def nvmlDeviceGetCount(self) -> int:
        return 2

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetUUID(self, handle: int) -> bytes:
        return (P4 if handle == 0 else L4).encode()

    def nvmlDeviceGetUtilizationRates(self, handle: int):
        return types.SimpleNamespace(gpu=[55, 9][handle], memory=10)

    def nvmlDeviceGetEncoderUtilization(self, handle: int):
        if handle == 1:
            raise RuntimeError("NVMLError_NotSupported")
        return [73, 167000]

    def nvmlDeviceGetEncoderStats(self, handle: int):
        if handle == 1:
            raise RuntimeError("NVMLError_NotSupported")
        return [3, 240, 1200]

    def nvmlDeviceGetMemoryInfo(self, handle: int):
        return types.SimpleNamespace(used=[2048, 512][handle] * 1024 * 1024, total=8 << 30)


def test_nvml_figures_and_unsupported_ones_as_unknown():
    nvml = FakeNvml()
    first, second = read_nvml_usage(nvml)
    assert first == GpuUsage(uuid=P4, index=0, utilization_pct=55.0, encoder_utilization_pct=73.0,
                             encoder_sessions=3, memory_used_mb=2048, memory_total_mb=8192)  # fmt: skip
    assert (second.uuid, second.utilization_pct, second.encoder_sessions) == (L4, 9.0, None)
    assert nvml.calls == ["init", "shutdown"]


class FakeTools:
    """A ToolRunner answering argv it knows; records what it was asked."""

    def __init__(self, answers: dict[str, str | None]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def run(self, argv, timeout_s):
        key = " ".join(argv)
        self.asked.append(key)
        return self.answers.get(key)


def test_the_sampler_reads_nvml_first_and_keeps_only_its_own_gpus():
    tools = FakeTools({})
    sampler = GpuLoadSampler([L4.lower()], runner=tools, nvml=FakeNvml)
    assert [usage.uuid for usage in sampler.sample()] == [L4]
    assert (sampler.source, tools.asked) == ("nvml", [])


def test_without_nvml_it_asks_nvidia_smi_then_again_without_the_encoder_field():
    old = " ".join(usage_argv(OLD_FIELDS))
    tools = FakeTools({old: (GPU / "nvidia-smi_usage_old_driver.csv").read_text()})

    def broken_nvml():
        raise OSError("libnvidia-ml.so.1: cannot open shared object file")

    sampler = GpuLoadSampler(["GPU-0d2c4b6a-8e1f-4a3b-9c5d-7e6f8a9b0c1d"], runner=tools,
                             nvml=broken_nvml)  # fmt: skip
    [usage] = sampler.sample()
    assert (usage.index, usage.utilization_pct, sampler.source) == (0, 88.0, "nvidia-smi")
    assert tools.asked == [" ".join(usage_argv(NVIDIA_USAGE_FIELDS)), old]
    sampler.sample()  # NVML is not tried again once it failed
    assert len(tools.asked) == 4


def test_no_tool_at_all_is_an_empty_sample():
    sampler = GpuLoadSampler([P4], runner=FakeTools({}), nvml=None)
    assert (sampler.sample(), sampler.source) == ([], "")


@pytest.mark.anyio
async def test_a_stuck_sample_delays_the_heartbeat_by_wait_s_once_then_not_at_all():
    import asyncio
    import threading
    import time

    release = threading.Event()

    class StuckTools:
        calls = 0

        def run(self, argv, timeout_s):
            StuckTools.calls += 1
            release.wait(5)  # a wedged driver: nvidia-smi does not answer

    sampler = GpuLoadSampler([P4], runner=StuckTools(), nvml=None, wait_s=0.1)
    began = time.monotonic()
    assert await sampler.sample_async() == []
    first = time.monotonic() - began
    began = time.monotonic()
    assert await sampler.sample_async() == []  # the first is still running: none starts
    second = time.monotonic() - began
    assert StuckTools.calls == 1 and first >= 0.1 and second < first
    release.set()
    await asyncio.sleep(0.05)
