"""Conversions between the HTTP API's JSON shapes (`schemas`) and core values.

A job's JSON comes from the one codec (`vmafx.core.job_json`), the same the CLI's
`--format json` prints; the pydantic models only describe it for the OpenAPI document (and
parse each value back to itself).

Decoding parses each job's spec into its kind's typed spec (`vmafx.core.specs`), once: a
well-formed request whose spec is wrong answers 422 (InvalidSpecError) rather than the 400 of a
malformed request, and the service takes the typed spec as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vmafx.ai.registry import Registry
from vmafx.controller.http.errors import InvalidSpecError
from vmafx.controller.http.schemas import (
    BatchItemOut,
    BatchOut,
    EventOut,
    FiguresOut,
    GpuOut,
    GpuUsageOut,
    JobDetailOut,
    JobIn,
    JobOut,
    ModelListOut,
    ModelVersionOut,
    NodeOut,
    RequirementsModel,
    SubmittedOut,
)
from vmafx.core.events import JobEvent
from vmafx.core.job_json import details_json, job_json
from vmafx.core.jobs import Job, Requirements
from vmafx.core.messages import JobDetails, JobRequest, NodeView, Submitted
from vmafx.core.nodes import GpuInfo
from vmafx.core.specs import parse_spec
from vmafx.errors import UsageError


# --- requests -----------------------------------------------------------------------------------
def job_request(body: JobIn, where: str | None = None) -> JobRequest:
    """`where` names the job in a batch (`jobs[3]`) in a spec error."""
    try:
        spec = parse_spec(body.kind, body.spec)
    except UsageError as error:
        message = f"{where}: {error.message}" if where else error.message
        raise InvalidSpecError(message, hint=error.hint) from None
    req = body.requirements or RequirementsModel()
    return JobRequest(
        spec=spec,
        queue=body.queue,
        priority=body.priority,
        requirements=Requirements(
            backend=req.backend,
            gpu_vendor=req.gpu_vendor,
            encoder=req.encoder,
            min_gpu_memory_mb=req.min_gpu_memory_mb,
            labels=dict(req.labels),
        ),
        parent_id=body.parent_id,
        batch_id=body.batch_id,
        idempotency_key=body.idempotency_key,
    )


def job_requests(bodies: Sequence[JobIn]) -> list[JobRequest]:
    return [job_request(body, f"jobs[{index}]") for index, body in enumerate(bodies)]


# --- responses ----------------------------------------------------------------------------------
def job_out(job: Job) -> JobOut:
    return JobOut.model_validate(job_json(job))


def submitted_out(done: Submitted) -> SubmittedOut:
    return SubmittedOut.model_validate({**job_json(done.job), "deduplicated": done.deduplicated})


def batch_out(done: Sequence[Submitted], batch_id: str | None) -> BatchOut:
    items = [
        BatchItemOut(id=item.job.id, state=item.job.state, deduplicated=item.deduplicated)
        for item in done
    ]
    return BatchOut(batch_id=batch_id, jobs=items)


def gpu_out(gpu: GpuInfo) -> GpuOut:
    return GpuOut.model_validate(gpu.to_json())


def details_out(details: JobDetails) -> JobDetailOut:
    return JobDetailOut.model_validate(details_json(details))


def node_out(view: NodeView) -> NodeOut:
    session, caps = view.session, view.session.capabilities
    return NodeOut(
        id=session.id,
        name=session.name,
        state=view.state,
        host=caps.host,
        backends=list(caps.backends),
        gpu_vendor=caps.gpu_vendor,
        gpus=[gpu_out(gpu) for gpu in caps.gpus],
        encoders=list(caps.encoders),
        queues=list(caps.queues),
        slots=caps.slots,
        concurrency=dict(caps.concurrency),
        labels=dict(caps.labels),
        running_job_ids=list(view.running_job_ids),
        slots_in_use=dict(view.slots_in_use),
        created_at=session.created_at,
        last_seen_at=session.last_seen_at,
        expires_at=session.expires_at,
        drain_requested=view.drain_requested,
        gpu_usage=[GpuUsageOut(**usage.to_json()) for usage in view.gpu_usage],
        gpu_usage_at=view.gpu_usage_at,
    )


def event_out(event: JobEvent) -> EventOut:
    return EventOut(
        seq=event.seq, job_id=event.job_id, at=event.at, type=event.type, data=event.data
    )


def models_out(registry: Registry | None, directory: Path) -> ModelListOut:
    """The registry newest first, with the version `latest-stable` serves; none: a note."""
    if registry is None:
        return ModelListOut(
            policy="latest-stable",
            served_version=None,
            versions=[],
            note=f"No trainer has published a model yet: there is no registry.json in "
            f"{directory} (the controller's --model-dir).",
        )
    served = registry.stable()
    versions = [
        ModelVersionOut(
            version=v.version,
            status=v.status.value,
            figures=FiguresOut.model_validate(v.figures.as_dict()) if v.figures else None,
            samples=v.samples,
            step=v.step,
            created_at=v.created_at or None,
            sha256=v.sha256,
            reason=v.reason,
        )
        for v in sorted(registry.versions, key=lambda v: v.version, reverse=True)
    ]
    return ModelListOut(
        policy="latest-stable",
        served_version=served.version if served else None,
        versions=versions,
    )
