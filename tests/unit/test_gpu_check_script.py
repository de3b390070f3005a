"""benchmarks/gpu.py's own plumbing, without running its steps: the ffmpeg that travels
xz-compressed is unpacked and made executable, a step past the budget is skipped with the
reason, and a step that raises is recorded as an error instead of ending the run."""

from __future__ import annotations

import importlib.util
import lzma
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu.py"


@pytest.fixture
def gpu():
    spec = importlib.util.spec_from_file_location("vmafx_gpu_check", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["vmafx_gpu_check"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("vmafx_gpu_check", None)


def test_the_carried_ffmpeg_is_unpacked_and_runs(gpu, tmp_path, monkeypatch):
    carry = tmp_path / "carry"
    carry.mkdir()
    with lzma.open(carry / "ffmpeg.xz", "wb") as packed:
        packed.write(b"#!/bin/sh\necho unpacked ffmpeg\n")
    monkeypatch.setattr(gpu, "CARRY", carry)
    monkeypatch.setattr(gpu, "importable", lambda name: False)
    monkeypatch.delenv("VMAFX_FFMPEG", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    run = gpu.Run(tmp_path / "out", 60, True)
    path = gpu.find_ffmpeg(run, None)
    assert Path(path).parent == run.work
    assert subprocess.run([path], capture_output=True, text=True).stdout == "unpacked ffmpeg\n"


def test_without_any_ffmpeg_the_run_says_how_to_bring_one(gpu, tmp_path, monkeypatch):
    monkeypatch.setattr(gpu, "CARRY", tmp_path / "nothing")
    monkeypatch.setattr(gpu, "importable", lambda name: False)
    monkeypatch.delenv("VMAFX_FFMPEG", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(SystemExit, match="scripts/gpu-carry.sh"):
        gpu.find_ffmpeg(gpu.Run(tmp_path / "out", 60, True), None)


def test_steps_past_the_budget_are_skipped_and_failures_recorded(gpu, tmp_path):
    (tmp_path / "out").mkdir()
    run = gpu.Run(tmp_path / "out", 30, True)
    run.step("fine", lambda: {"figure": 1}, 0)
    run.step("late", lambda: {"figure": 2}, 3600)
    run.step("broken", lambda: 1 / 0, 0)
    steps = run.summary["steps"]
    assert steps["fine"]["figure"] == 1
    assert steps["late"]["skipped"].startswith("budget: ")
    assert steps["broken"]["error"] == "ZeroDivisionError: division by zero"
    assert (tmp_path / "out" / "summary.json").is_file()
