"""What a node advertises, and which GPU gets a hardware encode."""

from __future__ import annotations

import json

import pytest

from vmafx.core.nodes import GpuInfo
from vmafx.errors import ConfigError
from vmafx.node.capabilities import backends_for, build_capabilities, load_fake_gpus
from vmafx.node.placement import GpuPool

P4 = GpuInfo(vendor="nvidia", name="Tesla P4", uuid="GPU-p4", index=0, memory_mb=7680)
L4 = GpuInfo(vendor="nvidia", name="NVIDIA L4", uuid="GPU-l4", index=1, memory_mb=23034)
ARC = GpuInfo(vendor="intel", name="Intel Arc A770", uuid="intel-0", index=0, memory_mb=16384)


def test_a_cpu_node_offers_the_cpu_backend_only():
    assert backends_for([], ["libx264", "libx265"]) == ("cpu",)


def test_an_nvidia_gpu_adds_cuda_only_when_nvenc_verified():
    assert backends_for([L4], ["libx264"]) == ("cpu",)
    assert backends_for([L4], ["libx264", "h264_nvenc"]) == ("cpu", "cuda")


def test_an_intel_gpu_with_qsv_adds_sycl():
    assert backends_for([ARC], ["hevc_qsv"]) == ("cpu", "sycl")


def test_capabilities_fill_the_original_fields_and_vmafx_inventory():
    caps = build_capabilities(
        host="zampp2",
        gpus=[L4],
        encoders=["libx264", "h264_nvenc", "libx264"],
        queues=["encode", "score"],
        slots=3,
        concurrency={"encode": 2, "score": 1},
        labels={"tier": "heavy"},
    )
    assert (caps.gpu_vendor, caps.backends, caps.slots) == ("nvidia", ("cpu", "cuda"), 3)
    assert caps.encoders == ("h264_nvenc", "libx264")
    assert (caps.gpus, caps.queues, caps.labels) == ((L4,), ("encode", "score"), {"tier": "heavy"})


def test_a_node_without_a_gpu_says_cpu():
    caps = build_capabilities(
        host="h", gpus=[], encoders=["libx264"], queues=[], slots=1, concurrency={}, labels={}
    )
    assert caps.gpu_vendor == "cpu"


def test_fake_gpus_are_read_from_a_json_list(tmp_path):
    path = tmp_path / "gpus.json"
    path.write_text(json.dumps([{"vendor": "nvidia", "name": "NVIDIA L4", "uuid": "GPU-l4",
                                 "index": 1, "memory_mb": 23034, "compute_capability": "8.9"}]))  # fmt: skip
    [gpu] = load_fake_gpus(path)
    assert (gpu.info(), gpu.compute_capability) == (
        GpuInfo(vendor="nvidia", name="NVIDIA L4", uuid="GPU-l4", index=1, memory_mb=23034),
        "8.9",
    )


def test_an_unusable_fake_gpu_file_is_a_config_error(tmp_path):
    path = tmp_path / "gpus.json"
    path.write_text('{"vendor": "nvidia"}')
    with pytest.raises(ConfigError, match="VMAFX_NODE_FAKE_GPUS"):
        load_fake_gpus(path)


def test_the_least_loaded_fitting_gpu_is_chosen_and_counted():
    pool = GpuPool([P4, L4])
    first = pool.acquire(["nvidia"])
    second = pool.acquire(["nvidia"])
    assert (first, second) == (P4, L4)
    pool.release(P4)
    assert pool.acquire(["nvidia"]) == P4


def test_a_gpu_too_small_or_of_another_vendor_is_never_chosen():
    pool = GpuPool([P4, L4])
    assert pool.acquire(["nvidia"], min_memory_mb=16000) == L4
    assert pool.acquire(["intel"]) is None
    assert pool.acquire(()) is None


def test_a_gpu_is_freed_when_its_job_ends():
    pool = GpuPool([L4])
    with pool.using(["nvidia"]) as gpu:
        assert (gpu, pool.load(L4)) == (L4, 1)
    assert pool.load(L4) == 0


def test_only_a_single_gpu_node_attributes_every_job_to_its_gpu():
    assert GpuPool([L4]).only == L4
    assert GpuPool([P4, L4]).only is None
    assert GpuPool().only is None
