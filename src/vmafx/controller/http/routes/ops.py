"""Probes and metrics (no token needed, as in the original), and the route not offered.

`/healthz` answers 200 while the process serves; `/readyz` 200 when the store answers and its
schema is the one this vmafx needs, else 503 with the reason; `/metrics` the Prometheus text
of DESIGN.md §3.7 (queue gauges read from the store at scrape time). Tenant names are not for
everyone: while auth is on, `/metrics` without a token sums every per-tenant family over the
tenants and shows no `tenant` label; with a reader, writer or admin token (Prometheus:
`authorization: {credentials: ...}`) it shows that token's tenant's series; with auth off
(loopback only) every series. A token that is sent must be valid (401/403 otherwise).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response

from vmafx.controller.auth import Action, require
from vmafx.controller.http.context import Caller, Ctx
from vmafx.controller.http.errors import NotBuiltError
from vmafx.controller.http.schemas import ErrorOut, StatusOut
from vmafx.controller.metrics import CONTENT_TYPE
from vmafx.errors import UnavailableError

#: A probe that hangs is worse than one that fails: a store this slow counts as not ready.
READY_TIMEOUT_S = 5.0

_ERROR: dict[int, dict[int | str, dict[str, Any]]] = {
    status: {status: {"model": ErrorOut, "description": text}}
    for status, text in ((501, "Not wired yet"), (503, "Not ready, with the reason"))
}


async def healthz() -> StatusOut:
    """Live: 200 while the process serves requests."""
    return StatusOut(status="ok")


async def readyz(ctx: Ctx) -> StatusOut:
    """Ready: the store answers and its schema is current (503 with the reason otherwise)."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            await ctx.service.check_ready()
    except TimeoutError:
        raise UnavailableError(
            f"the job store did not answer within {READY_TIMEOUT_S:g} s."
        ) from None
    return StatusOut(status="ready")


async def metrics(request: Request, ctx: Ctx) -> Response:
    """Prometheus text exposition: without a token, no tenant names (see the module doc)."""
    authorization = request.headers.get("authorization")
    if ctx.auth.disabled:
        text = await ctx.metrics.render()
    elif authorization is None:
        text = await ctx.metrics.render(tenant=None)
    else:
        who = await ctx.auth.authenticate(authorization)
        require(who, Action.READ)
        text = await ctx.metrics.render(tenant=who.tenant)
    return Response(text, media_type=CONTENT_TYPE)


async def score(who: Caller) -> Response:
    """The original platform's synchronous score call: not offered, answers 501."""
    raise NotBuiltError(
        "POST /v1/score (score and wait) is not offered by this controller.",
        hint='Submit a score job with POST /v1/jobs {"kind": "score", "spec": {"reference": '
        '..., "distorted": [...]}} and follow GET /v1/jobs/{id}/events until it ends.',
    )


def ops_router() -> APIRouter:
    router = APIRouter()
    router.add_api_route("/healthz", healthz, methods=["GET"], tags=["operations"])
    router.add_api_route(
        "/readyz", readyz, methods=["GET"], tags=["operations"], responses=_ERROR[503]
    )
    router.add_api_route(
        "/metrics",
        metrics,
        methods=["GET"],
        tags=["operations"],
        response_class=Response,
        responses={
            200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text"},
            401: {"model": ErrorOut, "description": "A token was sent, and it is not valid"},
            403: {"model": ErrorOut, "description": "The token's role may not read"},
        },
    )
    router.add_api_route(
        "/v1/score", score, methods=["POST"], tags=["score"], responses=_ERROR[501]
    )
    return router
