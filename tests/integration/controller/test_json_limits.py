"""A spec_json nested far too deep is an INVALID_ARGUMENT naming the limit, never INTERNAL."""

from __future__ import annotations

import grpc
import pytest

from vmafx.api.pb import controller_pb2 as pb
from vmafx.api.pb import controller_pb2_grpc as pb_grpc
from vmafx.core.tokens import Role

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("depth", [40, 20_000])  # past the limit; past Python's JSON parser
async def test_a_spec_json_nested_too_deep_is_an_invalid_argument(controller, depth):
    spec_json = '{"source": ' + "[" * depth + "]" * depth + "}"
    async with controller.channel() as channel:
        stub = pb_grpc.VmafxControllerStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await stub.SubmitJob(
                pb.SubmitJobRequest(kind="encode", spec_json=spec_json),
                metadata=controller.metadata(Role.WRITER),
            )
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "spec_json nests JSON more than 32 levels deep" in (failure.value.details() or "")
