"""Jobs between `vmafx.core` and the gRPC messages (`vmafx.api.pb.controller_pb2`).

An original client fills only the original fields (ORIGINAL.md §2.1) and must read sensible
values back: a `SubmitJobRequest` with only `scoring` submits a `score` job; a score job's
`Job.scoring` shows its reference, first distorted input, model and backend; `final_score` is
its headline VMAF once COMPLETED; `assigned_node` is the node running (or that last ran) it.
Node-side messages are in `vmafx.api.nodeconvert`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from vmafx.api.pb import controller_pb2 as pb
from vmafx.core import json_codec
from vmafx.core.attempts import Attempt, AttemptOutcome
from vmafx.core.jobs import Job, JobKind, JobState, JsonObject, Lease, Requirements, parse_kind
from vmafx.core.messages import JobDetails, JobFilter, JobRequest, Submitted
from vmafx.core.nodes import GpuInfo
from vmafx.core.retries import BulkResult
from vmafx.core.scores import headline_score
from vmafx.core.specs import parse_spec
from vmafx.errors import UsageError

STATUS: Mapping[JobState, int] = {
    JobState.PENDING: pb.PENDING,
    JobState.RUNNING: pb.RUNNING,
    JobState.COMPLETED: pb.COMPLETED,
    JobState.FAILED: pb.FAILED,
    JobState.CANCELLED: pb.CANCELLED,
}
STATE: Mapping[int, JobState] = {value: state for state, value in STATUS.items()}


# --- small values ------------------------------------------------------------------------------
def seconds(at: datetime | None) -> int:
    return int(at.timestamp()) if at else 0


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def millis(at: datetime | None) -> int:
    """Milliseconds since the epoch, counted exactly (no float rounding: a time read back
    prints as the one codec prints the original, `vmafx.core.job_json.timestamp`)."""
    return (at - _EPOCH) // _MS if at else 0


def from_millis(value: int) -> datetime | None:
    return _EPOCH + value * _MS if value else None


def json_object(text: str, field: str) -> JsonObject | None:
    """A JSON object from a `*_json` field ('' means unset): the one codec's reading."""
    return json_codec.decode_object(text, field)


def state_of(status: int) -> JobState:
    try:
        return STATE[status]
    except KeyError:
        raise UsageError(f"unknown job status {status}.") from None


def requirements_to_pb(req: Requirements) -> pb.JobRequirements:
    return pb.JobRequirements(
        backend=req.backend or "",
        gpu_vendor=req.gpu_vendor or "",
        encoder=req.encoder or "",
        min_gpu_memory_mb=req.min_gpu_memory_mb or 0,
        labels=dict(req.labels),
    )


def requirements_from_pb(message: pb.JobRequirements, backend: str = "") -> Requirements:
    return Requirements(
        backend=message.backend or backend or None,
        gpu_vendor=message.gpu_vendor or None,
        encoder=message.encoder or None,
        min_gpu_memory_mb=message.min_gpu_memory_mb or None,
        labels=dict(message.labels),
    )


# --- submissions -------------------------------------------------------------------------------
def _scoring_spec(scoring: pb.ScoringParams) -> JsonObject:
    spec: JsonObject = {}
    if scoring.reference:
        spec["reference"] = scoring.reference
    if scoring.distorted:
        spec["distorted"] = [scoring.distorted]
    if scoring.model:
        spec["models"] = [scoring.model]
    return spec


def job_request_from_pb(message: pb.SubmitJobRequest) -> JobRequest:
    """A SubmitJobRequest as a JobRequest, its spec parsed once into its kind's typed spec
    (UsageError naming the field); only `scoring` set means a `score` job."""
    kind = parse_kind(message.kind) if message.kind else JobKind.SCORE
    spec = json_object(message.spec_json, "spec_json")
    if kind is JobKind.SCORE and message.HasField("scoring"):
        spec = {**_scoring_spec(message.scoring), **(spec or {})}
    elif message.HasField("scoring"):
        raise UsageError(f"scoring is only for score jobs; a {kind} job takes spec_json.")
    if spec is None:
        raise UsageError(f"a {kind} job needs a spec (spec_json).")
    return JobRequest(
        spec=parse_spec(kind, spec),
        queue=message.queue or None,
        priority=message.priority,
        requirements=requirements_from_pb(message.requirements, message.scoring.backend),
        parent_id=message.parent_id or None,
        batch_id=message.batch_id or None,
        idempotency_key=message.idempotency_key or None,
    )


