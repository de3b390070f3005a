"""A client built from the ORIGINAL .proto drives vmafx over gRPC: register, submit a scoring
job, pull it, report a final score, read it back COMPLETED, cancel, and stream live."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from vmafx.core.tokens import Role

pytestmark = pytest.mark.anyio


async def _register(api, stub, controller):
    capability = api.NodeCapability(gpu_vendor="nvidia", backends=["cuda", "cpu"], concurrency=2)
    return await stub.RegisterNode(
        api.RegisterNodeRequest(name="go-node", capability=capability),
        metadata=controller.metadata(Role.NODE),
    )


async def _submit(api, stub, controller, backend=""):
    scoring = api.ScoringParams(
        reference=str(controller.media / "ref.y4m"),
        distorted=str(controller.media / "dis.y4m"),
        model="vmaf_v0.6.1",
        backend=backend,
    )
    answer = await stub.SubmitJob(
        api.SubmitJobRequest(scoring=scoring), metadata=controller.metadata(Role.WRITER)
    )
    return answer.job_id


async def test_an_original_client_runs_a_scoring_job_end_to_end(original, controller):
    api = original
    async with controller.channel() as channel:
        stub = api.stub(channel)
        node = await _register(api, stub, controller)
        job_id = await _submit(api, stub, controller, backend="cuda")
        pulled = await stub.PullWork(
            api.PullWorkRequest(node_id=node.node_id, session_token=node.session_token),
            metadata=controller.metadata(Role.NODE),
        )
        assert pulled.job.id == job_id
        assert pulled.job.status == api.enum("RUNNING")
        assert pulled.job.scoring.backend == "cuda"
        heartbeat = await stub.Heartbeat(
            api.HeartbeatRequest(
                node_id=node.node_id, session_token=node.session_token, jobs_running=1
            ),
            metadata=controller.metadata(Role.NODE),
        )
        assert heartbeat.ok
        report = api.ReportResultRequest(
            node_id=node.node_id,
            session_token=node.session_token,
            job_id=job_id,
            final=True,
            score=94.125,
            features={"adm2": 0.97, "vif_scale0": 0.61},
        )
        reported = await stub.ReportResult(report, metadata=controller.metadata(Role.NODE))
        assert reported.ok
        job = await stub.GetJob(
            api.GetJobRequest(job_id=job_id), metadata=controller.metadata(Role.READER)
        )
    assert job.status == api.enum("COMPLETED")
    assert job.final_score == 94.125
    assert job.assigned_node == node.node_id
    assert job.scoring.reference == str(controller.media / "ref.y4m")
    assert job.scoring.model == "vmaf_v0.6.1"
    assert job.created_at > 1_600_000_000
    assert job.updated_at >= job.created_at


async def test_an_original_client_reports_an_error_and_the_job_fails(original, controller):
    api = original
    async with controller.channel() as channel:
        stub = api.stub(channel)
        node = await _register(api, stub, controller)
        job_id = await _submit(api, stub, controller)
        meta = controller.metadata(Role.NODE)
        await stub.PullWork(
            api.PullWorkRequest(node_id=node.node_id, session_token=node.session_token),
            metadata=meta,
        )
        await stub.ReportResult(
            api.ReportResultRequest(
                node_id=node.node_id,
                session_token=node.session_token,
                job_id=job_id,
                final=True,
                error="vmaf exited 1",
            ),
            metadata=meta,
        )
        job = await stub.GetJob(
            api.GetJobRequest(job_id=job_id), metadata=controller.metadata(Role.READER)
        )
    assert (job.status, job.error) == (api.enum("FAILED"), "vmaf exited 1")


async def test_an_original_client_cancels_a_job_idempotently(original, controller):
    api = original
    writer = controller.metadata(Role.WRITER)
    async with controller.channel() as channel:
        stub = api.stub(channel)
        job_id = await _submit(api, stub, controller)
        first = await stub.CancelJob(api.CancelJobRequest(job_id=job_id), metadata=writer)
        second = await stub.CancelJob(api.CancelJobRequest(job_id=job_id), metadata=writer)
        job = await stub.GetJob(api.GetJobRequest(job_id=job_id), metadata=writer)
    assert (first.ok, first.message) == (True, "cancellation requested")
    assert second.ok
    assert job.status == api.enum("CANCELLED")


async def test_stream_jobs_sends_a_snapshot_then_live_updates(original, controller):
    api = original
    async with controller.channel() as channel:
        stub = api.stub(channel)
        before = await _submit(api, stub, controller)
        stream = stub.StreamJobs(api.StreamJobsRequest(), metadata=controller.metadata(Role.READER))
        first = await asyncio.wait_for(stream.read(), 5)
        assert (first.id, first.status) == (before, api.enum("PENDING"))
        live = await _submit(api, stub, controller)
        update = await asyncio.wait_for(stream.read(), 5)
        assert (update.id, update.status) == (live, api.enum("PENDING"))
        await stub.CancelJob(
            api.CancelJobRequest(job_id=live), metadata=controller.metadata(Role.WRITER)
        )
        cancelled = await asyncio.wait_for(stream.read(), 5)
        assert (cancelled.id, cancelled.status) == (live, api.enum("CANCELLED"))
        stream.cancel()
    # The server hears the cancel and drops the subscription soon, not at once (a loaded
    # machine took longer than 50 ms): wait for it, up to 5 s.
    for _ in range(100):
        if controller.running.service.bus.subscribers == 0:
            break
        await asyncio.sleep(0.05)
    assert controller.running.service.bus.subscribers == 0


async def test_stream_jobs_with_a_status_filter_sends_only_those(original, controller):
    api = original
    async with controller.channel() as channel:
        stub = api.stub(channel)
        await _submit(api, stub, controller)
        stream = stub.StreamJobs(
            api.StreamJobsRequest(status_filter=[api.enum("CANCELLED")]),
            metadata=controller.metadata(Role.READER),
        )
        job_id = await _submit(api, stub, controller)
        await stub.CancelJob(
            api.CancelJobRequest(job_id=job_id), metadata=controller.metadata(Role.WRITER)
        )
        job = await asyncio.wait_for(stream.read(), 5)
        stream.cancel()
    assert (job.id, job.status) == (job_id, api.enum("CANCELLED"))


async def test_pull_work_answers_an_empty_response_when_nothing_fits(original, controller):
    api = original
    async with controller.channel() as channel:
        stub = api.stub(channel)
        node = await _register(api, stub, controller)
        answer = await stub.PullWork(
            api.PullWorkRequest(node_id=node.node_id, session_token=node.session_token),
            metadata=controller.metadata(Role.NODE),
        )
    assert not answer.HasField("job")


async def test_a_node_token_may_not_submit(original, controller):
    api = original
    async with controller.channel() as channel:
        stub = api.stub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await stub.SubmitJob(
                api.SubmitJobRequest(scoring=api.ScoringParams(reference="/a", distorted="/b")),
                metadata=controller.metadata(Role.NODE),
            )
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED
