"""VmafxJob ↔ controller job, against an in-memory controller (FakeControllerClient)."""

from __future__ import annotations

import pytest

from vmafx.core.attempts import Attribution
from vmafx.core.messages import NodeReport
from vmafx.core.nodes import GpuInfo, NodeCapabilities
from vmafx.errors import UsageError
from vmafx.operator import jobs
from vmafx.testing import FakeControllerClient

UID = "4f0c6a55-2e0b-4a43-9d57-2b0a7a1c9e01"
L4 = GpuInfo(vendor="nvidia", name="L4", uuid="GPU-1", index=0, memory_mb=23034)


def encode_spec(**extra: object) -> dict[str, object]:
    return {"kind": "encode", "queue": "encode", "priority": 5,
            "job": {"source": "/media/in.mov", "output": "/media/out.mp4", "codec": "h264"}, **extra}  # fmt: skip


SCORE = {"kind": "score", "job": {"reference": "/m/ref.mp4", "distorted": ["/m/dis.mp4"]}}


def test_the_request_carries_the_object_uid_as_idempotency_key_and_the_requirements() -> None:
    spec = encode_spec(requirements={"gpuVendor": "nvidia", "minGpuMemoryMb": 8000,
                                     "labels": {"tier": "heavy"}})  # fmt: skip
    request = jobs.request_of(spec, UID)
    assert request.idempotency_key == UID and request.kind.value == "encode"
    assert request.priority == 5 and request.queue == "encode"
    assert request.requirements.gpu_vendor == "nvidia"
    assert request.requirements.min_gpu_memory_mb == 8000
    assert dict(request.requirements.labels) == {"tier": "heavy"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, "spec.kind is missing"),
        ({"kind": "paint"}, "unknown job kind 'paint'"),
        ({"kind": "score", "job": ["a"]}, "spec.job must be an object"),
        ({"kind": "score", "priority": "high"}, "spec.priority must be an integer"),
        ({"kind": "score", "requirements": "gpu"}, "spec.requirements must be an object"),
    ],
)
def test_a_malformed_spec_is_refused_with_the_field_named(
    spec: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        jobs.request_of(spec, UID)


async def test_submitting_the_same_object_twice_gives_the_same_job() -> None:
    client = FakeControllerClient.in_memory(scoring_roots=["/m"])
    first = await jobs.submit(client, SCORE, UID)
    again = await jobs.submit(client, SCORE, UID)
    assert again["controllerJobId"] == first["controllerJobId"]
    assert first["message"] == again["message"] == "no live node is registered"  # why it waits
    assert (first["phase"], first["state"], first["attempt"]) == ("Pending", "pending", 0)
    assert first["submittedAt"].endswith("Z") and first["finishedAt"] is None


async def test_a_finished_job_mirrors_its_score_host_gpu_and_attempts() -> None:
    client = FakeControllerClient.in_memory(scoring_roots=["/m"])
    status = await jobs.submit(client, SCORE, UID)
    caps = NodeCapabilities(host="zampp2", gpu_vendor="nvidia", gpus=(L4,), backends=("cpu",))
    session = await client.register_node("zampp2-l4", caps)
    claim = await client.pull_work(session, queues=["score"])
    assert claim is not None
    result = {"results": [{"pooled": {"vmaf": {"mean": 93.5}}}]}
    report = NodeReport(job_id=claim.job.id, attempt=claim.job.attempt, result=result,
                        attribution=Attribution(gpu=L4))  # fmt: skip
    await client.report_result(session, report)
    mirrored = await jobs.refresh(client, status["controllerJobId"])
    assert (mirrored["phase"], mirrored["state"], mirrored["score"]) == (
        "Completed",
        "completed",
        93.5,
    )
    assert (mirrored["host"], mirrored["gpu"], mirrored["attempt"]) == ("zampp2", "L4", 1)
    assert mirrored["startedAt"] and mirrored["finishedAt"] and mirrored["message"] is None


async def test_a_job_the_controller_forgot_is_marked_unknown_not_an_error() -> None:
    client = FakeControllerClient.in_memory(scoring_roots=["/m"])
    status = await jobs.refresh(client, "no-such-job")
    assert (status["phase"], status["state"]) == ("Failed", "unknown")
    assert "no job no-such-job" in status["message"]


async def test_deleting_cancels_a_pending_job_and_leaves_a_finished_one_alone() -> None:
    client = FakeControllerClient.in_memory(scoring_roots=["/m"])
    status = await jobs.submit(client, SCORE, UID)
    said = await jobs.cancel(client, status, "clip-1")
    assert said is not None
    assert (await client.get_job(status["controllerJobId"])).job.state.value == "cancelled"
    assert await jobs.cancel(client, {**status, "phase": "Completed"}, "clip-1") is None
    assert await jobs.cancel(client, {}, "never-submitted") is None


async def test_cancelling_a_job_the_controller_forgot_releases_the_object() -> None:
    client = FakeControllerClient.in_memory(scoring_roots=["/m"])
    assert await jobs.cancel(client, {"controllerJobId": "gone", "phase": "Running"}, "x") is None


async def test_every_status_field_written_is_one_fields_py_names() -> None:
    from vmafx.operator.fields import JOB_STATUS

    client = FakeControllerClient.in_memory(scoring_roots=["/m"])
    status = await jobs.submit(client, SCORE, UID)
    assert set(status) | {"observedGeneration"} == set(JOB_STATUS)