def job_request_to_pb(request: JobRequest) -> pb.SubmitJobRequest:
    return pb.SubmitJobRequest(
        kind=request.kind.value,
        queue=request.queue or "",
        priority=request.priority,
        spec_json=json_codec.encode(request.spec, field="spec"),
        requirements=requirements_to_pb(request.requirements),
        parent_id=request.parent_id or "",
        batch_id=request.batch_id or "",
        idempotency_key=request.idempotency_key or "",
    )


def filter_from_pb(
    statuses: Any, kinds: Any, queues: Any, **others: Any
) -> JobFilter:  # repeated fields are typed loosely by protobuf
    return JobFilter(
        states=tuple(state_of(status) for status in statuses),
        kinds=tuple(parse_kind(kind) for kind in kinds),
        queues=tuple(queues),
        **others,
    )


def stream_filter_from_pb(message: pb.StreamJobsRequest) -> JobFilter:
    return filter_from_pb(
        message.status_filter,
        message.kinds,
        message.queues,
        job_ids=tuple(message.job_ids),
        batch_id=message.batch_id or None,
        parent_id=message.parent_id or None,
        search=message.search or None,
    )


def list_filter_from_pb(message: pb.ListJobsRequest) -> JobFilter:
    return filter_from_pb(
        message.statuses,
        message.kinds,
        message.queues,
        node_id=message.node_id or None,
        batch_id=message.batch_id or None,
        parent_id=message.parent_id or None,
        created_after=from_millis(message.created_after_ms),
        created_before=from_millis(message.created_before_ms),
        search=message.search or None,
    )


def bulk_filter_from_pb(message: pb.BulkJobsRequest) -> JobFilter:
    """The jobs a bulk action takes: the listed ids, or every job matching the filter."""
    if message.all_matching == bool(message.job_ids):
        raise UsageError(
            "name the jobs: either job_ids or all_matching with a filter.",
            hint="e.g. `vmafx jobs cancel --filter 'state:pending crf38'`.",
        )
    if message.job_ids:
        return JobFilter(job_ids=tuple(message.job_ids))
    return list_filter_from_pb(message.filter)


def bulk_to_pb(done: BulkResult) -> pb.BulkJobsResponse:
    return pb.BulkJobsResponse(
        matched=done.matched,
        changed=done.changed,
        job_ids=list(done.job_ids),
        skipped=list(done.skipped),
    )


def bulk_from_pb(message: pb.BulkJobsResponse) -> BulkResult:
    return BulkResult(
        matched=message.matched,
        changed=message.changed,
        job_ids=tuple(message.job_ids),
        skipped=tuple(message.skipped),
    )


# --- jobs --------------------------------------------------------------------------------------
def _scoring(job: Job) -> pb.ScoringParams | None:
    if job.kind is not JobKind.SCORE:
        return None
    distorted = job.spec.get("distorted") or [""]
    models = job.spec.get("models") or [""]
    return pb.ScoringParams(
        reference=str(job.spec.get("reference", "")),
        distorted=str(distorted[0]),
        model=str(models[0]),
        backend=job.requirements.backend or "",
    )


def attribution_to_pb(attempt: Attempt) -> pb.Attribution:
    message = pb.Attribution(
        node_id=attempt.session_id,
        node_name=attempt.node_name,
        host=attempt.host,
        encoder=attempt.encoder or "",
        labels=dict(attempt.labels),
    )
    if attempt.gpu is not None:
        message.gpu_vendor = attempt.gpu.vendor
        message.gpu_model = attempt.gpu.name
        message.gpu_uuid = attempt.gpu.uuid
        message.gpu_index = attempt.gpu.index
        message.gpu_memory_mb = attempt.gpu.memory_mb
        message.gpu_driver = attempt.gpu.driver or ""
    if attempt.fallback:
        message.fallback_to = attempt.encoder or ""
    return message


