"""`vmafx tune --controller` with the options the local tuner has: `--metric p5` and `--scale`
give the farm's answer the local answer (same CRF, same probes, same measured values), and a
farm ladder's `--hls` writes a master playlist that ffmpeg opens, beside the local one's layout.

A real controller and a real node process; the CLI runs as a user runs it (a subprocess), on the
media folder the node shares. The clip is 1.5 s (36 frames), shorter than the sample plan's two
8-frame segments: the local tuner's cheap probes then encode the whole input and score every
frame (n_subsample 1) and the farm's encode the whole input too, so both searches see the same
numbers and take the same path. (Sample segments differ by design: the local tuner encodes them
as one clip, the farm one trimmed encode each; `tests/unit/tune/test_farm_metric.py` covers how
the farm pools p5 over them, and the last test here runs that pooling on a real node.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vmafx.core.jobs import JobKind, JobState
from vmafx.core.messages import JobFilter, JobRequest
from vmafx.core.pooling import percentile
from vmafx.media.ffmpeg import locate
from vmafx.media.probe import probe
from vmafx.media.runner import SubprocessRunner, check_returncode

pytestmark = [pytest.mark.e2e, pytest.mark.anyio, pytest.mark.slow]


def make_clip(path: Path, seconds: float = 1.5) -> Path:
    argv = [locate(), "-hide_banner", "-v", "error", "-y", "-f", "lavfi",
            "-i", f"testsrc2=size=160x90:rate=24:duration={seconds},noise=alls=12:allf=t",
            "-c:v", "ffv1", str(path)]  # fmt: skip
    check_returncode(SubprocessRunner().run(argv, timeout_s=60), "making the tune clip")
    return path


def tune(state: Path, *args: str) -> dict[str, Any]:
    """`vmafx tune ARGS --format json` in a process of its own, with its own state folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMAFX_")}
    env["XDG_STATE_HOME"] = str(state)
    done = subprocess.run([sys.executable, "-m", "vmafx", "tune", *args, "--format", "json"],
                          capture_output=True, text=True, env=env, timeout=240)  # fmt: skip
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def measured(probes: list[dict[str, Any]]) -> dict[float, float]:
    """CRF → the VMAF measured there (the local tuner lists a CRF once per kind)."""
    return {p["crf"]: round(p["vmaf"], 3) for p in probes if p.get("used", True)}


async def search_both_ways(farm: Any, *args: str) -> tuple[dict[str, Any], dict[str, Any]]:
    source = str(make_clip(farm.media / "clip.mkv"))
    farm.start_controller()
    farm.start_node("n1", queues="encode")
    await farm.node_live("n1")
    common = ("crf", source, *args, "--preset", "ultrafast")
    local = tune(farm.tmp / "local", *common)
    out = farm.media / "out" / "best.mkv"
    remote = tune(farm.tmp / "client", *common, "--out", str(out), "--controller", farm.target)
    return local, remote


async def test_a_farm_p5_search_answers_what_the_local_p5_search_answers(farm):
    local, remote = await search_both_ways(farm, "--target", "85", "--metric", "p5")
    assert local["metric"] == remote["metric"] == "p5"
    assert remote["crf"] == local["crf"]
    assert remote["vmaf"] == pytest.approx(local["vmaf"], abs=1e-3)
    assert measured(remote["probes"]) == measured(local["probes"])
    assert remote["model"] == "vmaf_v0.6.1" and remote["statistic"] == "p5"
    assert Path(remote["output"]).is_file() and remote["output"].endswith("out/best.mkv")


async def test_a_farm_search_at_another_size_answers_what_the_local_one_answers(farm):
    local, remote = await search_both_ways(farm, "--target", "80", "--scale", "96x54")
    assert remote["crf"] == local["crf"]
    assert remote["vmaf"] == pytest.approx(local["vmaf"], abs=1e-3)
    assert measured(remote["probes"]) == measured(local["probes"])
    assert remote["scale"] == "96x54"
    delivered = probe(remote["output"])  # made at that size, scored at the source's
    assert (delivered.width, delivered.height) == (96, 54)


async def test_a_farm_ladder_writes_an_hls_master_playlist_that_ffmpeg_opens(farm):
    source = str(make_clip(farm.media / "clip.mkv"))
    farm.start_controller()
    farm.start_node("n1", queues="encode")
    await farm.node_live("n1")
    hls = farm.media / "out" / "hls"
    data = tune(farm.tmp / "client", "ladder", source, "--resolutions", "90,54", "--points", "3",
                "--rungs", "2", "--preset", "ultrafast", "--out", str(farm.media / "out" / "rungs"),
                "--hls", str(hls), "--controller", farm.target)  # fmt: skip
    assert data["hls"] == str(hls / "master.m3u8")
    master = (hls / "master.m3u8").read_text()
    variants = [line for line in master.splitlines() if line and not line.startswith("#")]
    assert sorted(variants) == sorted(f"{r['height']}p_crf{r['crf']:g}/index.m3u8"
                                      for r in data["rungs"])  # fmt: skip
    for rung in data["rungs"]:
        assert f"RESOLUTION={rung['width']}x{rung['height']}" in master
    for index in range(len(variants)):  # each variant, opened through the master playlist
        argv = [locate(), "-hide_banner", "-v", "error", "-i", str(hls / "master.m3u8"),
                "-map", f"0:v:{index}", "-f", "framemd5", "-"]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        frames = [line for line in done.stdout.splitlines() if line and not line.startswith("#")]
        assert len(frames) == 36


async def test_a_farm_p5_search_pools_each_sample_probe_over_every_frame_of_its_segments(farm):
    source = make_clip(farm.media / "clip.mkv", seconds=3)  # 72 frames: two sample segments
    farm.start_controller()
    farm.start_node("n1", queues="encode")
    await farm.node_live("n1")
    spec = {"source": str(source), "codec": "h264", "encoder": "libx264", "target_vmaf": 85,
            "metric": "p5", "preset": "ultrafast", "output": str(farm.media / "out" / "p5.mkv"),
            "source_width": 160, "source_height": 90, "source_frames": 72,
            "source_fps": 24.0}  # fmt: skip
    tune_job = (await farm.client.submit_job(JobRequest.parse(kind=JobKind.TUNE, spec=spec))).job

    async def ended() -> bool:
        return (await farm.client.get_job(tune_job.id)).job.is_terminal

    await farm.wait_for(ended, "the tune job to end", timeout_s=120)
    job = (await farm.client.get_job(tune_job.id)).job
    assert job.state is JobState.COMPLETED, job.error
    children = {c.id: c for c in (await farm.client.list_jobs(JobFilter(parent_id=job.id))).jobs}
    samples = [p for p in job.result["probes"] if p["kind"] == "sample"]
    assert samples and all(len(p["jobs"]) == 2 for p in samples)
    for probe_ in samples:
        frames = [v for j in probe_["jobs"]
                  for v in children[j].result["score_after"]["series"]["vmaf_v0.6.1"]]  # fmt: skip
        assert len(frames) == probe_["frames_encoded"]
        assert probe_["vmaf"] == pytest.approx(percentile(frames, 5), abs=1e-3)
