"""What every route gets through FastAPI's dependencies: the shared context and the caller.

`build_http_app` stores one `HttpContext` on the app (no module-level state); routes take it as
`ctx: Ctx` and the authenticated caller as `who: Caller`. The caller comes from
`Authorization: Bearer <token>` through the same `Authenticator` the gRPC layer uses; a
missing or unknown token is AuthError (401) before the route runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vmafx.controller.auth import Authenticator, Principal
from vmafx.controller.http.bodylimit import MIB
from vmafx.controller.metrics import MetricsExporter
from vmafx.controller.service import ControllerService
from vmafx.controller.streamauth import STREAM_RECHECK_S, Verify

T = TypeVar("T")

#: Declares the scheme in the OpenAPI document; the header itself is read below.
BEARER = HTTPBearer(
    auto_error=False, description="An API token: `vmafx tokens create --role ROLE --tenant T`."
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class HttpLimits:
    """Request body cap (413 above it), the SSE keep-alive period, and how often an idle SSE
    stream re-checks its token (it is re-checked before every event too)."""

    max_body_bytes: int = MIB
    keepalive_s: float = 15.0
    stream_recheck_s: float = STREAM_RECHECK_S


@dataclasses.dataclass(frozen=True, kw_only=True)
class HttpContext:
    service: ControllerService
    auth: Authenticator
    metrics: MetricsExporter
    limits: HttpLimits
    #: The trainer's checkpoint folder, whose registry.json `GET /v1/models` reads.
    model_dir: Path


def context(request: Request) -> HttpContext:
    ctx = request.app.state.vmafx
    assert isinstance(ctx, HttpContext)
    return ctx


Ctx = Annotated[HttpContext, Depends(context)]


async def caller(
    request: Request,
    ctx: Ctx,
    _token: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> Principal:
    return await ctx.auth.authenticate(request.headers.get("authorization"))


Caller = Annotated[Principal, Depends(caller)]


def token_check(request: Request, ctx: Ctx) -> Verify:
    """The caller's check again, for a stream to repeat while it stays open (streamauth)."""
    authorization = request.headers.get("authorization")

    async def verify() -> Principal:
        return await ctx.auth.authenticate(authorization)

    return verify


TokenCheck = Annotated[Verify, Depends(token_check)]


@contextlib.asynccontextmanager
async def closing(items: AsyncIterator[T]) -> AsyncIterator[AsyncIterator[T]]:
    """Close a service stream (and so its subscription) as soon as the route is done with it."""
    try:
        yield items
    finally:
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()
