"""Long-lived streams keep asking whether their caller's token still holds.

A request's token is checked once, when the request arrives; a stream (SSE `/v1/events`,
`/v1/jobs/{id}/events`, gRPC StreamJobs) may stay open for days. `while_authorized` wraps a
stream's items and calls `verify` (the very check the request passed: the authenticator with
the request's own `authorization` value) before each item goes out and, while the stream is
idle, every `recheck_s`. Once `verify` raises (the token was revoked, expired, or is no longer
known), the wrapped stream is closed and an AuthError saying so ends the stream: SSE sends it as
a final `event: error`, gRPC aborts with UNAUTHENTICATED.

So an item is never sent under a token the authenticator would refuse at that moment, and an
idle stream ends at most `recheck_s` plus the authenticator's own cache (`TOKEN_CACHE_S`) after
the token stops being valid.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import TypeVar, cast

from vmafx.errors import AuthError

T = TypeVar("T")

#: How often an idle stream re-checks its token, in seconds.
STREAM_RECHECK_S = 2.0

Verify = Callable[[], Awaitable[object]]


class StreamAuthError(AuthError):
    """A stream's token stopped being valid while the stream was open."""


async def _next(items: AsyncIterator[T]) -> tuple[bool, T | None]:
    try:
        return True, await anext(items)
    except StopAsyncIteration:
        return False, None


async def _check(verify: Verify) -> None:
    try:
        await verify()
    except AuthError as error:
        raise StreamAuthError(
            f"the stream was closed: {error.message}",
            hint=error.hint or "Reconnect with a valid token.",
        ) from None


async def while_authorized(
    items: AsyncIterator[T], verify: Verify, *, recheck_s: float = STREAM_RECHECK_S
) -> AsyncGenerator[T]:
    """`items`, each sent only after `verify` passed; StreamAuthError once it fails."""
    iterator = aiter(items)
    pending: asyncio.Task[tuple[bool, T | None]] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(_next(iterator))
            done, _ = await asyncio.wait({pending}, timeout=recheck_s)
            await _check(verify)  # before the item goes out, or on the idle tick
            if not done:
                continue
            more, item = pending.result()
            pending = None
            if not more:
                return
            yield cast(T, item)
    finally:
        if pending is not None:
            pending.cancel()
            await asyncio.wait({pending})
            if not pending.cancelled():
                pending.exception()  # retrieved: the stream ends with its own reason
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()
