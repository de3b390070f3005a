"""`vmafx node --probe` through a fake ffmpeg, fake GPU tools and a fake NVML: what a Hopper
node (H100, no NVENC) would announce, and why its NVENC encoders are refused.

No GPU is used: the hardware paths are tested with recorded outputs and fakes only.
"""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest

from vmafx.media.ffmpeg import FfmpegInfo
from vmafx.media.runner import RunResult
from vmafx.node.decoder_probe import probe_decoders
from vmafx.node.gpus import NVIDIA_SMI
from vmafx.node.probe_report import parse_hwaccels, probe_node, render_table
from vmafx.node.settings import NodeSettings
from vmafx.testing import FakeRunner, FakeToolRunner

GPU = Path(__file__).parents[2] / "fixtures" / "gpu"
H100_UUID = "GPU-1c2d3e4f-5a6b-7c8d-9e0f-a1b2c3d4e5f6"
ENCODERS = """Encoders:
 V..... = Video
 ------
 V....D libx264              libx264 H.264 / AVC (codec h264)
 V....D h264_nvenc           NVIDIA NVENC H.264 encoder (codec h264)
 V....D hevc_nvenc           NVIDIA NVENC hevc encoder (codec hevc)
"""
NO_NVENC = (
    "[h264_nvenc @ 0x55d1] OpenEncodeSessionEx failed: unsupported device (2): (no details)\n"
    "[vost#0:0/h264_nvenc @ 0x55d2] Error while opening encoder - maybe incorrect parameters\n"
)


class FakeNvml(types.SimpleNamespace):
    """The part of pynvml detection uses, for one H100."""

    def nvmlInit(self):
        pass

    def nvmlShutdown(self):
        pass

    def nvmlSystemGetDriverVersion(self):
        return "580.159.04"

    def nvmlDeviceGetCount(self):
        return 1

    def nvmlDeviceGetHandleByIndex(self, index):
        return index

    def nvmlDeviceGetName(self, handle):
        return b"NVIDIA H100 80GB HBM3"

    def nvmlDeviceGetUUID(self, handle):
        return H100_UUID

    def nvmlDeviceGetMemoryInfo(self, handle):
        return types.SimpleNamespace(total=81559 * 1024 * 1024)

    def nvmlDeviceGetCudaComputeCapability(self, handle):
        return (9, 0)


def hopper_ffmpeg(decode_fails: frozenset[str] = frozenset()) -> FakeRunner:
    """An ffmpeg on an H100: NVENC refused, software encoders fine, NVDEC decodes."""

    def respond(argv: list[str]) -> RunResult:
        if "-encoders" in argv:
            return RunResult(argv, 0, "", 0.0, ENCODERS)
        if "-hwaccels" in argv:
            return RunResult(argv, 0, "", 0.0, "Hardware acceleration methods:\ncuda\nvaapi\n")
        if any("_nvenc" in a for a in argv):
            return RunResult(argv, 1, NO_NVENC, 0.0)
        if "-hwaccel" in argv:
            sample = argv[argv.index("-i") + 1]
            if any(sample.endswith(name) for name in decode_fails):
                return RunResult(
                    argv, 1, "[Parsed_hwdownload_0 @ 0x1] Invalid output format\n", 0.0
                )
        return RunResult(argv, 0, "", 0.0)

    return FakeRunner(respond)


def h100_tools() -> FakeToolRunner:
    return FakeToolRunner({"nvidia-smi": (GPU / "nvidia-smi_h100.csv").read_text()})


FFMPEG = FfmpegInfo(__file__, "n9.0-fake", frozenset({"libvmaf"}))


