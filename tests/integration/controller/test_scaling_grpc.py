"""Over real gRPC: a registration refused for now carries its retry-after (RESOURCE_EXHAUSTED)
and a node's SessionKeeper gets in after it; heartbeat answers carry the interval."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from vmafx.api.pb import controller_pb2 as pb
from vmafx.api.status import RETRY_AFTER_METADATA
from vmafx.client.grpc_client import GrpcControllerClient
from vmafx.controller.admission import Admission
from vmafx.core.nodes import NodeCapabilities
from vmafx.core.tokens import Role
from vmafx.errors import OverloadedError
from vmafx.node.session import SessionKeeper

pytestmark = pytest.mark.anyio


async def test_a_registration_storm_is_refused_with_a_retry_after_the_node_honours(controller):
    now = [0.0]  # the bucket's clock moves only when the node sleeps
    admission = Admission(20, burst=1, monotonic=lambda: now[0])  # one now, then 20 a second
    controller.running.service.admission = admission
    client = GrpcControllerClient(controller.target, token=controller.tokens[Role.NODE])
    try:
        first = await client.register_node("node-a", NodeCapabilities(host="a"))
        with pytest.raises(OverloadedError) as refused:
            await client.register_node("node-b", NodeCapabilities(host="b"))
        assert 0 < refused.value.retry_after_s <= 0.1
        slept: list[float] = []

        async def sleep(seconds: float) -> None:
            slept.append(seconds)
            now[0] += seconds
            await asyncio.sleep(0)

        keeper = SessionKeeper(client, "node-c", NodeCapabilities(host="c"), sleep=sleep)
        session = await keeper.session()
        assert session.node_id not in (first.node_id, "")
        assert len(slept) == 1 and 0.1 <= slept[0] <= 0.125  # its slot (the second booked), +jitter
        answer = await client.heartbeat(session)
        assert answer.ok and answer.heartbeat_interval_s == 10
    finally:
        await client.close()


async def test_the_refusal_is_resource_exhausted_with_the_wait_in_its_trailer(controller):
    controller.running.service.admission = Admission(0.01, burst=1)
    async with controller.channel() as channel:
        register = channel.unary_unary(
            "/vmafx.controller.v1.VmafxController/RegisterNode",
            request_serializer=pb.RegisterNodeRequest.SerializeToString,
            response_deserializer=pb.RegisterNodeResponse.FromString,
        )
        request = pb.RegisterNodeRequest(name="n", capability=pb.NodeCapability(concurrency=1))
        await register(request, metadata=controller.metadata(Role.NODE))
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await register(request, metadata=controller.metadata(Role.NODE))
    assert failure.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    trailer = dict(failure.value.trailing_metadata() or ())
    assert int(trailer[RETRY_AFTER_METADATA]) == 100_000  # 1 / 0.01 s, in ms
