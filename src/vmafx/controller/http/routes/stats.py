"""`/v1/stats`: the figures of the Stats page, aggregated by the store (no Prometheus needed).

Throughput per hour (or 15 minutes, or day) by kind, node and outcome; queue depth now; the
commonest failure reasons; bytes saved by encodes per codec; the VMAF of scored encodes in
5-point bins; and the time each node and GPU spent running attempts. See `vmafx.core.stats`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from vmafx.controller.http.context import Caller, Ctx


async def farm_stats(
    ctx: Ctx,
    who: Caller,
    hours: Annotated[float, Query(description="The window: this many hours until now")] = 24,
    bucket: Annotated[str, Query(description="Throughput bucket: 15m, hour or day")] = "hour",
) -> dict[str, Any]:
    """The tenant's statistics over the last `hours` (role reader or above)."""
    stats = await ctx.service.farm_stats(who, hours=hours, bucket=bucket)
    return stats.to_json()


def stats_router() -> APIRouter:
    router = APIRouter(prefix="/v1/stats", tags=["stats"])
    router.add_api_route("", farm_stats, methods=["GET"])
    return router
