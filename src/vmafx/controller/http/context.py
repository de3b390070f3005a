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

T = TypeVar("T")

#: Declares the scheme in the OpenAPI document; the header itself is read below.
BEARER = HTTPBearer(
    auto_error=False, description="An API token: `vmafx tokens create --role ROLE --tenant T`."
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class HttpLimits:
    """Request body cap (413 above it) and the SSE keep-alive period."""

    max_body_bytes: int = MIB
    keepalive_s: float = 15.0


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


@contextlib.asynccontextmanager
async def closing(items: AsyncIterator[T]) -> AsyncIterator[AsyncIterator[T]]:
    """Close a service stream (and so its subscription) as soon as the route is done with it."""
    try:
        yield items
    finally:
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()
