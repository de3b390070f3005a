# ruff: noqa: N802 - methods carry the RPC names of the .proto
"""`ControllerServicer`: each RPC decodes its request, calls the service, encodes the answer.

Methods receive the parsed request and the authenticated caller (see handlers.py, which also
maps errors); none holds a rule of its own.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from vmafx.api import convert as cv
from vmafx.api import nodeconvert as nc
from vmafx.api.pb import controller_pb2 as pb
from vmafx.controller.auth import Principal
from vmafx.controller.service import ControllerService
from vmafx.core.jobs import new_batch_id
from vmafx.core.messages import cancel_answer
from vmafx.store.port import MAX_PAGE

DEFAULT_PAGE = 100


class ControllerServicer:
    def __init__(self, service: ControllerService) -> None:
        self._service = service

    # --- the original eight ------------------------------------------------------------------
    async def SubmitJob(
        self, request: pb.SubmitJobRequest, caller: Principal
    ) -> pb.SubmitJobResponse:
        done = await self._service.submit_job(caller, cv.job_request_from_pb(request))
        return cv.submitted_to_pb(done)

    async def GetJob(self, request: pb.GetJobRequest, caller: Principal) -> pb.Job:
        return cv.details_to_pb(await self._service.get_job(caller, request.job_id))

    async def CancelJob(
        self, request: pb.CancelJobRequest, caller: Principal
    ) -> pb.CancelJobResponse:
        job = await self._service.cancel_job(caller, request.job_id, request.reason or None)
        return pb.CancelJobResponse(ok=True, message=cancel_answer(job))

    async def StreamJobs(
        self, request: pb.StreamJobsRequest, caller: Principal
    ) -> AsyncIterator[pb.Job]:
        where = cv.stream_filter_from_pb(request)
        jobs = self._service.watch_jobs(caller, where, snapshot_only=request.snapshot_only)
        async for job in jobs:
            yield cv.job_to_pb(job)

    async def RegisterNode(
        self, request: pb.RegisterNodeRequest, caller: Principal
    ) -> pb.RegisterNodeResponse:
        caps = nc.capabilities_from_pb(request.capability)
        registration = await self._service.register_node(caller, request.name, caps)
        return nc.registration_to_pb(registration)

    async def Heartbeat(
        self, request: pb.HeartbeatRequest, caller: Principal
    ) -> pb.HeartbeatResponse:
        running = [nc.running_from_pb(item) for item in request.running]
        answer = await self._service.heartbeat(
            caller,
            request.node_id,
            request.session_token,
            running=running,
            draining=request.draining,
            gpu_usage=[nc.gpu_usage_from_pb(usage) for usage in request.gpu_usage],
        )
        return nc.heartbeat_to_pb(answer)

    async def PullWork(self, request: pb.PullWorkRequest, caller: Principal) -> pb.PullWorkResponse:
        caps = (
            nc.capabilities_from_pb(request.capability) if request.HasField("capability") else None
        )
        claim = await self._service.pull_work(
            caller,
            request.node_id,
            request.session_token,
            queues=list(request.queues),
            wait_s=max(0, request.wait_ms) / 1000,
            capabilities=caps,
        )
        return nc.claim_to_pb(claim)

    async def ReportResult(
        self, request: pb.ReportResultRequest, caller: Principal
    ) -> pb.ReportResultResponse:
        report = nc.report_from_pb(request)
        outcome = await self._service.report_result(
            caller, request.node_id, request.session_token, report
        )
        return pb.ReportResultResponse(ok=True, message=outcome.message)

    # --- vmafx's additions -------------------------------------------------------------------
    async def SubmitJobs(
        self, request: pb.SubmitJobsRequest, caller: Principal
    ) -> pb.SubmitJobsResponse:
        requests = [cv.job_request_from_pb(item) for item in request.jobs]
        batch_id = request.batch_id or new_batch_id()
        done = await self._service.submit_jobs(caller, requests, batch_id=batch_id)
        answers = [cv.submitted_to_pb(submitted) for submitted in done]
        return pb.SubmitJobsResponse(jobs=answers, batch_id=batch_id)

    async def ListJobs(self, request: pb.ListJobsRequest, caller: Principal) -> pb.ListJobsResponse:
        limit = min(request.page_size, MAX_PAGE) if request.page_size > 0 else DEFAULT_PAGE
        page = await self._service.list_jobs(
            caller, cv.list_filter_from_pb(request), limit=limit, cursor=request.page_token or None
        )
        jobs = [cv.job_to_pb(job) for job in page.jobs]
        return pb.ListJobsResponse(jobs=jobs, next_page_token=page.next_cursor or "")

    async def ListNodes(
        self, request: pb.ListNodesRequest, caller: Principal
    ) -> pb.ListNodesResponse:
        nodes = await self._service.list_nodes(caller, include_offline=request.include_offline)
        return pb.ListNodesResponse(nodes=[nc.node_to_pb(view) for view in nodes])

    async def DrainNode(
        self, request: pb.DrainNodeRequest, caller: Principal
    ) -> pb.DrainNodeResponse:
        result = await self._service.drain_node(
            caller, request.node_id, release_jobs=request.release_jobs
        )
        return pb.DrainNodeResponse(ok=result.ok, released_job_ids=list(result.released_job_ids))

    async def ResumeNode(
        self, request: pb.ResumeNodeRequest, caller: Principal
    ) -> pb.ResumeNodeResponse:
        result = await self._service.resume_node(caller, request.node_id)
        return pb.ResumeNodeResponse(ok=result.ok, was_drained=result.was_drained)

    async def SetNodeConcurrency(
        self, request: pb.SetNodeConcurrencyRequest, caller: Principal
    ) -> pb.SetNodeConcurrencyResponse:
        result = await self._service.set_node_concurrency(
            caller, request.node_id, dict(request.concurrency)
        )
        return pb.SetNodeConcurrencyResponse(
            concurrency=dict(result.concurrency), slots=result.slots
        )

    async def ReleaseJobs(
        self, request: pb.ReleaseJobsRequest, caller: Principal
    ) -> pb.ReleaseJobsResponse:
        released = await self._service.release_jobs(
            caller,
            request.node_id,
            request.session_token,
            nc.job_refs_from_pb(request.jobs),
            reason=request.reason,
            end_session=request.end_session,
        )
        return pb.ReleaseJobsResponse(ok=True, released_job_ids=released)

    async def CancelJobs(
        self, request: pb.BulkJobsRequest, caller: Principal
    ) -> pb.BulkJobsResponse:
        where = cv.bulk_filter_from_pb(request)
        done = await self._service.cancel_jobs(caller, where, request.reason or None)
        return cv.bulk_to_pb(done)

    async def RetryJobs(
        self, request: pb.BulkJobsRequest, caller: Principal
    ) -> pb.BulkJobsResponse:
        done = await self._service.retry_jobs(caller, cv.bulk_filter_from_pb(request))
        return cv.bulk_to_pb(done)

    async def RetryJob(
        self, request: pb.RetryJobRequest, caller: Principal
    ) -> pb.SubmitJobResponse:
        return cv.submitted_to_pb(await self._service.retry_job(caller, request.job_id))

    async def GetJobFrames(
        self, request: pb.GetJobRequest, caller: Principal
    ) -> pb.JobFramesResponse:
        body = await self._service.job_frames(caller, request.job_id)
        return pb.JobFramesResponse(frames_json=json.dumps(body, separators=(",", ":")))
