"""Node-side messages between `vmafx.core` and gRPC: capabilities, heartbeats, claims, reports.

An original node sends `NodeCapability` with `gpu_vendor`, `backends` and `concurrency` only
(read as a node of that many slots taking every queue), heartbeats without running job ids
(every lease it holds is renewed) and reports without an attempt (its current attempt).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime

from vmafx.api.convert import from_millis, job_to_pb, json_object, millis
from vmafx.api.pb import controller_pb2 as pb
from vmafx.core.attempts import Attribution
from vmafx.core.gpuusage import GpuUsage
from vmafx.core.messages import (
    Claim,
    HeartbeatAnswer,
    JobRef,
    NodeRegistration,
    NodeReport,
    NodeState,
    NodeView,
    RunningJob,
)
from vmafx.core.nodes import GpuInfo, NodeCapabilities, NodeSession
from vmafx.errors import UsageError

NODE_STATES = {
    NodeState.LIVE: pb.NODE_STATE_LIVE,
    NodeState.DRAINING: pb.NODE_STATE_DRAINING,
    NodeState.OFFLINE: pb.NODE_STATE_OFFLINE,
}
MAX_BACKENDS = 16


def gpu_from_pb(message: pb.Gpu) -> GpuInfo:
    return GpuInfo(
        vendor=message.vendor,
        name=message.name,
        uuid=message.uuid,
        index=message.index,
        memory_mb=message.memory_mb,
        driver=message.driver or None,
    )


def gpu_to_pb(gpu: GpuInfo) -> pb.Gpu:
    return pb.Gpu(
        vendor=gpu.vendor,
        name=gpu.name,
        uuid=gpu.uuid,
        index=gpu.index,
        memory_mb=gpu.memory_mb,
        driver=gpu.driver or "",
    )


def capabilities_from_pb(message: pb.NodeCapability) -> NodeCapabilities:
    if len(message.backends) > MAX_BACKENDS:
        raise UsageError(f"a node may advertise at most {MAX_BACKENDS} backends.")
    per_queue = {queue: int(limit) for queue, limit in message.queue_concurrency.items()}
    slots = message.concurrency or sum(per_queue.values()) or 1
    return NodeCapabilities(
        host=message.host,
        backends=tuple(message.backends),
        gpu_vendor=message.gpu_vendor or "cpu",
        gpus=tuple(gpu_from_pb(gpu) for gpu in message.gpus),
        encoders=tuple(message.encoders),
        queues=tuple(message.queues),
        slots=slots,
        concurrency=per_queue,
        labels=dict(message.labels),
    )


def capabilities_to_pb(caps: NodeCapabilities, version: str = "") -> pb.NodeCapability:
    return pb.NodeCapability(
        gpu_vendor=caps.gpu_vendor,
        backends=list(caps.backends),
        concurrency=caps.slots,
        gpus=[gpu_to_pb(gpu) for gpu in caps.gpus],
        encoders=list(caps.encoders),
        queues=list(caps.queues),
        queue_concurrency=dict(caps.concurrency),
        labels=dict(caps.labels),
        host=caps.host,
        version=version,
    )


def registration_to_pb(registration: NodeRegistration) -> pb.RegisterNodeResponse:
    return pb.RegisterNodeResponse(
        node_id=registration.node_id,
        session_token=registration.session_token,
        heartbeat_interval_ms=int(registration.heartbeat_interval_s * 1000),
        lease_ms=int(registration.lease_ttl_s * 1000),
    )


def registration_from_pb(message: pb.RegisterNodeResponse) -> NodeRegistration:
    return NodeRegistration(
        node_id=message.node_id,
        session_token=message.session_token,
        heartbeat_interval_s=message.heartbeat_interval_ms / 1000 or 10.0,
        lease_ttl_s=message.lease_ms / 1000 or 60.0,
    )


def running_from_pb(message: pb.RunningJob) -> RunningJob:
    has = message.HasField("progress")
    progress = message.progress
    return RunningJob(
        job_id=message.job_id,
        attempt=message.attempt,
        progress=progress.percent / 100.0 if has else None,
        frames=progress.frames if has and progress.frames else None,
        fps=progress.fps if has and progress.fps else None,
        eta_s=progress.eta_s if has and progress.eta_s else None,
        phase=progress.phase if has and progress.phase else None,
        encoder=progress.encoder if has and progress.encoder else None,
    )


def running_to_pb(running: RunningJob) -> pb.RunningJob:
    message = pb.RunningJob(job_id=running.job_id, attempt=running.attempt)
    if running.progress is not None:
        message.progress.percent = running.progress * 100.0
        message.progress.frames = running.frames or 0
        message.progress.fps = running.fps or 0.0
        message.progress.eta_s = running.eta_s or 0.0
        message.progress.phase = running.phase or ""
        message.progress.encoder = running.encoder or ""
    return message


def gpu_usage_to_pb(usage: GpuUsage) -> pb.GpuUsage:
    message = pb.GpuUsage(uuid=usage.uuid, index=usage.index)
    for name in _USAGE_FIELDS:
        value = getattr(usage, name)
        if value is not None:
            setattr(message, name, value)
    return message


def gpu_usage_from_pb(message: pb.GpuUsage) -> GpuUsage:
    known = {name: getattr(message, name) for name in _USAGE_FIELDS if message.HasField(name)}
    return GpuUsage(uuid=message.uuid, index=message.index, **known)


_USAGE_FIELDS = (
    "utilization_pct",
    "encoder_utilization_pct",
    "encoder_sessions",
    "memory_used_mb",
    "memory_total_mb",
)


def heartbeat_to_pb(answer: HeartbeatAnswer) -> pb.HeartbeatResponse:
    message = pb.HeartbeatResponse(
        ok=answer.ok,
        cancel_job_ids=list(answer.cancel_job_ids),
        session_unknown=answer.session_unknown,
        drain=answer.drain,
        heartbeat_interval_ms=round((answer.heartbeat_interval_s or 0) * 1000),
    )
    if answer.concurrency is not None:
        message.concurrency.limits.update(answer.concurrency)
    return message


def heartbeat_from_pb(message: pb.HeartbeatResponse) -> HeartbeatAnswer:
    return HeartbeatAnswer(
        ok=message.ok,
        cancel_job_ids=tuple(message.cancel_job_ids),
        session_unknown=message.session_unknown or not message.ok,
        drain=message.drain,
        concurrency=(dict(message.concurrency.limits) if message.HasField("concurrency") else None),
        heartbeat_interval_s=message.heartbeat_interval_ms / 1000 or None,
    )


def claim_to_pb(claim: Claim | None) -> pb.PullWorkResponse:
    if claim is None:
        return pb.PullWorkResponse()
    job = job_to_pb(claim.job)
    job.scoring_roots.extend(claim.scoring_roots)
    job.signed_inputs.update(claim.signed_inputs)
    job.signed_outputs.update(claim.signed_outputs)
    job.lease_ms = int(claim.lease_ttl_s * 1000)
    return pb.PullWorkResponse(job=job)


def attribution_from_pb(message: pb.Attribution) -> Attribution:
    gpu = None
    if message.gpu_model or message.gpu_uuid:
        gpu = GpuInfo(
            vendor=message.gpu_vendor or "cpu",
            name=message.gpu_model,
            uuid=message.gpu_uuid,
            index=message.gpu_index if message.HasField("gpu_index") else 0,
        )
    return Attribution(
        gpu=gpu, encoder=message.encoder or None, fallback=bool(message.fallback_from)
    )


def attribution_to_pb(attribution: Attribution) -> pb.Attribution:
    message = pb.Attribution(encoder=attribution.encoder or "")
    if attribution.gpu is not None:
        message.gpu_vendor = attribution.gpu.vendor
        message.gpu_model = attribution.gpu.name
        message.gpu_uuid = attribution.gpu.uuid
        message.gpu_index = attribution.gpu.index
    if attribution.fallback:
        message.fallback_from = "hardware"
        message.fallback_to = attribution.encoder or ""
    return message


def _finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise UsageError(
            f"{what} is {value}, which cannot be stored.",
            hint="Report the job as failed (error) instead of a non-finite number.",
        )
    return value


def report_from_pb(message: pb.ReportResultRequest) -> NodeReport:
    features = {name: _finite(value, f"feature {name}") for name, value in message.features.items()}
    partial = tuple(_finite(value, "a partial score") for value in message.partial_scores)
    return NodeReport(
        job_id=message.job_id,
        attempt=message.attempt,
        final=message.final,
        error=message.error or None,
        result=json_object(message.result_json, "result_json"),
        score=_finite(message.score, "score"),
        features=features,
        partial_scores=partial,
        attribution=attribution_from_pb(message.attribution)
        if message.HasField("attribution")
        else None,
    )


def report_to_pb(node_id: str, token: str, report: NodeReport) -> pb.ReportResultRequest:
    message = pb.ReportResultRequest(
        node_id=node_id,
        session_token=token,
        job_id=report.job_id,
        final=report.final,
        score=report.score or 0.0,
        features=dict(report.features),
        partial_scores=list(report.partial_scores),
        error=report.error or "",
        attempt=report.attempt,
        result_json=json.dumps(report.result) if report.result is not None else "",
    )
    if report.attribution is not None:
        message.attribution.CopyFrom(attribution_to_pb(report.attribution))
    return message


def job_refs_from_pb(refs: Sequence[pb.JobRef]) -> list[JobRef]:
    return [JobRef(ref.job_id, ref.attempt) for ref in refs]


def node_to_pb(view: NodeView) -> pb.Node:
    session = view.session
    return pb.Node(
        node_id=session.id,
        name=session.name,
        capability=capabilities_to_pb(session.capabilities),
        state=NODE_STATES[view.state],
        tenant=session.tenant,
        registered_at_ms=millis(session.created_at),
        last_heartbeat_ms=millis(session.last_seen_at),
        running_job_ids=list(view.running_job_ids),
        slots_in_use=dict(view.slots_in_use),
        gpu_usage=[gpu_usage_to_pb(usage) for usage in view.gpu_usage],
        gpu_usage_at_ms=millis(view.gpu_usage_at) if view.gpu_usage_at else 0,
        drain_requested=view.drain_requested,
    )


def node_from_pb(message: pb.Node) -> NodeView:
    last_seen = from_millis(message.last_heartbeat_ms) or datetime.fromtimestamp(0, UTC)
    session = NodeSession(
        id=message.node_id,
        tenant=message.tenant,
        name=message.name,
        capabilities=capabilities_from_pb(message.capability),
        token_sha256="",
        created_at=from_millis(message.registered_at_ms) or last_seen,
        last_seen_at=last_seen,
        expires_at=last_seen,
    )
    states = {value: state for state, value in NODE_STATES.items()}
    return NodeView(
        session=session,
        state=states.get(message.state, NodeState.OFFLINE),
        running_job_ids=tuple(message.running_job_ids),
        slots_in_use=dict(message.slots_in_use),
        gpu_usage=tuple(gpu_usage_from_pb(usage) for usage in message.gpu_usage),
        gpu_usage_at=from_millis(message.gpu_usage_at_ms) if message.gpu_usage_at_ms else None,
        drain_requested=message.drain_requested,
    )
