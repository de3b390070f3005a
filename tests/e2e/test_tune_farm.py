"""A tune job on a real controller and two real nodes: the controller's tuner spreads the
search's probes over both nodes as encode jobs, a node killed in the middle of its probe costs
only that probe (requeued by its lost lease, re-run on the other node), and the chosen encode is
a node's output. The clips are tiny (160x90, 1–3 s) so a whole search takes seconds.

The doomed node runs ffmpeg through a wrapper that hangs on probe encodes (their outputs are in
the tune's `.NAME.tune/` folder), so it is always mid-probe when it is killed: no race. That
clip is 3 s (72 frames), long enough for cheap probes on two sample segments."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from vmafx.core.jobs import JobKind, JobState
from vmafx.core.messages import JobFilter, JobRequest
from vmafx.media.ffmpeg import locate
from vmafx.media.runner import SubprocessRunner, check_returncode

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]
P4 = {"vendor": "nvidia", "name": "Tesla P4", "uuid": "GPU-5f3e4c8a-1b2d-7e9f-0a1b-2c3d4e5f6a7b",
      "index": 0, "memory_mb": 7680, "driver": "535.183.01"}  # fmt: skip


def make_clip(path: Path, seconds: int = 1) -> None:
    argv = [locate(), "-hide_banner", "-v", "error", "-y", "-f", "lavfi",
            "-i", f"testsrc2=size=160x90:rate=24:duration={seconds},noise=alls=12:allf=t",
            "-c:v", "ffv1", str(path)]  # fmt: skip
    check_returncode(SubprocessRunner().run(argv, timeout_s=60), "making the tune clip")


def hanging_ffmpeg(folder: Path) -> Path:
    """An ffmpeg that never finishes a probe's encode (anything else runs normally)."""
    tool = folder / "ffmpeg-hangs-on-probes"
    tool.write_text(
        f'#!/bin/sh\ncase "$*" in *.tune/*) exec sleep 600;; esac\nexec "{locate()}" "$@"\n'
    )
    tool.chmod(0o755)
    return tool


async def test_a_tune_job_spreads_probes_over_two_nodes_and_survives_one_dying(farm):
    make_clip(farm.media / "clip.mkv", seconds=3)  # 72 frames: long enough for sample probes
    farm.start_controller()
    doomed = farm.start_node(
        "doomed", queues="encode", env={"VMAFX_FFMPEG": str(hanging_ffmpeg(farm.tmp))}
    )
    await farm.node_live("doomed")
    out = farm.media / "out" / "best.mkv"
    spec = {"source": str(farm.media / "clip.mkv"), "codec": "h264", "encoder": "libx264",
            "target_vmaf": 88, "output": str(out), "parallel": 2, "preset": "ultrafast",
            "source_width": 160, "source_height": 90, "source_frames": 72,
            "source_fps": 24.0}  # fmt: skip
    tune = (await farm.client.submit_job(JobRequest.parse(kind=JobKind.TUNE, spec=spec))).job

    async def doomed_mid_probe() -> bool:
        children = (await farm.client.list_jobs(JobFilter(parent_id=tune.id))).jobs
        return any(c.lease is not None and c.lease.node_name == "doomed" for c in children)

    # Alone, the doomed node takes the first probe: the one the search needs (not a guess).
    await farm.wait_for(doomed_mid_probe, "a probe running on the doomed node")
    farm.start_node("steady", queues="encode")
    await farm.node_live("steady")
    doomed.signal(signal.SIGKILL)

    async def ended() -> bool:
        return (await farm.client.get_job(tune.id)).job.is_terminal

    await farm.wait_for(ended, "the tune job to end", timeout_s=120)
    job = (await farm.client.get_job(tune.id)).job
    assert job.state is JobState.COMPLETED, job.error
    result = job.result
    assert result["hit"] and result["vmaf"] >= 88 and result["encoder"] == "libx264"
    assert Path(result["output"]).is_file() and result["deliver_as"] == str(out)
    # Cheap probes: two trimmed sample segments each, scored against the same range.
    assert {p["kind"] for p in result["probes"]} == {"sample", "full"}
    assert all(len(p["jobs"]) == 2 for p in result["probes"] if p["kind"] == "sample")

    attempts = {}
    for child in (await farm.client.list_jobs(JobFilter(parent_id=tune.id))).jobs:
        raw = await farm.raw_job(child.id)
        attempts[child.id] = [(a.attribution.node_name, a.outcome) for a in raw.attempts]
    lost = [tries for tries in attempts.values() if ("doomed", "lease_lost") in tries]
    assert lost == [[("doomed", "lease_lost"), ("steady", "completed")]], json.dumps(attempts)
    [redone] = [p for p in result["probes"] if p["attempts"] == 2]
    assert redone["nodes"] == ["steady"]
    assert {n for p in result["probes"] for n in p["nodes"]} >= {"steady"}
    tuner = await farm.raw_job(tune.id)
    assert [a.attribution.node_name for a in tuner.attempts] == ["controller-tuner"]


async def test_a_hardware_encoder_that_fails_on_the_node_falls_back_and_the_search_says_so(farm):
    make_clip(farm.media / "clip.mkv")
    farm.start_controller()
    farm.start_node("p4", queues="encode", gpus=[P4], declared="h264_nvenc")  # no driver here
    await farm.node_live("p4")
    spec = {"source": str(farm.media / "clip.mkv"), "codec": "h264", "hw": "prefer",
            "target_vmaf": 88, "output": str(farm.media / "out" / "hw.mkv"),
            "preset": "fast"}  # fmt: skip
    tune = (await farm.client.submit_job(JobRequest.parse(kind=JobKind.TUNE, spec=spec))).job

    async def ended() -> bool:
        return (await farm.client.get_job(tune.id)).job.is_terminal

    await farm.wait_for(ended, "the tune job to end", timeout_s=120)
    job = (await farm.client.get_job(tune.id)).job
    assert job.state is JobState.COMPLETED, job.error
    result = job.result
    assert result["encoder"] == "h264_nvenc" and result["parameter"] == "cq"
    assert (result["fallback"]["from"], result["fallback"]["to"]) == ("h264_nvenc", "libx264")
    assert all(p["encoder"] == "libx264" and p["fallback"] for p in result["probes"])
    assert Path(result["output"]).is_file()
