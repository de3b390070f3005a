"""The HTTP API served by uvicorn on an ephemeral loopback port, as the controller serves it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from vmafx.controller import main
from vmafx.controller.httpserving import HttpServer, start_http_server
from vmafx.controller.settings import ControllerSettings

from .conftest import WAIT_S, Api

pytestmark = pytest.mark.anyio


def port_of(server: HttpServer) -> int:
    return int(server.server.servers[0].sockets[0].getsockname()[1])


@pytest.fixture
async def served(mem: Api) -> AsyncIterator[tuple[Api, httpx.AsyncClient]]:
    server = await start_http_server(mem.app, "127.0.0.1:0")
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_of(server)}", timeout=WAIT_S)
    try:
        yield mem, client
    finally:
        await client.aclose()
        await mem.service.close()
        await server.stop()


async def test_uvicorn_on_a_loopback_port_answers_healthz(served):
    _, client = served
    response = await client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def _next_job(lines: AsyncIterator[str]) -> str:
    async for line in lines:
        if line.startswith("data: "):
            return line
    raise AssertionError("the stream ended")


async def test_a_live_stream_delivers_changes_as_they_happen_and_ends_when_the_client_leaves(
    served,
):
    api, client = served
    old_id = await api.submit()
    async with asyncio.timeout(WAIT_S):
        async with client.stream("GET", "/v1/events", headers=api.headers("reader")) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.aiter_lines()
            assert old_id in await _next_job(lines)
            created = await client.post("/v1/jobs", json=api.score_body(), headers=api.headers())
            assert created.json()["id"] in await _next_job(lines)
            assert api.service.bus.subscribers == 1
        while api.service.bus.subscribers:  # the client left: its subscription is released
            await asyncio.sleep(0.01)


async def test_the_controller_serves_http_next_to_grpc_from_its_composition_root(tmp_path: Path):
    settings = ControllerSettings(
        grpc_listen="127.0.0.1:0",
        http_listen="127.0.0.1:0",
        store_url=f"sqlite:///{tmp_path / 'controller.db'}",
        auth_disabled=True,
    )
    controller = await main.start(settings)
    stopped = False
    try:
        assert controller.http is not None
        base_url = f"http://127.0.0.1:{port_of(controller.http)}"
        async with httpx.AsyncClient(base_url=base_url, timeout=WAIT_S) as client:
            assert (await client.get("/readyz")).json() == {"status": "ready"}
            listed = await client.get("/v1/jobs")
            assert (listed.status_code, listed.json()) == (200, {"jobs": [], "next_cursor": None})
            async with asyncio.timeout(WAIT_S), client.stream("GET", "/v1/events") as stream:
                lines = stream.aiter_lines()
                assert (await anext(lines)).startswith("retry:")
                await controller.stop(1.0)  # an open stream does not hold the shutdown up
                stopped = True
                assert [line async for line in lines] == [""]
    finally:
        if not stopped:
            await controller.stop(1.0)
