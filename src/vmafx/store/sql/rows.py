"""Mapping between table rows and core values (kept out of the domain objects)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import RowMapping

from vmafx.core.attempts import Attempt, AttemptOutcome
from vmafx.core.events import EventType, JobEvent
from vmafx.core.jobs import Job, JobKind, JobState, Lease, Requirements
from vmafx.core.jobsearch import files_text
from vmafx.core.nodes import GpuInfo, NodeCapabilities, NodeSession
from vmafx.core.tokens import ApiToken, Role
from vmafx.store.port import TuneProbe


def job_values(job: Job) -> dict[str, Any]:
    return {**_job_columns(job), "spec": job.spec, "files": files_text(job.spec)}


def changed_job_values(job: Job, before: Job) -> dict[str, Any]:
    """The columns of `job_values` whose values differ from `before`'s, and the id: what a
    report changes, without re-sending (and the database re-parsing) the spec."""
    old = _job_columns(before)
    values = {key: value for key, value in _job_columns(job).items() if old[key] != value}
    if job.spec != before.spec:
        values.update(spec=job.spec, files=files_text(job.spec))
    values["id"] = job.id
    return values


def _job_columns(job: Job) -> dict[str, Any]:
    """Every column but the spec and the file list built from it."""
    req, lease = job.requirements, job.lease
    return {
        "id": job.id,
        "tenant": job.tenant,
        "kind": job.kind.value,
        "queue": job.queue,
        "priority": job.priority,
        "req_backend": req.backend,
        "req_gpu_vendor": req.gpu_vendor,
        "req_encoder": req.encoder,
        "req_min_gpu_memory_mb": req.min_gpu_memory_mb,
        "req_labels": dict(req.labels),
        "state": job.state.value,
        "attempt": job.attempt,
        "lost_leases": job.lost_leases,
        "available_at": job.available_at,
        "lease_session": lease.session_id if lease else None,
        "lease_node": lease.node_name if lease else None,
        "lease_expires_at": lease.expires_at if lease else None,
        "progress": job.progress,
        "progress_detail": job.progress_detail,
        "result": job.result,
        "error": job.error,
        "pending_reason": job.pending_reason,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "parent_id": job.parent_id,
        "batch_id": job.batch_id,
        "idempotency_key": job.idempotency_key,
    }


def claim_values(job: Job) -> dict[str, Any]:
    """`statements.UPDATE_JOB` parameters for what `lifecycle.claimed` changes (not the spec)."""
    lease = job.lease
    assert lease is not None, f"job {job.id} is not claimed"
    return {
        "_id": job.id,
        "state": job.state.value,
        "attempt": job.attempt,
        "lease_session": lease.session_id,
        "lease_node": lease.node_name,
        "lease_expires_at": lease.expires_at,
        "progress": job.progress,
        "progress_detail": job.progress_detail,
        "pending_reason": job.pending_reason,
        "updated_at": job.updated_at,
        "started_at": job.started_at,
    }


def cancel_values(job: Job) -> dict[str, Any]:
    """`statements.UPDATE_JOB` parameters for what `lifecycle.cancelled` changes."""
    return {
        "_id": job.id,
        "state": job.state.value,
        "lease_session": None,
        "lease_node": None,
        "lease_expires_at": None,
        "error": job.error,
        "updated_at": job.updated_at,
        "finished_at": job.finished_at,
    }


def job_from_row(row: RowMapping) -> Job:
    lease = None
    if row["lease_session"] is not None:
        lease = Lease(
            session_id=row["lease_session"],
            node_name=row["lease_node"] or "",
            expires_at=row["lease_expires_at"],
        )
    return Job(
        id=row["id"],
        tenant=row["tenant"],
        kind=JobKind(row["kind"]),
        queue=row["queue"],
        priority=row["priority"],
        spec=row["spec"],
        requirements=Requirements(
            backend=row["req_backend"],
            gpu_vendor=row["req_gpu_vendor"],
            encoder=row["req_encoder"],
            min_gpu_memory_mb=row["req_min_gpu_memory_mb"],
            labels=row["req_labels"],
        ),
        state=JobState(row["state"]),
        attempt=row["attempt"],
        lost_leases=row["lost_leases"],
        available_at=row["available_at"],
        lease=lease,
        progress=row["progress"],
        progress_detail=row["progress_detail"],
        result=row["result"],
        error=row["error"],
        pending_reason=row["pending_reason"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        parent_id=row["parent_id"],
        batch_id=row["batch_id"],
        idempotency_key=row["idempotency_key"],
    )


def attempt_values(attempt: Attempt) -> dict[str, Any]:
    return {
        "job_id": attempt.job_id,
        "number": attempt.number,
        "tenant": attempt.tenant,
        "session_id": attempt.session_id,
        "node_name": attempt.node_name,
        "host": attempt.host,
        "gpu": attempt.gpu.to_json() if attempt.gpu else None,
        "labels": dict(attempt.labels),
        "encoder": attempt.encoder,
        "fallback": attempt.fallback,
        "started_at": attempt.started_at,
        "ended_at": attempt.ended_at,
        "outcome": attempt.outcome.value if attempt.outcome else None,
        "error": attempt.error,
    }


def attempt_from_row(row: Mapping[Any, Any]) -> Attempt:
    return Attempt(
        job_id=row["job_id"],
        number=row["number"],
        tenant=row["tenant"],
        session_id=row["session_id"],
        node_name=row["node_name"],
        host=row["host"],
        gpu=GpuInfo.from_json(row["gpu"]) if row["gpu"] else None,
        labels=row["labels"],
        encoder=row["encoder"],
        fallback=row["fallback"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        outcome=AttemptOutcome(row["outcome"]) if row["outcome"] else None,
        error=row["error"],
    )


def session_values(session: NodeSession) -> dict[str, Any]:
    return {
        "id": session.id,
        "tenant": session.tenant,
        "name": session.name,
        "capabilities": session.capabilities.to_json(),
        "token_sha256": session.token_sha256,
        "created_at": session.created_at,
        "last_seen_at": session.last_seen_at,
        "expires_at": session.expires_at,
    }


def session_from_row(row: RowMapping) -> NodeSession:
    return NodeSession(
        id=row["id"],
        tenant=row["tenant"],
        name=row["name"],
        capabilities=NodeCapabilities.from_json(row["capabilities"]),
        token_sha256=row["token_sha256"],
        created_at=row["created_at"],
        last_seen_at=row["last_seen_at"],
        expires_at=row["expires_at"],
    )


def event_from_row(row: RowMapping) -> JobEvent:
    return JobEvent(
        seq=row["seq"],
        job_id=row["job_id"],
        tenant=row["tenant"],
        at=row["at"],
        type=EventType(row["type"]),
        data=row["data"],
    )


def token_values(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "tenant": token.tenant,
        "name": token.name,
        "role": token.role.value,
        "token_sha256": token.token_sha256,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
    }


def token_from_row(row: RowMapping) -> ApiToken:
    return ApiToken(
        id=row["id"],
        tenant=row["tenant"],
        name=row["name"],
        role=Role(row["role"]),
        token_sha256=row["token_sha256"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
    )


def tune_probe_row(tenant: str, probe: TuneProbe) -> dict[str, Any]:
    return {
        "tenant": tenant,
        "key": probe.key,
        "job_id": probe.job_id,
        "result": probe.result,
        "node": probe.node,
        "where": probe.where,
        "gpu": probe.gpu,
        "created_at": probe.created_at,
    }


def tune_probe_from_row(row: RowMapping) -> TuneProbe:
    return TuneProbe(
        key=row["key"],
        job_id=row["job_id"],
        result=dict(row["result"]),
        node=row["node"],
        where=row["where"],
        gpu=row["gpu"],
        created_at=row["created_at"],
    )
