"""`/v1/jobs`: submit one or many, list with filters, search and cursor paging, count, get,
cancel and retry one, cancel and retry many by filter in one call.

Each route decodes its request, calls one `ControllerService` verb and encodes the answer; the
service checks the caller's role and scopes everything to its tenant (another tenant's job is
simply not found).
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response, status

from vmafx.controller.http import encode
from vmafx.controller.http.context import Caller, Ctx
from vmafx.controller.http.schemas import (
    BatchIn,
    BatchOut,
    BulkIn,
    BulkOut,
    CancelIn,
    JobCountsOut,
    JobDetailOut,
    JobIn,
    JobOut,
    JobPageOut,
    SubmittedOut,
)
from vmafx.core import frames
from vmafx.core.jobs import JobKind, JobState
from vmafx.core.messages import JobFilter
from vmafx.core.retries import BulkResult
from vmafx.errors import UsageError
from vmafx.store.port import MAX_PAGE

DEFAULT_PAGE = 100


async def submit_job(body: JobIn, ctx: Ctx, who: Caller, response: Response) -> SubmittedOut:
    """Submit one job. 201 with the new job; 200 with the earlier job when the
    idempotency key was seen before."""
    done = await ctx.service.submit_job(who, encode.job_request(body))
    response.status_code = status.HTTP_200_OK if done.deduplicated else status.HTTP_201_CREATED
    response.headers["Location"] = f"/v1/jobs/{done.job.id}"
    return encode.submitted_out(done)


async def submit_batch(body: BatchIn, ctx: Ctx, who: Caller) -> BatchOut:
    """Submit many jobs in one transaction; one invalid job rejects them all."""
    requests = encode.job_requests(body.jobs)
    done = await ctx.service.submit_jobs(who, requests, batch_id=body.batch_id)
    return encode.batch_out(done, body.batch_id)


def job_filter(
    state: Annotated[list[JobState] | None, Query(description="Repeat for several")] = None,
    kind: Annotated[list[JobKind] | None, Query()] = None,
    queue: Annotated[list[str] | None, Query()] = None,
    node: Annotated[str | None, Query(description="Jobs running on this node id")] = None,
    batch_id: str | None = None,
    parent_id: str | None = None,
    q: Annotated[
        str | None,
        Query(
            max_length=500,
            description="Search: id prefix, file name, node or error text; "
            "`state:failed node:gpu-2 crf38` (see `vmafx.core.jobsearch`)",
        ),
    ] = None,
) -> JobFilter:
    return JobFilter(
        states=tuple(state or ()),
        kinds=tuple(kind or ()),
        queues=tuple(queue or ()),
        node_id=node,
        batch_id=batch_id,
        parent_id=parent_id,
        search=q or None,
    )


Filter = Annotated[JobFilter, Depends(job_filter)]


async def list_jobs(
    ctx: Ctx,
    who: Caller,
    where: Filter,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> JobPageOut:
    """The tenant's jobs, newest first. With a `node` filter a page may hold fewer than
    `limit` jobs while more follow: keep paging until `next_cursor` is null."""
    page = await ctx.service.list_jobs(who, where, limit=limit, cursor=cursor)
    return JobPageOut(jobs=[encode.job_out(job) for job in page.jobs], next_cursor=page.next_cursor)


async def count_jobs(ctx: Ctx, who: Caller, where: Filter) -> JobCountsOut:
    """How many jobs match the filters (those of GET /v1/jobs), per state."""
    counts = await ctx.service.count_jobs(who, where)
    return JobCountsOut(total=sum(counts.values()), states=counts)


def _bulk_filter(body: BulkIn) -> JobFilter:
    if body.all_matching == bool(body.job_ids):
        raise UsageError(
            "name the jobs: either `job_ids` or `all_matching: true` with filters.",
            hint='e.g. {"all_matching": true, "state": ["pending"], "q": "crf38"}',
        )
    return JobFilter(
        states=tuple(body.state),
        kinds=tuple(body.kind),
        queues=tuple(body.queue),
        job_ids=tuple(body.job_ids),
        search=body.q or None,
    )


def _bulk_out(done: BulkResult) -> BulkOut:
    return BulkOut(
        matched=done.matched,
        changed=done.changed,
        job_ids=list(done.job_ids),
        skipped=list(done.skipped),
    )


async def cancel_jobs(body: BulkIn, ctx: Ctx, who: Caller) -> BulkOut:
    """Cancel many jobs in one call: the listed ones, or every pending or running job
    matching the filters."""
    return _bulk_out(await ctx.service.cancel_jobs(who, _bulk_filter(body), body.reason))


async def retry_jobs(body: BulkIn, ctx: Ctx, who: Caller) -> BulkOut:
    """Retry many jobs in one call: each failed job (cancelled too, when `state` names it)
    becomes a new pending job linked to it (`retry_of`); retrying twice creates nothing new."""
    return _bulk_out(await ctx.service.retry_jobs(who, _bulk_filter(body)))


async def retry_job(job_id: str, ctx: Ctx, who: Caller, response: Response) -> SubmittedOut:
    """Retry a failed or cancelled job: 201 with the new job, linked by `retry_of`;
    200 with the same retry when it was asked before."""
    done = await ctx.service.retry_job(who, job_id)
    response.status_code = status.HTTP_200_OK if done.deduplicated else status.HTTP_201_CREATED
    response.headers["Location"] = f"/v1/jobs/{done.job.id}"
    return encode.submitted_out(done)


async def job_frames(
    job_id: str,
    ctx: Ctx,
    who: Caller,
    format: Annotated[Literal["csv", "json"], Query(description="csv or json")] = "csv",
) -> Response:
    """A completed job's full per-frame series: CSV as `vmafx score --per-frame` writes it
    (distorted, frame, the pooled metrics' names, then libvmaf's features), or JSON."""
    body = await ctx.service.job_frames(who, job_id)
    name = f"vmafx-{job_id[:8]}-frames.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "json":
        return Response(json.dumps(body), media_type="application/json", headers=headers)
    text = frames.to_csv(body["inputs"], body["pooled"])
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


async def get_job(job_id: str, ctx: Ctx, who: Caller) -> JobDetailOut:
    """A job with every attempt (node, host, GPU, encoder, outcome)."""
    return encode.details_out(await ctx.service.get_job(who, job_id))


async def cancel_job(job_id: str, ctx: Ctx, who: Caller, body: CancelIn | None = None) -> JobOut:
    """Cancel a pending or running job; a finished job is returned unchanged."""
    reason = body.reason if body else None
    return encode.job_out(await ctx.service.cancel_job(who, job_id, reason))


def jobs_router() -> APIRouter:
    router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
    router.add_api_route(
        "",
        submit_job,
        methods=["POST"],
        status_code=201,
        response_model=SubmittedOut,
        responses={200: {"model": SubmittedOut, "description": "The earlier job of this key"}},
    )
    router.add_api_route("/batch", submit_batch, methods=["POST"], response_model=BatchOut)
    router.add_api_route("", list_jobs, methods=["GET"], response_model=JobPageOut)
    router.add_api_route("/counts", count_jobs, methods=["GET"], response_model=JobCountsOut)
    router.add_api_route("/cancel", cancel_jobs, methods=["POST"], response_model=BulkOut)
    router.add_api_route("/retry", retry_jobs, methods=["POST"], response_model=BulkOut)
    router.add_api_route("/{job_id}", get_job, methods=["GET"], response_model=JobDetailOut)
    router.add_api_route("/{job_id}/cancel", cancel_job, methods=["POST"], response_model=JobOut)
    router.add_api_route(
        "/{job_id}/frames",
        job_frames,
        methods=["GET"],
        response_class=Response,
        responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
    )
    router.add_api_route(
        "/{job_id}/retry",
        retry_job,
        methods=["POST"],
        status_code=201,
        response_model=SubmittedOut,
        responses={200: {"model": SubmittedOut, "description": "The retry asked for before"}},
    )
    return router
