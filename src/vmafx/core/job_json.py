"""The one JSON form of a job and its attempts: what the HTTP API answers, what
`vmafx jobs ... --format json` prints and what the MCP tools return, so they agree by
construction (the HTTP API's pydantic models in `controller/http/schemas.py` only describe it
for the OpenAPI document).

A job's fields are listed here once (`job_json`); the protobuf (`api/convert.py`) and SQL
(`store/sql/rows.py`) mappings are the only other places. Spec and result are the documents the
stores keep (`core/json_codec.py`). Timestamps are RFC 3339 in UTC at millisecond precision
(`2025-01-01T12:00:00.250000Z`), the precision every transport carries, so a job read over gRPC
prints the same as one read over HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from vmafx.core.attempts import Attempt
from vmafx.core.jobs import Job, JobKind, JsonObject, Requirements
from vmafx.core.jobsearch import job_files
from vmafx.core.messages import JobDetails
from vmafx.core.retries import retry_of
from vmafx.core.scores import headline_score


def timestamp(at: datetime | None) -> str | None:
    """`at` as RFC 3339 in UTC to the millisecond, written as pydantic writes it (so the HTTP
    API's models give it back unchanged): `…T12:00:00.250000Z`, `…T12:00:00Z`; None stays None."""
    if at is None:
        return None
    utc = at.astimezone(UTC)
    text = utc.replace(microsecond=utc.microsecond // 1000 * 1000).isoformat()
    return text.removesuffix("+00:00") + "Z"


def where(job: Job, attempts: Sequence[Attempt] = ()) -> str | None:
    """`host / GPU` of the last attempt (`zampp2 / L4`); the node's name when that is all."""
    if attempts:
        return attempts[-1].where
    return job.lease.node_name if job.lease else None


def score_of(job: Job) -> float | None:
    """A score job's headline VMAF; an encode job's VMAF after encoding (`--score-after`); a
    tune job's chosen encode's VMAF."""
    if job.kind is JobKind.SCORE:
        return headline_score(job.result)
    if job.kind is JobKind.TUNE:  # the chosen encode's VMAF
        vmaf = (job.result or {}).get("vmaf")
        return float(vmaf) if isinstance(vmaf, int | float) else None
    after = (job.result or {}).get("score_after")
    vmaf = after.get("vmaf") if isinstance(after, dict) else None
    return float(vmaf) if isinstance(vmaf, int | float) else None


def requirements_json(req: Requirements) -> JsonObject:
    return {
        "backend": req.backend,
        "gpu_vendor": req.gpu_vendor,
        "encoder": req.encoder,
        "min_gpu_memory_mb": req.min_gpu_memory_mb,
        "labels": dict(req.labels),
    }


def attempt_json(attempt: Attempt) -> JsonObject:
    return {
        "number": attempt.number,
        "node_id": attempt.session_id,
        "node_name": attempt.node_name,
        "host": attempt.host,
        "where": attempt.where,
        "gpu": attempt.gpu.to_json() if attempt.gpu else None,
        "labels": dict(attempt.labels),
        "encoder": attempt.encoder,
        "fallback": attempt.fallback,
        "started_at": timestamp(attempt.started_at),
        "ended_at": timestamp(attempt.ended_at),
        "outcome": attempt.outcome.value if attempt.outcome else None,
        "error": attempt.error,
    }


def job_json(job: Job, attempts: Sequence[Attempt] | None = None) -> JsonObject:
    """The job as one JSON object; with `attempts` (oldest first) also `attempts`."""
    lease = job.lease
    inputs, outputs = job_files(job.spec)
    body: dict[str, Any] = {
        "id": job.id,
        "tenant": job.tenant,
        "kind": job.kind.value,
        "queue": job.queue,
        "priority": job.priority,
        "state": job.state.value,
        "spec": dict(job.spec),
        "requirements": requirements_json(job.requirements),
        "attempt": job.attempt,
        "lost_leases": job.lost_leases,
        "lease": {
            "node_id": lease.session_id,
            "node_name": lease.node_name,
            "expires_at": timestamp(lease.expires_at),
        }
        if lease
        else None,
        "where": where(job, attempts or ()),
        "progress": job.progress,
        "progress_detail": dict(job.progress_detail) if job.progress_detail else None,
        "score": score_of(job),
        "result": job.result,
        "error": job.error,
        "pending_reason": job.pending_reason,
        "created_at": timestamp(job.created_at),
        "updated_at": timestamp(job.updated_at),
        "started_at": timestamp(job.started_at),
        "finished_at": timestamp(job.finished_at),
        "parent_id": job.parent_id,
        "batch_id": job.batch_id,
        "idempotency_key": job.idempotency_key,
        "inputs": list(inputs),
        "outputs": list(outputs),
        "retry_of": retry_of(job),
    }
    if attempts is not None:
        body["attempts"] = [attempt_json(attempt) for attempt in attempts]
    return body


def details_json(details: JobDetails) -> JsonObject:
    """A job with every attempt so far."""
    return job_json(details.job, details.attempts)
