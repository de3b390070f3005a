"""`/v1/nodes`: the tenant's nodes (GPUs and their load, queues, slots in use, last heartbeat);
drain, resume, and per-queue concurrency changed live."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from vmafx.controller.http import encode
from vmafx.controller.http.context import Caller, Ctx
from vmafx.controller.http.schemas import (
    ConcurrencyIn,
    ConcurrencyOut,
    DrainIn,
    DrainOut,
    NodeListOut,
    ResumeOut,
)


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


async def resume_node(node_id: str, ctx: Ctx, who: Caller) -> ResumeOut:
    """Take a drained node back (admin): it gets work again."""
    result = await ctx.service.resume_node(who, node_id)
    return ResumeOut(ok=result.ok, was_drained=result.was_drained)


async def set_concurrency(
    node_id: str, body: ConcurrencyIn, ctx: Ctx, who: Caller
) -> ConcurrencyOut:
    """Change a node's jobs at once per queue while it runs (admin): claims follow at once,
    the node adds or retires pull loops on its next heartbeat."""
    result = await ctx.service.set_node_concurrency(who, node_id, body.concurrency)
    return ConcurrencyOut(concurrency=dict(result.concurrency), slots=result.slots)


def nodes_router() -> APIRouter:
    router = APIRouter(prefix="/v1/nodes", tags=["nodes"])
    router.add_api_route("", list_nodes, methods=["GET"], response_model=NodeListOut)
    router.add_api_route("/{node_id}/drain", drain_node, methods=["POST"], response_model=DrainOut)
    router.add_api_route(
        "/{node_id}/resume", resume_node, methods=["POST"], response_model=ResumeOut
    )
    router.add_api_route(
        "/{node_id}/concurrency", set_concurrency, methods=["PUT"], response_model=ConcurrencyOut
    )
    return router
