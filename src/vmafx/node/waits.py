"""Waiting that a stop request cuts short."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def pause(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep `seconds` or until `stop` is set; True when it was set."""
    if stop.is_set():
        return True
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), max(0.0, seconds))
    return stop.is_set()


class StopRequestedError(Exception):
    """The wait ended because a stop was requested."""


async def unless_stopped(call: Coroutine[Any, Any, T], stop: asyncio.Event) -> T:
    """The result of `call`, or StopRequestedError (`call` cancelled) when `stop` is set first.

    When both happen together the result wins, so an answer that arrived is never lost.
    """
    work = asyncio.ensure_future(call)
    if stop.is_set():
        work.cancel()
    waiter = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({work, waiter}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        work.cancel()
        raise
    finally:
        waiter.cancel()
    if work.done() and not work.cancelled():
        return work.result()
    work.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await work
    raise StopRequestedError
