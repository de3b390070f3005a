"""Server-sent events in process: a snapshot first, then live changes, with bounded waits.

httpx's ASGITransport hands a response over only once the app has finished it, so each test
makes the stream end (the job finishes, or the service closes) before reading it.
"""

from __future__ import annotations

import asyncio

import pytest

from vmafx.controller.http.sse import KEEPALIVE

from .conftest import WAIT_S, Api, parse_sse

pytestmark = pytest.mark.anyio


async def test_job_events_send_a_snapshot_then_live_events_until_the_job_ends(api: Api):
    job_id = await api.submit()
    stream = asyncio.create_task(
        api.client.get(f"/v1/jobs/{job_id}/events", headers=api.headers("reader"))
    )
    async with asyncio.timeout(WAIT_S):
        await api.wait_for_subscribers(1)
        await api.claim(await api.register())  # live: happens while the stream is open
        await api.client.post(f"/v1/jobs/{job_id}/cancel", headers=api.headers())
        response = await stream
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    assert [event.event for event in events] == [
        "snapshot",
        "job_event",
        "job_event",
        "job_event",
        "end",
    ]
    snapshot, *logged, end = events
    assert (snapshot.data["id"], snapshot.data["state"], snapshot.data["attempts"]) == (
        job_id,
        "pending",
        [],
    )
    assert [event.data["type"] for event in logged] == ["submitted", "claimed", "cancelled"]
    assert [int(event.id or 0) for event in logged] == [event.data["seq"] for event in logged]
    assert end.data == {"job_id": job_id, "state": "cancelled"}


async def test_job_events_resume_after_the_last_event_id(api: Api):
    job_id = await api.submit()
    await api.client.post(f"/v1/jobs/{job_id}/cancel", headers=api.headers())
    async with asyncio.timeout(WAIT_S):
        whole = parse_sse(
            (await api.client.get(f"/v1/jobs/{job_id}/events", headers=api.headers("reader"))).text
        )
        first_seq = whole[1].id
        headers = {**api.headers("reader"), "Last-Event-ID": str(first_seq)}
        resumed = parse_sse(
            (await api.client.get(f"/v1/jobs/{job_id}/events", headers=headers)).text
        )
    assert [event.data.get("type") for event in whole[1:-1]] == ["submitted", "cancelled"]
    assert [event.event for event in resumed] == ["snapshot", "job_event", "end"]
    assert resumed[1].data["type"] == "cancelled"


async def test_tenant_events_send_every_job_then_each_change_of_the_tenant_only(api: Api):
    old_id = await api.submit()
    stream = asyncio.create_task(api.client.get("/v1/events", headers=api.headers("reader")))
    async with asyncio.timeout(WAIT_S):
        await api.wait_for_subscribers(1)
        new_id = await api.submit()
        body = api.score_body()
        await api.client.post(
            "/v1/jobs", json=body, headers=api.headers("globex")
        )  # another tenant: not in this stream
        await api.client.post(f"/v1/jobs/{old_id}/cancel", headers=api.headers())
        await api.service.close()  # ends every live stream
        response = await stream
    seen = [
        (event.event, event.data["id"], event.data["state"]) for event in parse_sse(response.text)
    ]
    assert seen == [
        ("job", old_id, "pending"),
        ("job", new_id, "pending"),
        ("job", old_id, "cancelled"),
    ]


async def test_tenant_events_take_the_list_filters(mem: Api):
    await mem.submit()
    stream = asyncio.create_task(
        mem.client.get("/v1/events", params={"queue": "gold"}, headers=mem.headers("reader"))
    )
    async with asyncio.timeout(WAIT_S):
        await mem.wait_for_subscribers(1)
        gold_id = await mem.submit(queue="gold")
        await mem.service.close()
        response = await stream
    assert [event.data["id"] for event in parse_sse(response.text)] == [gold_id]


async def test_an_idle_stream_sends_keepalive_comments(mem: Api):
    job_id = await mem.submit()
    stream = asyncio.create_task(
        mem.client.get(f"/v1/jobs/{job_id}/events", headers=mem.headers("reader"))
    )
    async with asyncio.timeout(WAIT_S):
        await mem.wait_for_subscribers(1)
        await asyncio.sleep(0.5)  # > keepalive_s in LIMITS
        await mem.client.post(f"/v1/jobs/{job_id}/cancel", headers=mem.headers())
        response = await stream
    assert KEEPALIVE.decode() in response.text
    assert parse_sse(response.text)[-1].event == "end"
