"""`/v1/nodes`: the tenant's nodes (GPUs, queues, slots in use, last heartbeat), and drain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from vmafx.controller.http import encode
from vmafx.controller.http.context import Caller, Ctx
from vmafx.controller.http.schemas import DrainIn, DrainOut, NodeListOut


async def list_nodes(
    ctx: Ctx,
    who: Caller,
    include_offline: Annotated[bool, Query(description="Also nodes whose session ran out")] = False,
) -> NodeListOut:
    """Live (and draining) nodes of the tenant, with the jobs each runs now."""
    views = await ctx.service.list_nodes(who, include_offline=include_offline)
    return NodeListOut(nodes=[encode.node_out(view) for view in views])


async def drain_node(node_id: str, ctx: Ctx, who: Caller, body: DrainIn | None = None) -> DrainOut:
    """Stop giving a node work (admin); with `release_jobs` its jobs go back to pending now."""
    release = body.release_jobs if body else False
    result = await ctx.service.drain_node(who, node_id, release_jobs=release)
    return DrainOut(ok=result.ok, released_job_ids=list(result.released_job_ids))


def nodes_router() -> APIRouter:
    router = APIRouter(prefix="/v1/nodes", tags=["nodes"])
    router.add_api_route("", list_nodes, methods=["GET"], response_model=NodeListOut)
    router.add_api_route("/{node_id}/drain", drain_node, methods=["POST"], response_model=DrainOut)
    return router
