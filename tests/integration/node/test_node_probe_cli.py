"""`vmafx node --probe` as a user runs it: the real ffmpeg's trial encodes and decodes on this
machine (no GPU driver, so NVENC and NVDEC are refused for real), the GPU list from the
test-only fake (an H100), nothing registered: no controller is running."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

H100 = {
    "vendor": "nvidia",
    "name": "NVIDIA H100 80GB HBM3",
    "uuid": "GPU-1c2d3e4f-5a6b-7c8d-9e0f-a1b2c3d4e5f6",
    "memory_mb": 81559,
    "driver": "580.159.04",
    "compute_capability": "9.0",
}


def probe(tmp_path, *args):
    fake = tmp_path / "gpus.json"
    fake.write_text(json.dumps([H100]))
    env = {
        **os.environ,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "VMAFX_NODE_FAKE_GPUS": str(fake),
        "VMAFX_NODE_ENCODERS": "libx264,h264_nvenc",
        "VMAFX_NODE_CONTROLLER": "127.0.0.1:1",  # nothing listens: --probe never dials
    }
    return subprocess.run(
        [sys.executable, "-m", "vmafx", "node", "--probe", *args],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip


@pytest.mark.skipif(os.path.exists("/dev/nvidia0"), reason="a real NVIDIA GPU would verify NVENC")
def test_probe_json_on_a_machine_without_a_driver(tmp_path):
    done = probe(tmp_path, "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["gpus"][0]["name"] == "NVIDIA H100 80GB HBM3"
    assert report["encoders"]["verified"] == ["libx264"]
    assert "h264_nvenc" in report["encoders"]["failures"]
    decoders = report["decoders"]
    assert decoders["verified"] == []
    assert set(decoders["failures"]) == {"nvdec:h264", "nvdec:hevc", "nvdec:av1", "nvdec:vp9"}
    assert report["announce"]["backends"] == ["cpu"]
    assert "cuda" in report["hwaccels"]
    notes = report["notes"]
    assert notes[0].startswith("NVIDIA H100 80GB HBM3 has no NVENC (it carries NVDEC")
    assert "h264_nvenc refused by the trial encode" in notes[0]
    assert any(note.startswith("TEST ONLY: the GPUs come from") for note in notes)


@pytest.mark.skipif(os.path.exists("/dev/nvidia0"), reason="a real NVIDIA GPU would verify NVENC")
def test_probe_table_is_the_default(tmp_path):
    done = probe(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "encoders verified: libx264" in done.stdout
    assert "refused h264_nvenc:" in done.stdout
    assert "would announce: vendor nvidia; backends cpu" in done.stdout
