"""Server-sent events: framing, keep-alives, and a stream that cleans up when the client leaves.

`event_stream(messages)` turns an async generator of framed messages into the body of a
`text/event-stream` response. A pump task reads the generator into a one-slot queue, so a slow
client holds the service's subscription back (which keeps only the newest state of each job)
instead of piling messages up here. While nothing arrives, a comment line goes out every
`keepalive_s` so proxies keep the connection open and a departed client is noticed. An error
inside the stream (the store went away, the subscription lagged) is sent as an `error` event
with the API's error body, and the stream ends; the client reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

from vmafx.controller.http.errors import error_response

MEDIA_TYPE = "text/event-stream"
KEEPALIVE = b": keepalive\n\n"
#: Sent first: how long a client waits before reconnecting, in milliseconds.
RETRY = b"retry: 3000\n\n"
_END = b""


def frame(event: str, data: str, *, event_id: str | None = None) -> bytes:
    """One SSE message; `data` is one line of JSON (no newlines)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {data}\n\n".encode()


def error_frame(error: BaseException) -> bytes:
    response = error_response(error)
    return frame("error", bytes(response.body).decode())


def json_frame(event: str, data: dict[str, Any]) -> bytes:
    return frame(event, json.dumps(data, separators=(",", ":")))


async def _pump(messages: AsyncGenerator[bytes], queue: asyncio.Queue[bytes]) -> None:
    try:
        async for message in messages:
            await queue.put(message)
    except Exception as error:  # sent to the client as an `error` event; it reconnects
        await queue.put(error_frame(error))
    finally:
        await messages.aclose()
    await queue.put(_END)


async def event_stream(
    messages: AsyncGenerator[bytes], *, keepalive_s: float
) -> AsyncIterator[bytes]:
    queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1)
    pump = asyncio.create_task(_pump(messages, queue), name="vmafx-sse")
    try:
        yield RETRY
        while True:
            try:
                message = await asyncio.wait_for(queue.get(), keepalive_s)
            except TimeoutError:
                yield KEEPALIVE
                continue
            if message == _END:
                return
            yield message
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump


def sse_response(messages: AsyncGenerator[bytes], *, keepalive_s: float) -> StreamingResponse:
    return StreamingResponse(
        event_stream(messages, keepalive_s=keepalive_s),
        media_type=MEDIA_TYPE,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