def attempt_to_pb(attempt: Attempt) -> pb.JobAttempt:
    outcome = attempt.outcome.value if attempt.outcome else "running"
    return pb.JobAttempt(
        attempt=attempt.number,
        attribution=attribution_to_pb(attempt),
        started_at_ms=millis(attempt.started_at),
        finished_at_ms=millis(attempt.ended_at),
        outcome="lease_lost" if outcome == "expired" else outcome,
        error=attempt.error or "",
    )


_OUTCOMES: Mapping[str, AttemptOutcome] = {outcome.value: outcome for outcome in AttemptOutcome}


def attempt_from_pb(message: pb.JobAttempt, job: Job) -> Attempt:
    """An attempt as GetJob sent it."""
    who = message.attribution
    gpu = None
    if who.gpu_model:
        gpu = GpuInfo(
            vendor=who.gpu_vendor,
            name=who.gpu_model,
            uuid=who.gpu_uuid,
            index=who.gpu_index,
            memory_mb=who.gpu_memory_mb,
            driver=who.gpu_driver or None,
        )
    outcome = "expired" if message.outcome == "lease_lost" else message.outcome
    return Attempt(
        job_id=job.id,
        number=message.attempt,
        tenant=job.tenant,
        session_id=who.node_id,
        node_name=who.node_name,
        host=who.host,
        started_at=from_millis(message.started_at_ms) or job.created_at,
        gpu=gpu,
        labels=dict(who.labels),
        encoder=who.encoder or None,
        fallback=bool(who.fallback_to or who.fallback_from),
        ended_at=from_millis(message.finished_at_ms),
        outcome=_OUTCOMES.get(outcome),  # `running` (and anything unknown): not ended
        error=message.error or None,
    )


def details_from_pb(message: pb.Job) -> JobDetails:
    """A GetJob answer: the job with every attempt, oldest first."""
    job = job_from_pb(message)
    return JobDetails(job=job, attempts=tuple(attempt_from_pb(a, job) for a in message.attempts))


def progress_detail_to_pb(detail: JsonObject, message: pb.JobProgress) -> None:
    """`Job.progress_detail` into a JobProgress message (percent is set apart)."""
    message.frames = int(detail.get("frames") or 0)
    message.fps = float(detail.get("fps") or 0.0)
    message.eta_s = float(detail.get("eta_s") or 0.0)
    message.phase = str(detail.get("phase") or "")
    message.encoder = str(detail.get("encoder") or "")


def progress_detail_from_pb(message: pb.JobProgress) -> JsonObject | None:
    """The detail a JobProgress message carries; None when it carries none."""
    detail: JsonObject = {
        "phase": message.phase or None,
        "frames": message.frames or None,
        "fps": message.fps or None,
        "eta_s": message.eta_s or None,
        "encoder": message.encoder or None,
    }
    return {key: value for key, value in detail.items() if value is not None} or None


