"""`GrpcControllerClient`: the ControllerClient over gRPC (grpc.aio), with a bearer token.

Every call has a deadline (`timeout_s`; a long-polling PullWork gets its wait on top). A failed
call raises the VmafxError the controller named in its `vmafx-error` trailer, else the class of
its status code (`vmafx.api.status`); an unreachable controller is UnavailableError, and a TLS
mismatch (untrusted certificate, TLS on one side only) is its subclass `TlsError`, which says
which side to fix. `https://HOST:PORT` dials with TLS (`vmafx.client.tls` has the convention),
trusting the CA in `ca` or else the system's.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import grpc

from vmafx.api import convert as cv
from vmafx.api import nodeconvert as nc
from vmafx.api.pb import controller_pb2 as pb
from vmafx.api.pb import controller_pb2_grpc as pb_grpc
from vmafx.api.status import ERROR_METADATA, RETRY_AFTER_METADATA, error_for
from vmafx.client.tls import ControllerAddress, explain_unavailable, parse_address
from vmafx.core.gpuusage import GpuUsage
from vmafx.core.jobs import Job, JsonObject
from vmafx.core.messages import (
    Claim,
    ConcurrencyResult,
    DrainResult,
    HeartbeatAnswer,
    JobDetails,
    JobFilter,
    JobPage,
    JobRef,
    JobRequest,
    NodeRegistration,
    NodeReport,
    NodeView,
    ResumeResult,
    RunningJob,
    Submitted,
)
from vmafx.core.nodes import NodeCapabilities
from vmafx.core.retries import BulkResult
from vmafx.errors import VmafxError

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
#: Seconds a bulk cancel or retry may take beyond a call's timeout (a page per transaction).
BULK_EXTRA_S = 600.0


def _trailer(error: grpc.aio.AioRpcError) -> dict[str, str]:
    return {key: str(value) for key, value in (error.trailing_metadata() or ())}


def _error(error: grpc.aio.AioRpcError) -> VmafxError:
    trailer = _trailer(error)
    fields = {
        "job_id": trailer.get("vmafx-job-id", ""),
        "attempt": trailer.get("vmafx-attempt", 0),
        "retry_after_ms": trailer.get(RETRY_AFTER_METADATA, 0),
    }
    return error_for(error.code(), error.details() or "", trailer.get(ERROR_METADATA), **fields)


def _filter_to_pb(where: JobFilter) -> dict[str, Any]:
    return {
        "kinds": [kind.value for kind in where.kinds],
        "queues": list(where.queues),
        "batch_id": where.batch_id or "",
        "parent_id": where.parent_id or "",
        "search": where.search or "",
    }


def _list_request(
    where: JobFilter, limit: int = 0, cursor: str | None = None
) -> pb.ListJobsRequest:
    return pb.ListJobsRequest(
        statuses=[cv.STATUS[state] for state in where.states],  # type: ignore[misc]
        node_id=where.node_id or "",
        created_after_ms=cv.millis(where.created_after),
        created_before_ms=cv.millis(where.created_before),
        page_size=limit,
        page_token=cursor or "",
        **_filter_to_pb(where),
    )


def _bulk_request(where: JobFilter, reason: str | None = None) -> pb.BulkJobsRequest:
    if where.job_ids:
        return pb.BulkJobsRequest(job_ids=list(where.job_ids), reason=reason or "")
    return pb.BulkJobsRequest(all_matching=True, filter=_list_request(where), reason=reason or "")


class GrpcControllerClient:
    def __init__(
        self,
        target: str | ControllerAddress,
        *,
        token: str | None = None,
        ca: Path | None = None,
        timeout_s: float = 10.0,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        options = [
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
        ]
        address = target if isinstance(target, ControllerAddress) else parse_address(target, ca=ca)
        self.address = address
        if address.tls:
            credentials = grpc.ssl_channel_credentials(address.root_certificates())
            self._channel = grpc.aio.secure_channel(address.target, credentials, options=options)
        else:
            self._channel = grpc.aio.insecure_channel(address.target, options=options)
        self._stub = pb_grpc.VmafxControllerStub(self._channel)
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._timeout_s = timeout_s

    def __repr__(self) -> str:
        return "GrpcControllerClient(...)"

    async def _failure(self, error: grpc.aio.AioRpcError) -> VmafxError:
        """The error to raise for a failed call: TlsError when TLS is why nothing answered."""
        if error.code() is grpc.StatusCode.UNAVAILABLE and ERROR_METADATA not in _trailer(error):
            tls = await explain_unavailable(self.address, error.details() or "")
            if tls is not None:
                return tls
        return _error(error)

    async def _call(self, method: str, request: Any, *, extra_s: float = 0.0) -> Any:
        try:
            return await getattr(self._stub, method)(
                request, metadata=self._metadata, timeout=self._timeout_s + extra_s
            )
        except grpc.aio.AioRpcError as error:
            raise await self._failure(error) from None

    # --- jobs ----------------------------------------------------------------------------------
    async def submit_job(self, request: JobRequest) -> Submitted:
        answer = await self._call("SubmitJob", cv.job_request_to_pb(request))
        return cv.submitted_from_pb(answer)

    async def submit_jobs(
        self, requests: Sequence[JobRequest], *, batch_id: str | None = None
    ) -> list[Submitted]:
        message = pb.SubmitJobsRequest(
            jobs=[cv.job_request_to_pb(request) for request in requests], batch_id=batch_id or ""
        )
        answer = await self._call("SubmitJobs", message, extra_s=self._timeout_s * 5)
        return [cv.submitted_from_pb(item) for item in answer.jobs]

    async def get_job(self, job_id: str) -> JobDetails:
        message = await self._call("GetJob", pb.GetJobRequest(job_id=job_id))
        return cv.details_from_pb(message)

    async def list_jobs(
        self, where: JobFilter | None = None, *, limit: int = 100, cursor: str | None = None
    ) -> JobPage:
        request = _list_request(where or JobFilter(), limit, cursor)
        answer = await self._call("ListJobs", request)
        jobs = [cv.job_from_pb(job) for job in answer.jobs]
        return JobPage(jobs, answer.next_page_token or None)

    async def cancel_job(self, job_id: str, reason: str | None = None) -> str:
        request = pb.CancelJobRequest(job_id=job_id, reason=reason or "")
        answer = await self._call("CancelJob", request)
        return str(answer.message)

    async def cancel_jobs(self, where: JobFilter, *, reason: str | None = None) -> BulkResult:
        request = _bulk_request(where, reason)
        return cv.bulk_from_pb(await self._call("CancelJobs", request, extra_s=BULK_EXTRA_S))

    async def retry_jobs(self, where: JobFilter) -> BulkResult:
        request = _bulk_request(where)
        return cv.bulk_from_pb(await self._call("RetryJobs", request, extra_s=BULK_EXTRA_S))

    async def job_frames(self, job_id: str) -> JsonObject:
        answer = await self._call(
            "GetJobFrames", pb.GetJobRequest(job_id=job_id), extra_s=BULK_EXTRA_S
        )
        body = json.loads(answer.frames_json)
        assert isinstance(body, dict)
        return body

    async def retry_job(self, job_id: str) -> Submitted:
        answer = await self._call("RetryJob", pb.RetryJobRequest(job_id=job_id))
        return cv.submitted_from_pb(answer)

    async def watch_jobs(
        self, where: JobFilter | None = None, *, snapshot_only: bool = False
    ) -> AsyncIterator[Job]:
        where = where or JobFilter()
        request = pb.StreamJobsRequest(
            status_filter=[cv.STATUS[state] for state in where.states],  # type: ignore[misc]
            job_ids=list(where.job_ids),
            snapshot_only=snapshot_only,
            **_filter_to_pb(where),
        )
        call = self._stub.StreamJobs(request, metadata=self._metadata)
        try:
            async for message in call:
                yield cv.job_from_pb(message)
        except grpc.aio.AioRpcError as error:
            raise await self._failure(error) from None
        finally:
            call.cancel()

    # --- nodes ---------------------------------------------------------------------------------
    async def register_node(self, name: str, capabilities: NodeCapabilities) -> NodeRegistration:
        request = pb.RegisterNodeRequest(name=name, capability=nc.capabilities_to_pb(capabilities))
        return nc.registration_from_pb(await self._call("RegisterNode", request))

    async def heartbeat(
        self,
        session: NodeRegistration,
        *,
        running: Sequence[RunningJob] = (),
        draining: bool = False,
        gpu_usage: Sequence[GpuUsage] = (),
    ) -> HeartbeatAnswer:
        request = pb.HeartbeatRequest(
            node_id=session.node_id,
            session_token=session.session_token,
            jobs_running=len(running),
            running=[nc.running_to_pb(item) for item in running],
            draining=draining,
            gpu_usage=[nc.gpu_usage_to_pb(usage) for usage in gpu_usage],
        )
        return nc.heartbeat_from_pb(await self._call("Heartbeat", request))

    async def pull_work(
        self,
        session: NodeRegistration,
        *,
        queues: Sequence[str] | None = None,
        wait_s: float = 0.0,
        capabilities: NodeCapabilities | None = None,
    ) -> Claim | None:
        request = pb.PullWorkRequest(
            node_id=session.node_id,
            session_token=session.session_token,
            queues=list(queues or ()),
            wait_ms=int(wait_s * 1000),
        )
        if capabilities is not None:
            request.capability.CopyFrom(nc.capabilities_to_pb(capabilities))
        answer = await self._call("PullWork", request, extra_s=wait_s)
        if not answer.HasField("job"):
            return None
        job = answer.job
        return Claim(
            job=cv.job_from_pb(job),
            lease_ttl_s=job.lease_ms / 1000,
            scoring_roots=tuple(job.scoring_roots),
            signed_inputs=dict(job.signed_inputs),
            signed_outputs=dict(job.signed_outputs),
        )

    async def report_result(self, session: NodeRegistration, report: NodeReport) -> str:
        request = nc.report_to_pb(session.node_id, session.session_token, report)
        return str((await self._call("ReportResult", request)).message)

    async def release_jobs(
        self,
        session: NodeRegistration,
        jobs: Sequence[JobRef],
        *,
        reason: str = "",
        end_session: bool = False,
    ) -> list[str]:
        request = pb.ReleaseJobsRequest(
            node_id=session.node_id,
            session_token=session.session_token,
            jobs=[pb.JobRef(job_id=ref.job_id, attempt=ref.attempt) for ref in jobs],
            reason=reason,
            end_session=end_session,
        )
        return list((await self._call("ReleaseJobs", request)).released_job_ids)

    async def list_nodes(self, *, include_offline: bool = False) -> list[NodeView]:
        answer = await self._call("ListNodes", pb.ListNodesRequest(include_offline=include_offline))
        return [nc.node_from_pb(node) for node in answer.nodes]

    async def drain_node(self, node_id: str, *, release_jobs: bool = False) -> DrainResult:
        request = pb.DrainNodeRequest(node_id=node_id, release_jobs=release_jobs)
        answer = await self._call("DrainNode", request)
        return DrainResult(answer.ok, tuple(answer.released_job_ids))

    async def resume_node(self, node_id: str) -> ResumeResult:
        answer = await self._call("ResumeNode", pb.ResumeNodeRequest(node_id=node_id))
        return ResumeResult(answer.ok, answer.was_drained)

    async def set_node_concurrency(
        self, node_id: str, limits: Mapping[str, int]
    ) -> ConcurrencyResult:
        request = pb.SetNodeConcurrencyRequest(node_id=node_id, concurrency=dict(limits))
        answer = await self._call("SetNodeConcurrency", request)
        return ConcurrencyResult(dict(answer.concurrency), answer.slots)

    async def close(self) -> None:
        await self._channel.close()
