"""A controller and several nodes as real processes: capability routing, waiting for a fit
node, hardware fallback, a node lost mid-job, a node drained by SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import urllib.request

import pytest

from vmafx.core import frames
from vmafx.core.jobs import JobKind, JobState, Requirements
from vmafx.core.messages import JobFilter, JobRequest

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

#: The L4 of tests/fixtures/gpu/nvidia-smi_p4_l4.csv (what the fake nvidia-smi prints).
L4_UUID = "GPU-9a8b7c6d-5e4f-3a2b-1c0d-e9f8a7b6c5d4"
P4 = {"vendor": "nvidia", "name": "Tesla P4", "uuid": "GPU-5f3e4c8a-1b2d-7e9f-0a1b-2c3d4e5f6a7b",
      "index": 0, "memory_mb": 7680, "driver": "535.183.01"}  # fmt: skip
HEAVY = Requirements(labels={"tier": "heavy"}, min_gpu_memory_mb=16000)


def encode(farm, name: str, requirements: Requirements | None = None, **spec) -> JobRequest:
    fields = {
        "source": str(farm.media / "ref.y4m"),
        "output": str(farm.media / "out" / f"{name}.mp4"),
        "codec": "h264",
        "rate_control": {"mode": "crf", "value": 30},
        **spec,
    }
    return JobRequest.parse(
        kind=JobKind.ENCODE, spec=fields, requirements=requirements or Requirements()
    )


def score(farm, reference: str = "ref.y4m", distorted: str = "dis.mp4", **spec) -> JobRequest:
    fields = {"reference": str(farm.media / reference), "distorted": [str(farm.media / distorted)]}
    return JobRequest.parse(kind=JobKind.SCORE, spec={**fields, **spec})


async def submit(farm, *requests: JobRequest) -> list[str]:
    return [(await farm.client.submit_job(request)).job.id for request in requests]


async def all_ended(farm, job_ids: list[str]) -> None:
    async def ended() -> bool:
        jobs = [(await farm.client.get_job(job_id)).job for job_id in job_ids]
        return all(job.is_terminal for job in jobs)

    await farm.wait_for(ended, f"jobs {job_ids} to end")


async def running_with_progress(farm, job_id: str) -> None:
    async def started() -> bool:
        job = (await farm.client.get_job(job_id)).job
        return job.state is JobState.RUNNING and (job.progress or 0) > 0

    await farm.wait_for(started, f"job {job_id} to run and report progress")


async def test_heavy_encodes_run_only_on_the_heavy_gpu_node_and_a_failing_nvenc_falls_back(farm):
    farm.start_controller()
    farm.start_node("light-cpu", queues="score,encode", labels="tier=light")
    farm.start_node("light-p4", queues="encode,thumbnail,filmstrip", labels="tier=light",
                    gpus=[P4], declared="h264_nvenc")  # fmt: skip
    heavy = farm.start_node("heavy-l4", queues="encode", labels="tier=heavy",
                            nvidia_smi_pin=L4_UUID, declared="h264_nvenc")  # fmt: skip
    for name in ("light-cpu", "light-p4", "heavy-l4"):
        await farm.node_live(name)
    heavy_ids = await submit(farm, *(encode(farm, f"heavy{i}", HEAVY) for i in range(3)))
    light_ids = await submit(farm, *(encode(farm, f"light{i}", hw="never") for i in range(3)))
    score_ids = await submit(farm, score(farm), score(farm))
    await all_ended(farm, heavy_ids + light_ids + score_ids)

    for job_id in heavy_ids:
        job = await farm.raw_job(job_id)
        assert job.status == 2, job.error  # COMPLETED
        assert [a.attribution.node_name for a in job.attempts] == ["heavy-l4"]
        where = job.attempts[0].attribution
        assert (where.gpu_model, where.gpu_uuid, where.encoder) == ("NVIDIA L4", L4_UUID, "libx264")
        assert where.fallback_to == "libx264"  # set only when the attempt fell back
        result = (await farm.client.get_job(job_id)).job.result
        assert result["fallback"]["from"] == "h264_nvenc"
        assert result["fallback"]["to"] == "libx264"
    for job_id in score_ids:
        job = await farm.raw_job(job_id)
        assert (job.status, job.attempts[0].attribution.node_name) == (2, "light-cpu")
        assert job.final_score > 0
        # The node shipped its full per-frame series: the controller serves them.
        body = await farm.client.job_frames(job_id)
        [scored] = body["inputs"]
        result = (await farm.client.get_job(job_id)).job.result
        assert len(scored["frame_nums"]) == result["results"][0]["frame_count"] > 0
        assert result["results"][0]["per_frame"]["stored"] is True
        header = frames.to_csv(body["inputs"], body["pooled"]).splitlines()[0]
        assert header.startswith("distorted,frame,vmaf_v0.6.1,")
    for job_id in light_ids:
        assert (await farm.raw_job(job_id)).status == 2
    # An encode scored after encoding charts and ships its output's series the same way.
    [after_id] = await submit(farm, encode(farm, "after", hw="never", score_after=True))
    await all_ended(farm, [after_id])
    after = (await farm.client.get_job(after_id)).job.result["score_after"]
    assert after["series"]["frame_nums"] and after["per_frame"]["stored"] is True, after
    [output] = (await farm.client.job_frames(after_id))["inputs"]
    assert len(output["series"]["vmaf_v0.6.1"]) == after["frame_count"]
    with urllib.request.urlopen(f"http://{farm.http_address(heavy)}/metrics", timeout=5) as page:
        metrics = page.read().decode()
    assert (
        'vmafx_node_encoder_fallbacks_total{from_encoder="h264_nvenc",to_encoder="libx264"} 3.0'
        in metrics
    )


async def test_a_job_no_node_can_run_waits_saying_why_then_runs_when_a_fit_node_joins(farm):
    farm.start_controller()
    farm.start_node("light", queues="encode", labels="tier=light")
    await farm.node_live("light")
    [job_id] = await submit(farm, encode(farm, "big", HEAVY))

    async def explained() -> bool:
        job = (await farm.client.get_job(job_id)).job
        return job.state is JobState.PENDING and "16000 MB" in (job.pending_reason or "")

    await farm.wait_for(explained, "a pending reason naming the GPU memory")
    await asyncio.sleep(1.5)  # several pulls by the light node later, it is still waiting
    [listed] = (await farm.client.list_jobs(JobFilter(job_ids=(job_id,)))).jobs
    assert listed.state is JobState.PENDING
    assert "needs label tier=heavy (node has tier=light)" in (listed.pending_reason or "")

    farm.start_node("heavy", queues="encode", labels="tier=heavy", gpus=[
        {**P4, "name": "NVIDIA L4", "uuid": L4_UUID, "memory_mb": 23034}])  # fmt: skip
    await all_ended(farm, [job_id])
    job = await farm.raw_job(job_id)
    assert job.status == 2, job.error
    assert [a.attribution.node_name for a in job.attempts] == ["heavy"]


async def test_a_node_killed_mid_job_loses_its_lease_and_another_node_finishes_the_job(farm):
    farm.start_controller()
    doomed = farm.start_node("doomed", queues="score")
    await farm.node_live("doomed")
    [job_id] = await submit(farm, score(farm, "long_ref.mp4", "long_dis.mp4", threads=1))
    await running_with_progress(farm, job_id)

    doomed.signal(signal.SIGKILL)  # the node and its ffmpeg, like a machine that died
    farm.start_node("rescuer", queues="score")
    await all_ended(farm, [job_id])

    job = await farm.raw_job(job_id)
    assert job.status == 2, job.error
    assert [(a.attempt, a.attribution.node_name, a.outcome) for a in job.attempts] == [
        (1, "doomed", "lease_lost"),
        (2, "rescuer", "completed"),
    ]
    result = (await farm.client.get_job(job_id)).job.result
    assert len(result["results"]) == 1
    assert not (farm.tmp / "results-doomed" / job_id / "frames-0.json.gz").exists()
    assert (farm.tmp / "results-rescuer" / job_id / "frames-0.json.gz").is_file()


@pytest.mark.parametrize(
    ("sig", "whole_group"),
    [
        pytest.param(signal.SIGTERM, False, id="SIGTERM to the node (Kubernetes, kill)"),
        pytest.param(signal.SIGINT, True, id="Ctrl-C (SIGINT to ffmpeg too)"),
    ],
)
async def test_a_stop_signal_drains_the_node_releasing_what_did_not_finish_and_it_exits_0(
    farm, sig, whole_group
):
    farm.start_controller()
    node = farm.start_node("drained", queues="score", extra=["--drain-timeout", "1"])
    await farm.node_live("drained")
    [job_id] = await submit(farm, score(farm, "long_ref.mp4", "long_dis.mp4", threads=1))
    await running_with_progress(farm, job_id)

    if whole_group:
        node.signal(sig)
    else:
        node.popen.send_signal(sig)
    code = await asyncio.wait_for(asyncio.to_thread(node.popen.wait), 20)
    assert code == 0, node.tail()

    job = await farm.raw_job(job_id)
    assert job.status == 0  # PENDING again
    [attempt] = job.attempts
    assert attempt.outcome == "released"
    assert "node shutting down" in attempt.error
    assert not any(view.session.name == "drained" for view in await farm.client.list_nodes())
