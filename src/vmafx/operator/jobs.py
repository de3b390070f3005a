"""VmafxJob ↔ controller job: the request an object's spec asks for, and the status to mirror.

The object's `metadata.uid` is the idempotency key: submitting the same object again (the
operator restarted before it wrote `.status.controllerJobId`, or the object was restored with
its uid) returns the same job. Pure functions plus three small coroutines over the
ControllerClient port.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from vmafx.client.port import ControllerClient
from vmafx.core.jobs import Requirements, parse_kind
from vmafx.core.messages import JobDetails, JobRequest
from vmafx.core.scores import headline_score
from vmafx.errors import NotFoundError, UsageError
from vmafx.operator.fields import FINAL_PHASES, JOB_PHASES


def _requirements(raw: Any) -> Requirements:
    if raw is None:
        return Requirements()
    if not isinstance(raw, Mapping):
        raise UsageError(
            "spec.requirements must be an object.", hint='E.g. {"gpuVendor": "nvidia"}.'
        )
    memory = raw.get("minGpuMemoryMb")
    return Requirements(
        backend=raw.get("backend"),
        gpu_vendor=raw.get("gpuVendor"),
        encoder=raw.get("encoder"),
        min_gpu_memory_mb=int(memory) if memory is not None else None,
        labels=dict(raw.get("labels") or {}),
    )


def request_of(spec: Mapping[str, Any], uid: str) -> JobRequest:
    """The job a VmafxJob's `.spec` asks for, keyed by the object's uid; UsageError if malformed."""
    kind = spec.get("kind")
    if not isinstance(kind, str) or not kind:
        raise UsageError("spec.kind is missing.", hint="Set spec.kind, e.g. `kind: score`.")
    job_spec = spec.get("job") or {}
    if not isinstance(job_spec, Mapping):
        raise UsageError("spec.job must be an object (the kind's spec as POST /v1/jobs takes it).")
    priority = spec.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise UsageError(f"spec.priority must be an integer, got {priority!r}.")
    requirements = _requirements(spec.get("requirements"))
    return JobRequest.parse(
        kind=parse_kind(kind),
        spec=dict(job_spec),
        queue=spec.get("queue") or None,
        priority=priority,
        requirements=requirements,
        idempotency_key=uid,
    )


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def status_of(details: JobDetails) -> dict[str, Any]:
    """`.status` of a VmafxJob whose job the controller describes as `details`: `message` says
    why a pending job waits or why a failed one failed."""
    job, last = details.job, details.last_attempt
    return {
        "phase": JOB_PHASES[job.state.value],
        "controllerJobId": job.id,
        "state": job.state.value,
        "attempt": len(details.attempts),
        "score": headline_score(job.result),
        "host": (last.host or last.node_name) if last else None,
        "gpu": last.gpu.name if last and last.gpu else None,
        "message": job.error or job.pending_reason,
        "submittedAt": _time(job.created_at),
        "startedAt": _time(job.started_at),
        "finishedAt": _time(job.finished_at),
    }


async def submit(client: ControllerClient, spec: Mapping[str, Any], uid: str) -> dict[str, Any]:
    """Submit (or find again, by uid) the object's job; its status fields."""
    submitted = await client.submit_job(request_of(spec, uid))
    status = status_of(await client.get_job(submitted.job.id))
    if submitted.deduplicated and not status["message"]:
        status["message"] = f"already submitted as job {submitted.job.id} (same uid)"
    return status


async def refresh(client: ControllerClient, job_id: str) -> dict[str, Any]:
    """The status fields of job `job_id` now; a job the controller forgot says so (and is
    final: nothing will ever change it)."""
    try:
        return status_of(await client.get_job(job_id))
    except NotFoundError:
        message = f"the controller has no job {job_id} (pruned, or a new store)"
        return {"phase": "Failed", "state": "unknown", "message": message}


async def cancel(client: ControllerClient, status: Mapping[str, Any], name: str) -> str | None:
    """Cancel the object's job unless it has none or it finished; the controller's answer."""
    job_id = status.get("controllerJobId")
    if not job_id or status.get("phase") in FINAL_PHASES:
        return None
    try:
        return await client.cancel_job(job_id, reason=f"VmafxJob {name} was deleted")
    except NotFoundError:
        return None
