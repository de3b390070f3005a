"""A StreamJobs call over gRPC on loopback ends UNAUTHENTICATED once its token is revoked."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from vmafx.api.pb import controller_pb2 as pb
from vmafx.api.pb import controller_pb2_grpc as pb_grpc
from vmafx.controller import auth
from vmafx.core.tokens import Role, token_digest

pytestmark = pytest.mark.anyio
WAIT_S = 20.0


@pytest.fixture(autouse=True)
def _no_token_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Revocation is seen at the next check, not up to TOKEN_CACHE_S later."""
    monkeypatch.setattr(auth, "TOKEN_CACHE_S", 0.0)


async def _submit(stub, controller) -> str:
    scoring = pb.ScoringParams(
        reference=str(controller.media / "ref.y4m"), distorted=str(controller.media / "dis.y4m")
    )
    done = await stub.SubmitJob(
        pb.SubmitJobRequest(scoring=scoring), metadata=controller.metadata(Role.WRITER)
    )
    return str(done.job_id)


async def _revoke(controller, role: Role) -> None:
    store = controller.running.store
    token = await store.find_token(token_digest(controller.tokens[role]))
    assert token is not None
    await store.revoke_token(token.id, now=controller.running.service.clock.now())


async def _read_after_revocation(stream) -> None:
    job = await asyncio.wait_for(stream.read(), WAIT_S)
    assert job is not grpc.aio.EOF, "the stream ended without an error"
    raise AssertionError(f"job {job.id} was sent after the token was revoked")


async def _refusal(stream) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await _read_after_revocation(stream)
    return failure.value


async def test_a_job_stream_sends_nothing_more_once_its_token_is_revoked(controller):
    async with controller.channel() as channel:
        stub = pb_grpc.VmafxControllerStub(channel)
        before = await _submit(stub, controller)
        stream = stub.StreamJobs(pb.StreamJobsRequest(), metadata=controller.metadata(Role.READER))
        assert (await asyncio.wait_for(stream.read(), WAIT_S)).id == before
        await _revoke(controller, Role.READER)
        await _submit(stub, controller)  # a change the revoked stream must not see
        error = await _refusal(stream)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "the stream was closed: the token is unknown, expired or revoked" in (
        error.details() or ""
    )


async def test_an_idle_job_stream_ends_once_its_token_is_revoked(controller):
    async with controller.channel() as channel:
        stub = pb_grpc.VmafxControllerStub(channel)
        before = await _submit(stub, controller)
        stream = stub.StreamJobs(pb.StreamJobsRequest(), metadata=controller.metadata(Role.READER))
        assert (await asyncio.wait_for(stream.read(), WAIT_S)).id == before
        await _revoke(controller, Role.READER)  # nothing changes after: the idle re-check ends it
        error = await _refusal(stream)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    async with asyncio.timeout(WAIT_S):
        while controller.running.service.bus.subscribers:  # its subscription is released
            await asyncio.sleep(0.01)
