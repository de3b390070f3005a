"""Server-sent events: one job's event log (`/v1/jobs/{id}/events`) and every job of the
tenant as it changes (`/v1/events`, what the web UI follows).

`/v1/jobs/{id}/events` sends, in order:
    event: snapshot    data: the job with its attempts (as GET /v1/jobs/{id})
    event: job_event   id: SEQ   data: {seq, job_id, at, type, data}   (one per logged event)
    event: end         data: {job_id, state}   when the job is finished; the stream then closes
Reconnecting with `Last-Event-ID: SEQ` (or `?after=SEQ`) resumes after that event.

`/v1/events` sends `event: job` with the job (as in GET /v1/jobs) for every matching job now,
oldest first (none with `snapshot=false`: the Jobs page reads its page from GET /v1/jobs),
then for every change, until the client leaves. It takes the filters of GET /v1/jobs.
Both send `: keepalive` comments while idle and `event: error` (the API's error body)
if the stream breaks, e.g. when it fell too far behind; reconnect then. Both re-check the token
before every event and every few seconds while idle: once it is revoked or expired, the stream
ends with `event: error` (type StreamAuthError) and sends nothing more.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from vmafx.controller.auth import Action, Principal, require
from vmafx.controller.http import encode
from vmafx.controller.http.context import Caller, Ctx, HttpContext, TokenCheck, closing
from vmafx.controller.http.routes.jobs import Filter
from vmafx.controller.http.sse import MEDIA_TYPE, frame, json_frame, sse_response
from vmafx.controller.service import ControllerService
from vmafx.controller.streamauth import Verify, while_authorized
from vmafx.core.messages import JobDetails, JobFilter
from vmafx.errors import UsageError

#: The largest event id a store holds (a signed 64-bit integer); larger ones are refused.
MAX_EVENT_ID = 2**63 - 1
_STREAM: dict[int | str, dict[str, Any]] = {
    200: {"content": {MEDIA_TYPE: {}}, "description": "A stream of server-sent events"}
}


def resume_point(after: int | None, last_event_id: str | None) -> int:
    """Where to resume: `Last-Event-ID` (sent by a reconnecting client) wins over `after`."""
    if last_event_id is None:
        return after or 0
    digits = last_event_id.strip()
    if not (digits.isascii() and digits.isdigit()) or int(digits) > MAX_EVENT_ID:
        raise UsageError(
            f"Last-Event-ID {last_event_id!r} is not an event id of this stream.",
            hint="Send back the id of the last event received, or leave the header out.",
        )
    return int(digits)


async def _job_messages(
    service: ControllerService, who: Principal, details: JobDetails, after: int
) -> AsyncGenerator[bytes]:
    job_id = details.job.id
    yield frame("snapshot", encode.details_out(details).model_dump_json())
    async with closing(service.job_events(who, job_id, after=after)) as events:
        async for event in events:
            yield frame(
                "job_event", encode.event_out(event).model_dump_json(), event_id=str(event.seq)
            )
    job = (await service.get_job(who, job_id)).job
    if job.is_terminal:
        yield json_frame("end", {"job_id": job.id, "state": job.state.value})


def _stream(ctx: HttpContext, messages: AsyncGenerator[bytes], verify: Verify) -> StreamingResponse:
    checked = while_authorized(messages, verify, recheck_s=ctx.limits.stream_recheck_s)
    return sse_response(checked, keepalive_s=ctx.limits.keepalive_s)


async def job_events(
    job_id: str,
    ctx: Ctx,
    who: Caller,
    verify: TokenCheck,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_EVENT_ID, description="Resume after this event id")
    ] = None,
    last_event_id: Annotated[str | None, Header(max_length=32)] = None,
) -> StreamingResponse:
    """One job's events: a snapshot, then its event log, live until the job ends."""
    start = resume_point(after, last_event_id)
    details = await ctx.service.get_job(who, job_id)  # 404 before the stream starts
    return _stream(ctx, _job_messages(ctx.service, who, details, start), verify)


async def _tenant_messages(
    service: ControllerService, who: Principal, where: JobFilter, snapshot: bool
) -> AsyncGenerator[bytes]:
    async with closing(service.watch_jobs(who, where, with_snapshot=snapshot)) as jobs:
        async for job in jobs:
            yield frame("job", encode.job_out(job).model_dump_json())


async def tenant_events(
    ctx: Ctx,
    who: Caller,
    verify: TokenCheck,
    where: Filter,
    snapshot: Annotated[
        bool, Query(description="false: changes only (a page read from GET /v1/jobs instead)")
    ] = True,
) -> StreamingResponse:
    """Every matching job of the tenant now, then each change, until the client leaves."""
    require(who, Action.READ)  # refused with 403 here, not inside a stream already sent as 200
    return _stream(ctx, _tenant_messages(ctx.service, who, where, snapshot), verify)


def events_router() -> APIRouter:
    router = APIRouter(tags=["events"])
    router.add_api_route(
        "/v1/jobs/{job_id}/events",
        job_events,
        methods=["GET"],
        response_class=StreamingResponse,
        responses=_STREAM,
    )
    router.add_api_route(
        "/v1/events",
        tenant_events,
        methods=["GET"],
        response_class=StreamingResponse,
        responses=_STREAM,
    )
    return router
