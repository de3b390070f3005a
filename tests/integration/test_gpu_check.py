"""The GPU device script's CPU-only path (`--dry-run`): tiny clips, every step run on this
machine's CPU, with the packages the lent GPU machine's image lacks hidden (PyAV, SQLAlchemy,
FastAPI, imageio-ffmpeg), so a run there cannot fail on an import. The figures it writes are
checked for shape and for what a machine without a GPU must show: NVENC and NVDEC refused, the
CUDA decode redone on the CPU and recorded, the trainer's CUDA run skipped with its reason."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vmafx.media.ffmpeg import ffmpeg_info

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
NO_GPU = shutil.which("nvidia-smi") is None


def test_the_dry_run_writes_every_figure_without_the_missing_packages(tmp_path):
    out = tmp_path / "out"
    # PYTHON as scripts/test.sh sets it is relative to the repository root; the script runs
    # from elsewhere here, so it gets this interpreter's absolute path.
    env = {**os.environ, "VMAFX_FFMPEG": ffmpeg_info().path, "PYTHON": sys.executable}
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "gpu-check.sh"), str(out), "--dry-run",
         "--without", "av,sqlalchemy,fastapi,imageio_ffmpeg", "--budget-s", "240"],
        capture_output=True, text=True, env=env, timeout=400, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == [
        "env.json", "log.txt", "probe.json", "summary.json", "summary.md",
    ]  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    steps = summary["steps"]
    assert summary["dry_run"] is True
    assert set(steps) == {"env", "probe", "score_1080p", "score_2160p", "torch", "trainer"}
    assert not any("error" in figures for figures in steps.values()), steps
    assert set(steps["env"]["missing"]) >= {"av", "sqlalchemy", "fastapi", "imageio_ffmpeg"}
    probe = steps["probe"]
    assert probe["how"] == "vmafx node --probe --format json"
    assert "libx264" in probe["encoders_verified"]
    assert json.loads((out / "probe.json").read_text())["announce"]["backends"][0] == "cpu"
    for name in ("score_1080p", "score_2160p"):
        score = steps[name]
        assert score["cpu"]["fps"] > 0
        assert score["bit_exact"] is True
        assert score["cpu"]["vmaf_mean"] == score["cuda"]["vmaf_mean"]
        if NO_GPU:
            assert score["cuda"]["decode"]["used"] == "cpu"
            assert score["cuda"]["decode"]["reason"].startswith("NVDEC failed: ")
            assert score["gpu_decoded"] is False
            assert str(score["decode_fps"]["nvdec"]).startswith("failed: ")
    assert steps["score_1080p"]["auto"]["asked"] == "auto"
    trainer = steps["trainer"]
    assert trainer["cpu"]["steps_per_s"] > 0
    torch_step = steps["torch"]
    assert "skipped" in torch_step or torch_step["cpu_decode"]["frames"] == 6
    if NO_GPU:
        assert "VMAFX_SIDECAR_CUDA=1" in trainer["cuda"]["skipped"]
    assert "## score_1080p" in (out / "summary.md").read_text()
    assert "[trainer]" in (out / "log.txt").read_text()
