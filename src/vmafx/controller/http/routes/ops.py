"""Probes and metrics (no token needed, as in the original), and the route not offered.

`/healthz` answers 200 while the process serves; `/readyz` 200 when the store answers and its
schema is the one this vmafx needs, else 503 with the reason; `/metrics` the Prometheus text
of DESIGN.md §3.7 (queue gauges read from the store at scrape time).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Response

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


async def metrics(ctx: Ctx) -> Response:
    """Prometheus text exposition."""
    return Response(await ctx.metrics.render(), media_type=CONTENT_TYPE)


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
        responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text"}},
    )
    router.add_api_route(
        "/v1/score", score, methods=["POST"], tags=["score"], responses=_ERROR[501]
    )
    return router
