"""The input policy over gRPC: the same service refuses the same specs, each with the status
code from the one table and the reason in the details."""

from __future__ import annotations

import json
import os

import grpc
import pytest

from vmafx.api.pb import controller_pb2 as pb
from vmafx.api.pb import controller_pb2_grpc as pb_grpc
from vmafx.core.tokens import Role

pytestmark = pytest.mark.anyio


async def submit_error(controller, spec: dict[str, object]) -> grpc.aio.AioRpcError:
    async with controller.channel() as channel:
        stub = pb_grpc.VmafxControllerStub(channel)
        request = pb.SubmitJobRequest(kind="score", spec_json=json.dumps(spec))
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await stub.SubmitJob(request, metadata=controller.metadata(Role.WRITER))
    return failure.value


async def test_a_playlist_under_the_root_is_invalid_argument(controller):
    playlist = controller.media / "steal.m3u8"
    playlist.write_text("#EXTM3U\n#EXTINF:1,\n/etc/passwd\n")
    spec = {"reference": str(playlist), "distorted": [str(controller.media / "dis.y4m")]}
    error = await submit_error(controller, spec)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"{playlist} is an HLS playlist" in (error.details() or "")


async def test_a_fifo_under_the_root_is_invalid_argument(controller):
    os.mkfifo(controller.media / "live.y4m")
    spec = {"reference": str(controller.media / "live.y4m"), "distorted": ["/x"]}
    error = await submit_error(controller, spec)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "is a FIFO (named pipe), not a regular file" in (error.details() or "")


async def test_a_remote_input_without_storage_configured_is_invalid_argument(controller):
    spec = {"reference": "https://cdn.example/ref.mp4", "distorted": ["s3://b/dis.mp4"]}
    error = await submit_error(controller, spec)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "is a remote" in (error.details() or "")
