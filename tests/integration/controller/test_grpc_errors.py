"""Bad input over gRPC gets a precise status code and leaves the store consistent."""

from __future__ import annotations

import grpc
import pytest

from vmafx.api.pb import controller_pb2 as pb
from vmafx.api.pb import controller_pb2_grpc as pb_grpc
from vmafx.core.tokens import Role

pytestmark = pytest.mark.anyio


def _scoring(controller, reference=None):
    return pb.ScoringParams(
        reference=reference or str(controller.media / "ref.y4m"),
        distorted=str(controller.media / "dis.y4m"),
    )


async def _failure(call, *args, **kwargs) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call(*args, **kwargs)
    return failure.value


async def _node(stub, controller):
    return await stub.RegisterNode(
        pb.RegisterNodeRequest(name="n", capability=pb.NodeCapability(concurrency=4)),
        metadata=controller.metadata(Role.NODE),
    )


@pytest.mark.parametrize(
    ("metadata", "code"),
    [
        ((), grpc.StatusCode.UNAUTHENTICATED),
        ((("authorization", "Bearer vmafx_not-a-token"),), grpc.StatusCode.UNAUTHENTICATED),
        ((("authorization", "Basic dXNlcjpwdw=="),), grpc.StatusCode.UNAUTHENTICATED),
    ],
)
async def test_a_missing_or_wrong_token_is_refused(controller, metadata, code):
    async with controller.channel() as channel:
        stub = pb_grpc.VmafxControllerStub(channel)
        error = await _failure(stub.GetJob, pb.GetJobRequest(job_id="x"), metadata=metadata)
    assert error.code() == code


async def test_a_reader_may_not_submit(controller):
    async with controller.channel() as channel:
        stub = pb_grpc.VmafxControllerStub(channel)
        request = pb.SubmitJobRequest(scoring=_scoring(controller))
        error = await _failure(stub.SubmitJob, request, metadata=controller.metadata(Role.READER))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "write permission" in (error.details() or "")


async def test_a_fenced_report_is_refused_with_permission_denied(controller):
    async with controller.channel() as channel:
        stub = pb_grpc.VmafxControllerStub(channel)
        meta = controller.metadata(Role.NODE)
        node = await _node(stub, controller)
        submitted = await stub.SubmitJob(
            pb.SubmitJobRequest(scoring=_scoring(controller)),
            metadata=controller.metadata(Role.WRITER),
        )
        await stub.PullWork(
            pb.PullWorkRequest(node_id=node.node_id, session_token=node.session_token),
            metadata=meta,
        )
        stale = pb.ReportResultRequest(
            node_id=node.node_id,
            session_token=node.session_token,
            job_id=submitted.job_id,
            final=True,
            score=50.0,
            attempt=7,
        )
        error = await _failure(stub.ReportResult, stale, metadata=meta)
        job = await stub.GetJob(
            pb.GetJobRequest(job_id=submitted.job_id), metadata=controller.metadata(Role.READER)
        )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert ("vmafx-error", "StaleAttemptError") in tuple(error.trailing_metadata() or ())
    assert job.status == pb.RUNNING


async def test_a_heartbeat_for_an_unknown_session_says_session_unknown(controller):
    async with controller.channel() as channel:
        stub = pb_grpc.VmafxControllerStub(channel)
        answer = await stub.Heartbeat(
            pb.HeartbeatRequest(node_id="0" * 32, session_token="x"),
            metadata=controller.metadata(Role.NODE),
        )
    assert (answer.ok, answer.session_unknown) == (False, True)


async def test_a_wrong_session_token_is_refused(controller):
    async with controller.channel() as channel:
        stub = pb_grpc.VmafxControllerStub(channel)
        node = await _node(stub, controller)
        request = pb.PullWorkRequest(node_id=node.node_id, session_token="forged")
        error = await _failure(stub.PullWork, request, metadata=controller.metadata(Role.NODE))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_malformed_bytes_are_an_invalid_argument_naming_the_message(controller):
    async with controller.channel() as channel:
        call = channel.unary_unary(
            "/vmafx.controller.v1.VmafxController/SubmitJob",
            request_serializer=lambda raw: raw,
            response_deserializer=pb.SubmitJobResponse.FromString,
        )
        error = await _failure(call, b"\xff\xff\xff", metadata=controller.metadata(Role.WRITER))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid vmafx.controller.v1.SubmitJobRequest" in (error.details() or "")


async def test_an_oversized_request_is_refused_with_resource_exhausted(controller):
    async with controller.channel() as channel:
        stub = pb_grpc.VmafxControllerStub(channel)
        request = pb.SubmitJobRequest(kind="score", spec_json="x" * 100_000)
        error = await _failure(stub.SubmitJob, request, metadata=controller.metadata(Role.WRITER))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    page = await controller.running.store.list_jobs(_all())
    assert page.jobs == []


def _all():
    from vmafx.store import JobQuery

    return JobQuery()


@pytest.mark.parametrize(
    ("request_fields", "code", "words"),
    [
        ({"kind": "transcode", "spec_json": "{}"}, grpc.StatusCode.INVALID_ARGUMENT, "unknown job kind"),
        ({"kind": "encode", "spec_json": "{bad"}, grpc.StatusCode.INVALID_ARGUMENT, "not valid JSON"),
        ({"kind": "encode", "spec_json": '{"source": "/a"}'}, grpc.StatusCode.INVALID_ARGUMENT, "output"),
        ({"kind": "score", "spec_json": '{"reference": "/etc/passwd", "distorted": "/etc/passwd"}'}, grpc.StatusCode.PERMISSION_DENIED, "outside the scoring roots"),
        ({"kind": "score", "spec_json": '{"reference": "concat:/a|/b", "distorted": "/b"}'}, grpc.StatusCode.INVALID_ARGUMENT, "not allowed"),
    ],
)  # fmt: skip
async def test_bad_submissions_get_precise_errors(controller, request_fields, code, words):
    async with controller.channel() as channel:
        stub = pb_grpc.VmafxControllerStub(channel)
        request = pb.SubmitJobRequest(**request_fields)
        error = await _failure(stub.SubmitJob, request, metadata=controller.metadata(Role.WRITER))
    assert error.code() == code
    assert words in (error.details() or "")


async def test_a_job_of_another_tenant_is_not_found(controller):
    from vmafx.controller.auth import create_token

    running = controller.running
    _, other = await create_token(
        running.store, running.service.clock, role=Role.ADMIN, tenant="globex"
    )
    async with controller.channel() as channel:
        stub = pb_grpc.VmafxControllerStub(channel)
        submitted = await stub.SubmitJob(
            pb.SubmitJobRequest(scoring=_scoring(controller)),
            metadata=controller.metadata(Role.WRITER),
        )
        error = await _failure(
            stub.GetJob,
            pb.GetJobRequest(job_id=submitted.job_id),
            metadata=(("authorization", f"Bearer {other}"),),
        )
    assert error.code() == grpc.StatusCode.NOT_FOUND
