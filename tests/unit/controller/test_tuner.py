"""The controller's tuner on the in-memory store: it takes tune jobs (nodes never do), submits
their probes as child encode jobs, ends them with the search's result, survives a node lost
mid-probe, cancels probes with their tune job, and refuses an encoder no live node has."""

from __future__ import annotations

from typing import Any

import pytest

from vmafx.controller.tuning import TUNER_NAME, Tuner
from vmafx.core.jobs import JobKind, JobState
from vmafx.core.messages import JobFilter, JobRequest, NodeRegistration, NodeReport
from vmafx.tune.history import History

pytestmark = pytest.mark.anyio


def vmaf_at(crf: float) -> float:
    return 99.0 - 0.02 * (crf - 10) ** 2 - 0.5 * (crf - 10)


def tune_request(farm: Any, **fields: Any) -> JobRequest:
    spec = {"source": str(farm.root / "ref.mp4"), "codec": "h264", "target_vmaf": 90,
            "output": str(farm.root / "out" / "best.mkv"), **fields}  # fmt: skip
    return JobRequest.parse(kind=JobKind.TUNE, spec=spec)


async def work_once(farm: Any, node: NodeRegistration, *, report: bool = True) -> str | None:
    """The node takes one job and (unless told not to) reports a table-made encode result."""
    claim = await farm.service.pull_work(farm.node, node.node_id, node.session_token)
    if claim is None:
        return None
    job = claim.job
    assert job.kind is JobKind.ENCODE, "a node must never be handed a tune job"
    if report:
        crf = job.spec["rate_control"]["value"]
        result = {"output": job.spec["output"], "bytes": 1000, "bitrate_kbps": 8000 / crf,
                  "frames": 24, "encoder": "libx264", "elapsed_s": 0.5,
                  "score_after": {"vmaf": vmaf_at(crf), "frame_count": 24}}  # fmt: skip
        await farm.service.report_result(
            farm.node, node.node_id, node.session_token,
            NodeReport(job_id=job.id, attempt=job.attempt, result=result),
        )  # fmt: skip
    return job.id


async def run_until_ended(farm: Any, tuner: Tuner, tune_id: str, nodes: list[NodeRegistration]):
    for _ in range(60):
        await tuner.run_once()
        job = (await farm.service.get_job(farm.reader, tune_id)).job
        if job.is_terminal:
            return job
        for node in nodes:
            await work_once(farm, node)
        farm.clock.advance(0.01)
    raise AssertionError("the tune job never ended")


async def test_a_tune_job_is_searched_through_child_encode_jobs_on_the_nodes(farm, tmp_path):
    a = await farm.register("a", encoders=("libx264",))
    b = await farm.register("b", encoders=("libx264",))
    tuner = Tuner(farm.service, history=History(tmp_path / "h.json"))
    tune = (await farm.service.submit_job(farm.writer, tune_request(farm))).job
    assert await work_once(farm, a) is None  # a node subscribed to every queue: not for it
    job = await run_until_ended(farm, tuner, tune.id, [a, b])

    assert job.state is JobState.COMPLETED, job.error
    result = job.result
    assert result["vmaf"] >= 90 and vmaf_at(result["crf"] + 1) < 90
    children = (await farm.service.list_jobs(farm.reader, JobFilter(parent_id=tune.id))).jobs
    assert len(children) == len(result["probes"]) >= 2
    assert {c.kind for c in children} == {JobKind.ENCODE}
    assert all(c.requirements.encoder == "libx264" for c in children)
    assert {n for p in result["probes"] for n in p["nodes"]} == {"a", "b"}
    assert result["output"] == str(farm.root / "out" / f".best.tune/full_crf{result['crf']:g}.mkv")
    details = await farm.service.get_job(farm.reader, tune.id)
    assert details.attempts[-1].node_name == TUNER_NAME
    [record] = History(tmp_path / "h.json").records()
    assert (record.crf, record.encoder) == (result["crf"], "libx264")


async def test_a_node_lost_mid_probe_costs_that_probe_only(farm):
    doomed = await farm.register("doomed", encoders=("libx264",))
    tuner = Tuner(farm.service)
    tune = (await farm.service.submit_job(farm.writer, tune_request(farm, parallel=1))).job
    await tuner.run_once()
    lost = await work_once(farm, doomed, report=False)  # claims a probe, then dies
    assert lost is not None
    for _ in range(2):  # the tuner's heartbeats renew the tune job's lease, not the probe's
        farm.clock.advance(farm.service.lease_ttl_s * 0.6)
        await tuner.run_once()
    await farm.service.expire_once()
    await tuner.run_once()
    assert (await farm.service.get_job(farm.reader, tune.id)).job.state is JobState.RUNNING

    rescuer = await farm.register("rescuer", encoders=("libx264",))
    farm.clock.advance(6)  # the lost probe's backoff before it is offered again
    job = await run_until_ended(farm, tuner, tune.id, [rescuer])
    assert job.state is JobState.COMPLETED, job.error
    [redone] = [p for p in job.result["probes"] if lost in p["jobs"]]
    assert (redone["attempts"], redone["nodes"]) == (2, ["rescuer"])


