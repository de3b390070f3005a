"""The GPU tool parsers on real-world output samples (tests/fixtures/gpu/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vmafx.core.gpus import DetectedGpu
from vmafx.node.gpu_parsers import (
    parse_clinfo,
    parse_nvidia_smi_csv,
    parse_rocm_smi,
    parse_system_profiler,
)

GPU = Path(__file__).parents[2] / "fixtures" / "gpu"


def sample(name: str) -> str:
    return (GPU / name).read_text()


def test_nvidia_smi_csv_gives_a_tesla_p4_and_an_l4_with_uuid_memory_driver_and_capability():
    p4, l4 = parse_nvidia_smi_csv(sample("nvidia-smi_p4_l4.csv"))
    assert p4 == DetectedGpu(
        vendor="nvidia",
        name="Tesla P4",
        uuid="GPU-5f3e4c8a-1b2d-7e9f-0a1b-2c3d4e5f6a7b",
        index=0,
        memory_mb=7680,
        driver="535.183.01",
        compute_capability="6.1",
    )
    assert (l4.name, l4.index, l4.memory_mb, l4.compute_capability) == (
        "NVIDIA L4",
        1,
        23034,
        "8.9",
    )


def test_nvidia_smi_from_an_old_driver_has_no_capability_and_tolerates_na_memory():
    first, second = parse_nvidia_smi_csv(sample("nvidia-smi_old_driver.csv"))
    assert (first.name, first.memory_mb, first.compute_capability) == ("Quadro P2000", 5120, None)
    assert second.memory_mb == 0
    assert first.uuid != second.uuid


def test_nvidia_smi_noise_and_error_lines_are_skipped():
    text = "No devices were found\n\n0, Tesla T4, GPU-1, 15360, 550.54.15, 7.5\ngarbage, row\n"
    (gpu,) = parse_nvidia_smi_csv(text)
    assert (gpu.name, gpu.uuid, gpu.memory_mb) == ("Tesla T4", "GPU-1", 15360)


def test_rocm_smi_json_after_a_warning_gives_name_uuid_vram_driver_and_gfx_version():
    mi210, navi = parse_rocm_smi(sample("rocm-smi_mi210_7900xtx.json"))
    assert mi210 == DetectedGpu(
        vendor="amd",
        name="AMD Instinct MI210",
        uuid="0x18f68e602b8a790f",
        index=0,
        memory_mb=65520,
        driver="6.7.0",
        compute_capability="gfx90a",
    )
    assert navi.name.startswith("Navi 31 [Radeon RX 7900")
    assert navi.uuid == "amd-guid-45005"  # no unique id on this card: the KFD GUID stands in
    assert (navi.index, navi.memory_mb, navi.compute_capability) == (1, 24560, "gfx1100")


def test_rocm_smi_text_form_is_understood_too():
    (gpu,) = parse_rocm_smi(sample("rocm-smi_rx6800_text.txt"))
    assert gpu.name == "Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]"
    assert (gpu.uuid, gpu.memory_mb, gpu.driver) == ("0x2f8d7c6b5a493827", 16368, "6.2.4")


def test_rocm_smi_with_a_hex_only_series_falls_back_to_a_readable_name():
    text = '{"card0": {"Card series": "0x73bf", "Card model": "0x73bf", "Unique ID": "0xab"}}'
    (gpu,) = parse_rocm_smi(text)
    assert (gpu.name, gpu.uuid, gpu.memory_mb, gpu.driver) == ("AMD GPU", "0xab", 0, None)


def test_clinfo_raw_keeps_only_intel_gpus_and_reads_uuid_memory_and_driver():
    arc, uhd = parse_clinfo(sample("clinfo_raw_arc_uhd.txt"))
    assert arc == DetectedGpu(
        vendor="intel",
        name="Intel(R) Arc(TM) A770 Graphics",
        uuid="8680a056-0800-0000-0300-000000000000",
        index=0,
        memory_mb=15473,
        driver="24.35.30872.22",
    )
    assert (uhd.name, uhd.index, uhd.memory_mb) == ("Intel(R) UHD Graphics 770", 1, 25486)


def test_clinfo_plain_output_gives_the_same_gpu_and_ignores_the_null_platform_section():
    (uhd,) = parse_clinfo(sample("clinfo_plain_uhd770.txt"))
    assert uhd.uuid == "86808046-0c00-0000-0002-000000000000"
    assert (uhd.name, uhd.memory_mb, uhd.driver) == (
        "Intel(R) UHD Graphics 770",
        25486,
        "23.43.27642.40",
    )


def test_clinfo_without_a_device_uuid_uses_the_pci_address():
    text = sample("clinfo_raw_arc_uhd.txt").replace(
        "[INTEL/0]     CL_DEVICE_UUID_KHR                              8680a056-0800-0000-0300-000000000000\n",
        "",
    )
    arc = parse_clinfo(text)[0]
    assert arc.uuid == "intel-pci-0000:03:00.0"


def test_clinfo_listing_one_gpu_through_two_platforms_counts_it_once():
    text = sample("clinfo_raw_arc_uhd.txt")
    doubled = text + text.replace("[INTEL/", "[INTEL2/")
    assert len(parse_clinfo(doubled)) == 2


def test_system_profiler_on_apple_silicon_gives_one_apple_gpu():
    (gpu,) = parse_system_profiler(sample("system_profiler_m2pro.json"))
    assert (gpu.vendor, gpu.name, gpu.compute_capability) == ("apple", "Apple M2 Pro", "metal3")
    assert gpu.uuid == "apple:builtin:apple-m2-pro"


def test_system_profiler_on_an_intel_mac_gives_the_igpu_and_the_radeon_with_vram():
    uhd, radeon = parse_system_profiler(sample("system_profiler_mbp2019.json"))
    assert (uhd.vendor, uhd.memory_mb, uhd.uuid) == ("intel", 1536, "intel:builtin:0x3e9b")
    assert (radeon.vendor, radeon.memory_mb, radeon.index) == ("amd", 4096, 1)


def test_system_profiler_keeps_two_identical_cards_apart():
    data = json.loads(sample("system_profiler_mbp2019.json"))
    data["SPDisplaysDataType"].append(data["SPDisplaysDataType"][1])
    gpus = parse_system_profiler(json.dumps(data))
    assert [gpu.uuid for gpu in gpus][1:] == ["amd:pcie_device:0x7340", "amd:pcie_device:0x7340#1"]


@pytest.mark.parametrize("parse", [parse_nvidia_smi_csv, parse_rocm_smi, parse_clinfo])
def test_empty_output_means_no_gpus(parse):
    assert parse("") == []


def test_detected_gpu_is_a_gpu_info_and_survives_json():
    (gpu,) = parse_nvidia_smi_csv("0, NVIDIA L4, GPU-9, 23034, 550.54.15, 8.9")
    assert DetectedGpu.from_json(gpu.to_json()) == gpu
    assert gpu.info().to_json() == {
        k: v for k, v in gpu.to_json().items() if k != "compute_capability"
    }
