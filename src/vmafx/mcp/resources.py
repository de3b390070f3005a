"""Resources: a job's result and per-frame series, as JSON documents an assistant can read."""

from __future__ import annotations

import json
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError

from vmafx.errors import VmafxError
from vmafx.mcp import jobs
from vmafx.mcp.callers import bearer_of
from vmafx.mcp.farm import Farm
from vmafx.mcp.schemas import JobOut


def add_resources(server: MCPServer[Any], farm: Farm) -> None:
    """A job's result and its per-frame series, read with the caller's token."""

    async def read(job_id: str, ctx: Context[Any, Any]) -> JobOut:
        try:
            return await farm.call(lambda c: jobs.get_job(c, job_id), bearer_of(ctx))
        except VmafxError as error:
            raise ResourceError(str(error)) from None

    @server.resource(
        "vmafx://jobs/{job_id}/result",
        mime_type="application/json",
        description="A finished job's full result (JSON), as get_job returns it.",
    )
    async def job_result(job_id: str, ctx: Context[Any, Any]) -> str:
        job = await read(job_id, ctx)
        if job.result is None:
            raise ResourceError(f"job {job.id} has no result yet (it is {job.state}).")
        return json.dumps(job.result)

    @server.resource(
        "vmafx://jobs/{job_id}/frames",
        mime_type="application/json",
        description="A score job's per-frame series per distorted input (decimated to at most "
        "200 points), and where the node keeps the full series.",
    )
    async def job_frames(job_id: str, ctx: Context[Any, Any]) -> str:
        job = await read(job_id, ctx)
        items = (job.result or {}).get("results")
        if not isinstance(items, list) or not items:
            raise ResourceError(f"job {job.id} has no per-frame series (it is {job.state}).")
        inputs = [
            {
                "distorted": item.get("distorted"),
                "series": item.get("series"),
                "full_series_on_node": item.get("per_frame"),
            }
            for item in items
            if isinstance(item, dict)
        ]
        return json.dumps({"job_id": job.id, "where": job.where, "inputs": inputs})
