"""An open SSE stream over a real loopback server ends once its token is revoked: a final
`event: error` saying why, then nothing more, not even a job that changes afterwards."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from vmafx.controller import auth
from vmafx.controller.http import build_http_app
from vmafx.controller.httpserving import start_http_server
from vmafx.core.tokens import token_digest

from .conftest import LIMITS, WAIT_S, Api, parse_sse
from .test_real_server import port_of

pytestmark = pytest.mark.anyio


@pytest.fixture
async def served(
    mem: Api, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Api, httpx.AsyncClient]]:
    monkeypatch.setattr(auth, "TOKEN_CACHE_S", 0.0)  # revocation seen at the next check
    app = build_http_app(
        service=mem.service,
        auth=mem.auth,
        metrics=mem.app.state.vmafx.metrics,
        limits=dataclasses.replace(LIMITS, keepalive_s=30.0, stream_recheck_s=0.2),
    )
    server = await start_http_server(app, "127.0.0.1:0")
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_of(server)}", timeout=WAIT_S)
    try:
        yield mem, client
    finally:
        await client.aclose()
        await mem.service.close()
        await server.stop()


async def _revoke(api: Api, role: str) -> None:
    token = await api.store.find_token(token_digest(api.secrets[role]))
    assert token is not None
    await api.store.revoke_token(token.id, now=api.clock.now())


async def _next_message(lines: AsyncIterator[str]) -> str:
    block = ""
    async for line in lines:
        if not line and "data: " in block:
            return block
        block += line + "\n" if line else ""
    raise AssertionError("the stream ended")


async def _rest(lines: AsyncIterator[str]) -> str:
    return "\n".join([line async for line in lines])


@pytest.mark.parametrize("path", ["/v1/events", "/v1/jobs/{job_id}/events"])
async def test_an_open_stream_ends_with_an_error_once_its_token_is_revoked(served, path):
    api, client = served
    job_id = await api.submit()
    url = path.format(job_id=job_id)
    async with asyncio.timeout(WAIT_S):
        async with client.stream("GET", url, headers=api.headers("reader")) as response:
            lines = response.aiter_lines()
            assert job_id in await _next_message(lines)  # the stream is live
            await _revoke(api, "reader")
            rest = await _rest(lines)  # the stream ends by itself
        await client.post(f"/v1/jobs/{job_id}/cancel", headers=api.headers())
        later = await client.get(url, headers=api.headers("reader"))
    *_, last = parse_sse(rest)
    assert last.event == "error"
    assert last.data["error"]["type"] == "StreamAuthError"
    assert last.data["error"]["message"] == (
        "the stream was closed: the token is unknown, expired or revoked."
    )
    assert [event.event for event in parse_sse(rest)].count("error") == 1
    assert later.status_code == 401
    async with asyncio.timeout(WAIT_S):
        while api.service.bus.subscribers:  # the subscription is released
            await asyncio.sleep(0.01)


async def test_a_change_after_revocation_is_never_sent(served):
    api, client = served
    old_id = await api.submit()
    async with asyncio.timeout(WAIT_S):
        async with client.stream("GET", "/v1/events", headers=api.headers("reader")) as response:
            lines = response.aiter_lines()
            assert old_id in await _next_message(lines)
            await _revoke(api, "reader")
            new_id = await api.submit()  # published to the bus right after the revocation
            rest = await _rest(lines)
    assert [event.event for event in parse_sse(rest)] == ["error"]
    assert new_id not in rest