def test_an_h100_node_refuses_nvenc_verifies_nvdec_and_says_why(tmp_path):
    runner = hopper_ffmpeg()
    report = probe_node(
        NodeSettings(),
        FFMPEG,
        runner,
        tools=h100_tools(),
        nvml=FakeNvml,
        cache_dir=tmp_path,
    )
    (gpu,) = report.gpus
    assert (gpu.name, gpu.uuid, gpu.memory_mb, gpu.driver, gpu.compute_capability) == (
        "NVIDIA H100 80GB HBM3", H100_UUID, 81559, "580.159.04", "9.0",
    )  # fmt: skip
    assert report.nvml == report.nvidia_smi == report.gpus  # both sources agree
    assert report.encoders.verified == {"libx264"}
    refused = report.encoders.failures["h264_nvenc"].reason
    assert (
        refused == "exit code 1: OpenEncodeSessionEx failed: unsupported device (2): (no details)"
    )
    assert report.decoders.verified == {"nvdec:h264", "nvdec:hevc", "nvdec:av1", "nvdec:vp9"}
    assert report.capabilities.backends == ("cpu",)
    assert report.capabilities.gpu_vendor == "nvidia"
    assert report.hwaccels == ("cuda", "vaapi")
    hopper = report.notes[0]
    assert hopper.startswith("NVIDIA H100 80GB HBM3 has no NVENC")
    assert "h264_nvenc, hevc_nvenc refused by the trial encode as expected" in hopper
    assert "encode jobs run on software encoders" in hopper
    assert any("cuda backend is not announced" in note for note in report.notes)
    decodes = [argv for argv in runner.calls if "-hwaccel" in argv]
    assert len(decodes) == 4
    assert all(
        argv[argv.index("-hwaccel") + 1] == "cuda" and "hwdownload,format=nv12" in argv
        for argv in decodes
    )


def test_the_report_prints_as_json_and_as_a_table(tmp_path):
    report = probe_node(
        NodeSettings(), FFMPEG, hopper_ffmpeg(), tools=h100_tools(), nvml=None, cache_dir=tmp_path
    )
    data = json.loads(json.dumps(report.to_json()))
    assert data["sources"]["nvml"] is None  # no NVML module: nvidia-smi answered
    assert data["gpus"][0]["compute_capability"] == "9.0"
    assert data["announce"]["backends"] == ["cpu"]
    assert data["encoders"]["verified"] == ["libx264"]
    assert "h264_nvenc" in data["encoders"]["failures"]
    assert data["decoders"]["skipped"] is None
    table = render_table(report)
    assert (
        f"[0] nvidia NVIDIA H100 80GB HBM3  uuid {H100_UUID}  81559 MiB  driver 580.159.04  "
        "compute 9.0" in table
    )
    assert "  NVML: no answer" in table
    assert "refused h264_nvenc: exit code 1: OpenEncodeSessionEx failed" in table
    assert "note: NVIDIA H100 80GB HBM3 has no NVENC" in table


def test_a_decoder_whose_trial_fails_is_refused_with_ffmpegs_reason():
    gpu = types.SimpleNamespace(vendor="nvidia")
    report = probe_decoders("ffmpeg", hopper_ffmpeg(frozenset({"h.mp4"})), gpus=[gpu])
    assert report.verified == {"nvdec:h264", "nvdec:av1", "nvdec:vp9"}
    assert (
        report.failures["nvdec:hevc"].reason == "trial decode: exit code 1: Invalid output format"
    )


def test_without_an_nvidia_gpu_no_decode_is_tried(tmp_path):
    runner = hopper_ffmpeg()
    report = probe_node(
        NodeSettings(), FFMPEG, runner, tools=FakeToolRunner({}), nvml=None, cache_dir=tmp_path
    )
    assert report.gpus == ()
    assert report.decoders.skipped == "no NVIDIA GPU detected: NVDEC not tried"
    assert not any("-hwaccel" in argv for argv in runner.calls)
    assert report.capabilities.gpu_vendor == "cpu"
    assert report.notes == ()


def test_a_pinned_gpu_that_is_not_there_is_a_config_error(tmp_path):
    from vmafx.errors import ConfigError

    with pytest.raises(ConfigError, match="matches no GPU"):
        probe_node(
            NodeSettings(gpu="GPU-00000000-0000-0000-0000-000000000000"),
            FFMPEG,
            hopper_ffmpeg(),
            tools=h100_tools(),
            nvml=None,
            cache_dir=tmp_path,
        )


def test_hwaccels_are_read_from_ffmpegs_listing():
    assert parse_hwaccels("Hardware acceleration methods:\ncuda\nvaapi\n\n") == ("cuda", "vaapi")
    assert NVIDIA_SMI[0] == "nvidia-smi"