async def test_cancelling_a_tune_job_cancels_its_waiting_and_running_probes(farm):
    node = await farm.register("a", encoders=("libx264",))
    tuner = Tuner(farm.service)
    tune = (await farm.service.submit_job(farm.writer, tune_request(farm))).job
    await tuner.run_once()
    running = await work_once(farm, node, report=False)
    await farm.service.cancel_job(farm.writer, tune.id)
    children = (await farm.service.list_jobs(farm.reader, JobFilter(parent_id=tune.id))).jobs
    assert len(children) == 2 and running in {c.id for c in children}
    assert {c.state for c in children} == {JobState.CANCELLED}
    await tuner.run_once()  # lets go of it, submits nothing more
    after = (await farm.service.list_jobs(farm.reader, JobFilter(parent_id=tune.id))).jobs
    assert len(after) == 2


async def test_an_encoder_no_live_node_has_fails_the_tune_job_naming_the_nodes(farm):
    await farm.register("x264-only", encoders=("libx264",))
    tuner = Tuner(farm.service)
    request = tune_request(farm, codec="hevc", encoder="libx265")
    tune = (await farm.service.submit_job(farm.writer, request)).job
    await tuner.run_once()
    job = (await farm.service.get_job(farm.reader, tune.id)).job
    assert job.state is JobState.FAILED
    assert "no live node has verified libx265" in job.error
    assert "x264-only: libx264" in job.error


async def test_a_tune_job_cannot_be_put_in_another_queue(farm):
    from vmafx.errors import UsageError

    with pytest.raises(UsageError, match="tuner runs tune jobs from queue 'tune' only"):
        await farm.service.submit_job(farm.writer, tune_request(farm).__class__(
            spec=tune_request(farm).spec, queue="fast"))  # fmt: skip


async def test_a_tune_job_submitted_before_any_node_waits_for_one(farm):
    tuner = Tuner(farm.service)
    tune = (await farm.service.submit_job(farm.writer, tune_request(farm))).job
    await tuner.run_once()
    await tuner.run_once()
    waiting = (await farm.service.get_job(farm.reader, tune.id)).job
    assert waiting.state is JobState.RUNNING
    node = await farm.register("late", encoders=("libx264",))
    job = await run_until_ended(farm, tuner, tune.id, [node])
    assert job.state is JobState.COMPLETED, job.error


async def test_a_probe_the_input_policy_refuses_fails_the_tune_job_saying_why(farm):
    await farm.register("a", encoders=("libx264",))
    tuner = Tuner(farm.service)
    tune = (await farm.service.submit_job(farm.writer, tune_request(farm))).job
    farm.service.inputs = type(farm.service.inputs)([])  # the roots withdrawn after submission
    await tuner.run_once()
    job = (await farm.service.get_job(farm.reader, tune.id)).job
    assert job.state is JobState.FAILED
    assert job.error.startswith("a probe job was refused:")


async def test_a_tuner_that_dies_mid_search_is_replaced_and_the_search_goes_on_from_its_probes(
    farm,
):
    node = await farm.register("a", encoders=("libx264",))
    first = Tuner(farm.service)
    tune = (await farm.service.submit_job(farm.writer, tune_request(farm))).job
    await first.run_once()
    await work_once(farm, node)
    await work_once(farm, node)
    await first.run_once()  # submits the next probes, then "dies": no more rounds
    before = (await farm.service.list_jobs(farm.reader, JobFilter(parent_id=tune.id))).jobs
    farm.clock.advance(farm.service.lease_ttl_s + 1)
    await farm.service.expire_once()  # the tune job's lease runs out: pending again
    node = await farm.register("b", encoders=("libx264",))
    farm.clock.advance(6)  # its backoff
    job = await run_until_ended(farm, Tuner(farm.service), tune.id, [node])

    assert job.state is JobState.COMPLETED, job.error
    after = (await farm.service.list_jobs(farm.reader, JobFilter(parent_id=tune.id))).jobs
    keys = [c.idempotency_key for c in after]
    assert len(keys) == len(set(keys)) == len(job.result["probes"])  # nothing probed twice
    assert {c.id for c in before} <= {c.id for c in after}
    assert job.attempt == 2
