"""`vmafx tune` as a user runs it: a real process, real ffmpeg, tiny generated clips."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vmafx.media.ffmpeg import locate

pytestmark = pytest.mark.integration


def make_clip(path: Path, seconds: float, size: str = "192x108") -> Path:
    subprocess.run(
        [locate(), "-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i",
         f"testsrc2=size={size}:rate=24", "-t", str(seconds), "-c:v", "ffv1",
         "-pix_fmt", "yuv420p", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("tune") / "clip.mkv", 2.0)


def env_for(state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "VMAFX_FFMPEG"}
    env["XDG_STATE_HOME"] = str(state)
    return env


def vmafx(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vmafx", "tune", *args],
        capture_output=True, text=True, env=env_for(state), timeout=240,
    )  # fmt: skip


@pytest.mark.slow
def test_a_search_answers_in_json_delivers_and_a_rerun_encodes_nothing(
    clip: Path, tmp_path: Path
) -> None:
    out = tmp_path / "best.mp4"
    args = ("crf", str(clip), "--target", "90", "--preset", "veryfast", "--format", "json")
    first = vmafx(tmp_path, *args, "--out", str(out))
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert {"crf", "vmaf", "kbps", "size_bytes", "full_encodes", "probes", "cost", "hit",
            "encoder", "preset"} <= set(data)  # fmt: skip
    assert data["hit"] and data["vmaf"] >= 90 and data["encoder"] == "libx264"
    assert out.stat().st_size > 0
    kept = list((tmp_path / "vmafx" / "tune" / "work").glob("*/full-*.mkv"))
    assert len(kept) == 1  # the answer's encode; the other full probes' are removed
    assert {p["kind"] for p in data["probes"]} <= {"sample", "full"}
    assert all({"crf", "vmaf", "frames_encoded", "frames_scored", "kind", "seconds"} <= set(p)
               for p in data["probes"])  # fmt: skip
    second = vmafx(tmp_path, *args)
    again = json.loads(second.stdout)
    assert again["crf"] == data["crf"] and again["cost"] == 0
    assert all(p["cached"] for p in again["probes"])


def test_an_input_shorter_than_a_sample_is_probed_whole_and_subsampled(tmp_path: Path) -> None:
    short = make_clip(tmp_path / "short.mkv", 1.0)
    done = vmafx(tmp_path, "crf", str(short), "--target", "85", "--format", "json")
    assert done.returncode == 0, done.stderr
    kinds = {p["kind"] for p in json.loads(done.stdout)["probes"]}
    assert kinds <= {"subsampled", "full"} and "subsampled" in kinds


def test_an_unreachable_target_exits_22_with_the_best_vmaf_and_its_crf(
    clip: Path, tmp_path: Path
) -> None:
    done = vmafx(tmp_path, "crf", str(clip), "--target", "99.5", "--min-crf", "40",
                 "--max-crf", "45")  # fmt: skip
    assert done.returncode == 22, done.stderr
    assert "no crf from 40 to 45 reaches VMAF 99.5 with libx264: the best measured is" in (
        done.stderr
    )
    assert "at crf 40." in done.stderr and "Traceback" not in done.stderr


def test_a_target_outside_0_to_100_exits_2(clip: Path, tmp_path: Path) -> None:
    done = vmafx(tmp_path, "crf", str(clip), "--target", "120")
    assert done.returncode == 2
    assert "target 120 is outside 0–100, the VMAF scale." in done.stderr


def test_an_encoder_vmafx_does_not_know_exits_2(clip: Path, tmp_path: Path) -> None:
    done = vmafx(tmp_path, "crf", str(clip), "--target", "90", "--encoder", "libfoo")
    assert done.returncode == 2 and "encoder 'libfoo' is not one vmafx can drive" in done.stderr


def test_an_encoder_this_machine_lacks_exits_11(clip: Path, tmp_path: Path) -> None:
    done = vmafx(tmp_path, "crf", str(clip), "--target", "90", "--encoder", "h264_amf")
    if done.returncode == 0:
        pytest.skip("this machine has a working AMF encoder")
    assert done.returncode == 11, done.stderr
    assert "encoder h264_amf does not work on this machine" in done.stderr


@pytest.mark.slow
def test_ctrl_c_keeps_the_probes_and_the_rerun_continues(clip: Path, tmp_path: Path) -> None:
    cache = tmp_path / "vmafx" / "tune" / "probes.jsonl"
    args = [sys.executable, "-m", "vmafx", "tune", "crf", str(clip), "--target", "93",
            "--format", "json"]  # fmt: skip
    # Once the first probe is in the cache, every later ffmpeg run of the interrupted search
    # waits until the test has sent its SIGINT: the search is always still running when the
    # signal lands (fixed delays were once too short on a loaded CI machine).
    signalled = tmp_path / "signalled"
    gate = tmp_path / "gated-ffmpeg"
    gate.write_text(
        f"#!/bin/sh\nif [ -s '{cache}' ]; then\n"
        f"  while [ ! -e '{signalled}' ]; do sleep 0.05; done\nfi\n"
        f'exec "{locate()}" "$@"\n'
    )
    gate.chmod(0o755)
    env = {**env_for(tmp_path), "VMAFX_FFMPEG": str(gate)}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if cache.exists() and cache.read_text().count("\n") >= 1:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the search ended before its first probe was cached"
    proc.send_signal(signal.SIGINT)
    signalled.touch()
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "every probe measured so far is cached" in stderr
    kept = cache.read_text().count("\n")
    assert kept >= 1
    rerun = vmafx(tmp_path, "crf", str(clip), "--target", "93", "--format", "json")
    assert rerun.returncode == 0, rerun.stderr
    assert sum(p["cached"] for p in json.loads(rerun.stdout)["probes"]) >= 1


@pytest.mark.slow
def test_a_ladder_writes_json_svg_and_an_hls_master_playlist(clip: Path, tmp_path: Path) -> None:
    hls, plot = tmp_path / "hls", tmp_path / "ladder.svg"
    done = vmafx(tmp_path, "ladder", str(clip), "--resolutions", "1080,108,72",
                 "--points", "3", "--rungs", "2", "--plot", str(plot), "--hls", str(hls),
                 "--format", "json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert {p["height"] for p in data["points"]} == {108, 72}
    assert data["skipped"] == ["1080p is above the source's 108p"]
    assert data["hull"] and 1 <= len(data["rungs"]) <= 2
    for key in ("points", "hull", "rungs"):
        assert all({"width", "height", "crf", "kbps", "vmaf"} <= set(p) for p in data[key])
    assert plot.read_text().startswith("<svg")
    master = (hls / "master.m3u8").read_text()
    assert master.count("#EXT-X-STREAM-INF") == len(data["rungs"])
    for line in master.splitlines():
        if line and not line.startswith("#"):
            assert (hls / line).exists()


def test_the_cli_registers_tune_without_importing_the_tuner() -> None:
    code = (
        "import sys, vmafx.cli.app, vmafx.cli.entry; vmafx.cli.entry.score_app(); "
        "print(sorted(m for m in sys.modules if m.startswith('vmafx.tune')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
