"""Streams re-check their token: before each item, and on an idle tick."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from vmafx.controller.streamauth import StreamAuthError, while_authorized
from vmafx.errors import AuthError, UnavailableError

pytestmark = pytest.mark.anyio


class Token:
    """A verify callable whose token is revoked by `revoke()`; counts its calls."""

    def __init__(self) -> None:
        self.revoked = False
        self.checks = 0

    async def __call__(self) -> None:
        self.checks += 1
        if self.revoked:
            raise AuthError("the token is unknown, expired or revoked.", hint="Make a new one.")


class Feed:
    """An endless stream fed by `put`, which records whether it was closed."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.closed = False

    async def items(self) -> AsyncGenerator[str]:
        try:
            while True:
                yield await self.queue.get()
        finally:
            self.closed = True


async def test_items_flow_while_the_token_holds_and_each_is_checked_before_it_goes_out():
    token, feed = Token(), Feed()
    stream = while_authorized(feed.items(), token, recheck_s=60)
    for item in ("a", "b"):
        feed.queue.put_nowait(item)
    assert [await anext(stream), await anext(stream)] == ["a", "b"]
    assert token.checks == 2
    await stream.aclose()
    assert feed.closed


async def test_an_item_that_arrives_after_revocation_is_not_sent_and_the_stream_ends():
    token, feed = Token(), Feed()
    stream = while_authorized(feed.items(), token, recheck_s=60)
    feed.queue.put_nowait("before")
    assert await anext(stream) == "before"
    token.revoked = True
    feed.queue.put_nowait("after")
    with pytest.raises(StreamAuthError, match="the stream was closed: the token is unknown"):
        await anext(stream)
    assert feed.closed
    with pytest.raises(StopAsyncIteration):
        await anext(stream)


async def test_an_idle_stream_ends_on_its_next_recheck_after_revocation():
    token, feed = Token(), Feed()
    stream = while_authorized(feed.items(), token, recheck_s=0.01)
    token.revoked = True  # nothing is ever put: only the idle tick can notice
    with pytest.raises(StreamAuthError) as raised:
        await asyncio.wait_for(anext(stream), 10)
    assert raised.value.hint == "Make a new one."
    assert feed.closed


async def test_a_stream_that_ends_by_itself_ends_the_wrapper():
    async def two() -> AsyncGenerator[int]:
        yield 1
        yield 2

    assert [item async for item in while_authorized(two(), Token(), recheck_s=60)] == [1, 2]


async def test_an_error_of_the_stream_itself_passes_through():
    async def broken() -> AsyncGenerator[int]:
        yield 1
        raise UnavailableError("the store went away.")

    stream = while_authorized(broken(), Token(), recheck_s=60)
    assert await anext(stream) == 1
    with pytest.raises(UnavailableError, match="store went away"):
        await anext(stream)