def job_to_pb(job: Job, attempts: tuple[Attempt, ...] = ()) -> pb.Job:
    """A Job message with the original fields filled as an original client expects."""
    last = attempts[-1] if attempts else None
    score = headline_score(job.result) if job.state is JobState.COMPLETED else None
    message = pb.Job(
        id=job.id,
        status=STATUS[job.state],  # type: ignore[arg-type]
        assigned_node=job.lease.session_id if job.lease else (last.session_id if last else ""),
        error=job.error or "",
        created_at=seconds(job.created_at),
        updated_at=seconds(job.updated_at),
        final_score=score or 0.0,
        kind=job.kind.value,
        queue=job.queue,
        priority=job.priority,
        spec_json=json_codec.encode(job.spec, field="spec"),
        requirements=requirements_to_pb(job.requirements),
        tenant=job.tenant,
        attempt=job.attempt,
        result_json=json_codec.encode(job.result, field="result") if job.result is not None else "",
        pending_reason=job.pending_reason or "",
        parent_id=job.parent_id or "",
        batch_id=job.batch_id or "",
        idempotency_key=job.idempotency_key or "",
        started_at_ms=millis(job.started_at),
        finished_at_ms=millis(job.finished_at),
        attempts=[attempt_to_pb(attempt) for attempt in attempts],
        created_at_ms=millis(job.created_at),
        updated_at_ms=millis(job.updated_at),
        available_at_ms=millis(job.available_at),
        lease_expires_at_ms=millis(job.lease.expires_at) if job.lease else 0,
        lost_leases=job.lost_leases,
    )
    scoring = _scoring(job)
    if scoring is not None:
        message.scoring.CopyFrom(scoring)
    if job.progress is not None:
        message.progress.percent = job.progress * 100.0
    if job.progress_detail:
        progress_detail_to_pb(job.progress_detail, message.progress)
    if last is not None:
        message.attribution.CopyFrom(attribution_to_pb(last))
    elif job.lease is not None:
        message.attribution.node_id = job.lease.session_id
        message.attribution.node_name = job.lease.node_name
    return message


def submitted_to_pb(submitted: Submitted) -> pb.SubmitJobResponse:
    """A submission's answer: the job id (original) and the job as stored."""
    return pb.SubmitJobResponse(
        job_id=submitted.job.id, deduplicated=submitted.deduplicated, job=job_to_pb(submitted.job)
    )


def submitted_from_pb(message: pb.SubmitJobResponse) -> Submitted:
    return Submitted(job_from_pb(message.job), message.deduplicated)


def details_to_pb(details: JobDetails) -> pb.Job:
    return job_to_pb(details.job, details.attempts)


def _time(millis_value: int, whole_seconds: int) -> datetime:
    """A time from its vmafx ms field, or the original whole-seconds one from an older server."""
    return from_millis(millis_value) or datetime.fromtimestamp(whole_seconds, UTC)


def job_from_pb(message: pb.Job) -> Job:
    """A Job as the controller sent it; nothing the message lacks is made up (an older server's
    times have whole seconds, and a lease is read only where its expiry was sent)."""
    created = _time(message.created_at_ms, message.created_at)
    lease = None
    if message.lease_expires_at_ms:
        lease = Lease(
            session_id=message.assigned_node,
            node_name=message.attribution.node_name,
            expires_at=from_millis(message.lease_expires_at_ms) or created,
        )
    spec = json_object(message.spec_json, "spec_json")
    if spec is None:
        spec = _scoring_spec(message.scoring)
    return Job(
        id=message.id,
        tenant=message.tenant,
        kind=parse_kind(message.kind) if message.kind else JobKind.SCORE,
        queue=message.queue or message.kind or JobKind.SCORE.value,
        spec=spec,
        created_at=created,
        updated_at=_time(message.updated_at_ms, message.updated_at),
        available_at=from_millis(message.available_at_ms) or created,
        priority=message.priority,
        requirements=requirements_from_pb(message.requirements, message.scoring.backend),
        state=state_of(message.status),
        attempt=message.attempt,
        lost_leases=message.lost_leases,
        lease=lease,
        progress=message.progress.percent / 100.0 if message.HasField("progress") else None,
        progress_detail=progress_detail_from_pb(message.progress)
        if message.HasField("progress")
        else None,
        result=_result_of(message),
        error=message.error or None,
        pending_reason=message.pending_reason or None,
        started_at=from_millis(message.started_at_ms),
        finished_at=from_millis(message.finished_at_ms),
        parent_id=message.parent_id or None,
        batch_id=message.batch_id or None,
        idempotency_key=message.idempotency_key or None,
    )


def _result_of(message: pb.Job) -> JsonObject | None:
    result = json_object(message.result_json, "result_json")
    if result is None and message.status == pb.COMPLETED and message.final_score:
        result = {"score": message.final_score}
    return result
