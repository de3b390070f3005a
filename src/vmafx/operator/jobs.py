"""VmafxJob ↔ controller job: the request an object's spec asks for, and the status to mirror.

The object's `metadata.uid` is the idempotency key: submitting the same object again (the
operator restarted before it wrote `.status.jobId`, or the object was restored with its uid)
returns the same job. Pure functions plus three small coroutines over the ControllerClient port.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vmafx.client.port import ControllerClient
from vmafx.core.jobs import Requirements, parse_kind
from vmafx.core.messages import JobDetails, JobRequest
from vmafx.core.scores import headline_score
from vmafx.errors import NotFoundError, UsageError

#: Status fields of a job that is not (or no longer) known to the controller.
_BLANK = {"score": None, "host": None, "gpu": None, "pendingReason": None, "error": None}


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
    job_spec = spec.get("spec") or {}
    if not isinstance(job_spec, Mapping):
        raise UsageError("spec.spec must be an object (the job's own spec).")
    priority = spec.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise UsageError(f"spec.priority must be an integer, got {priority!r}.")
    return JobRequest(
        kind=parse_kind(kind),
        spec=dict(job_spec),
        queue=spec.get("queue") or None,
        priority=priority,
        requirements=_requirements(spec.get("requirements")),
        idempotency_key=uid,
    )


def status_of(details: JobDetails) -> dict[str, Any]:
    """`.status` of a VmafxJob whose job the controller describes as `details`."""
    job, last = details.job, details.last_attempt
    return {
        "jobId": job.id,
        "state": job.state.value,
        "score": headline_score(job.result),
        "host": (last.host or last.node_name) if last else None,
        "gpu": last.gpu.name if last and last.gpu else None,
        "attempts": len(details.attempts),
        "pendingReason": job.pending_reason,
        "error": job.error,
        "progress": job.progress,
    }


async def submit(client: ControllerClient, spec: Mapping[str, Any], uid: str) -> dict[str, Any]:
    """Submit (or find again, by uid) the object's job; its status fields."""
    submitted = await client.submit_job(request_of(spec, uid))
    details = await client.get_job(submitted.job.id)
    return {**status_of(details), "deduplicated": submitted.deduplicated, "message": None}


async def refresh(client: ControllerClient, job_id: str) -> dict[str, Any]:
    """The status fields of job `job_id` now; a job the controller forgot says so."""
    try:
        return status_of(await client.get_job(job_id))
    except NotFoundError:
        return {**_BLANK, "state": "unknown", "message": f"the controller has no job {job_id}"}


async def cancel(client: ControllerClient, status: Mapping[str, Any], name: str) -> str | None:
    """Cancel the object's job unless it has none or it finished; the controller's answer."""
    job_id = status.get("jobId")
    if not job_id or status.get("state") in ("completed", "failed", "cancelled"):
        return None
    try:
        return await client.cancel_job(job_id, reason=f"VmafxJob {name} was deleted")
    except NotFoundError:
        return None
