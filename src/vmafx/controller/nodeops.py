"""The longer node-side verbs of `ControllerService`, kept apart so each module stays small.

Each function takes the service (after it checked the caller) and does one verb's work.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from vmafx.controller import listing
from vmafx.controller.sessions import unknown_session
from vmafx.core.jobs import Job, JobState, JsonObject
from vmafx.core.messages import (
    DrainResult,
    HeartbeatAnswer,
    JobRef,
    NodeReport,
    NodeState,
    NodeView,
    ReportOutcome,
    RunningJob,
)
from vmafx.errors import ConflictError, NotFoundError, UsageError, VmafxError

if TYPE_CHECKING:
    from vmafx.controller.auth import Principal
    from vmafx.controller.service import ControllerService

log = logging.getLogger(__name__)

MAX_NAME = 255


def check_node_name(name: str) -> None:
    if not name or len(name) > MAX_NAME or any(ord(char) < 32 for char in name):
        raise UsageError(
            f"node name {name!r} is not valid.",
            hint=f"Use 1-{MAX_NAME} printable characters, e.g. the hostname or pod name.",
        )


async def heartbeat(
    service: ControllerService,
    principal: Principal,
    node_id: str,
    token: str,
    running: Sequence[RunningJob],
    draining: bool,
) -> HeartbeatAnswer:
    try:
        await service.check_node(principal, node_id, token)
        now = service.clock.now()
        job_ids = [item.job_id for item in running] if running else None
        renewal = await service.store.renew_leases(node_id, now=now, job_ids=job_ids)
    except NotFoundError:
        return HeartbeatAnswer(ok=False, session_unknown=True)
    renewed = set(renewal.renewed)
    for item in running:
        if item.job_id in renewed and item.attempt and item.progress is not None:
            await _record_progress(service, node_id, item)
    if draining != (node_id in service.sessions.draining()):
        service.sessions.set_stopping(node_id, draining)
        service.mark_nodes_changed()
    return HeartbeatAnswer(
        ok=True,
        cancel_job_ids=tuple(renewal.cancel),
        drain=service.sessions.drain_requested(node_id),
    )


def _fraction(value: float | None) -> float | None:
    if value is not None and (not math.isfinite(value) or not 0.0 <= value <= 1.0):
        raise UsageError(f"progress must be a fraction in [0, 1], got {value}.")
    return value


async def _record_progress(service: ControllerService, node_id: str, item: RunningJob) -> None:
    partial: JsonObject = {
        key: value
        for key, value in (("frames", item.frames), ("fps", item.fps), ("eta_s", item.eta_s))
        if value is not None
    }
    progress = _fraction(item.progress)
    with contextlib.suppress(ConflictError, NotFoundError):
        job = await service.store.report_progress(
            item.job_id,
            attempt=item.attempt,
            session_id=node_id,
            now=service.clock.now(),
            progress=progress,
            partial=partial or None,
        )
        service.publish([job])


def build_result(report: NodeReport) -> JsonObject:
    """The stored result of a final report: the node's JSON, or an original node's score."""
    if report.result is not None:
        result = dict(report.result)
        if report.score:
            result.setdefault("score", report.score)
        return result
    result = {"score": report.score if report.score is not None else 0.0}
    if report.features:
        result["features"] = dict(report.features)
    if report.partial_scores:
        result["partial_scores"] = list(report.partial_scores)
    return result


async def report(
    service: ControllerService, principal: Principal, node_id: str, report: NodeReport
) -> ReportOutcome:
    store, now = service.store, service.clock.now()
    attempt = report.attempt
    if attempt <= 0:  # an original node: the job's current attempt, if the job is ours
        attempt = (await store.get_job(report.job_id, tenant=principal.tenant)).attempt
    if not report.final:
        partial: JsonObject = {}
        if report.partial_scores:
            partial["partial_scores"] = list(report.partial_scores)
        job = await store.report_progress(
            report.job_id,
            attempt=attempt,
            session_id=node_id,
            now=now,
            progress=_fraction(report.progress),
            partial=partial or None,
        )
        service.publish([job])
        return ReportOutcome(job=job, applied=True)
    if report.error:
        job = await store.fail_job(
            report.job_id,
            attempt=attempt,
            session_id=node_id,
            now=now,
            error=report.error,
            attribution=report.attribution,
        )
    else:
        job = await store.complete_job(
            report.job_id,
            attempt=attempt,
            session_id=node_id,
            now=now,
            result=build_result(report),
            attribution=report.attribution,
        )
    return _outcome(service, job, now)


def _outcome(service: ControllerService, job: Job, now: datetime) -> ReportOutcome:
    if job.state is JobState.CANCELLED:
        return ReportOutcome(
            job=job, applied=False, message="the job was cancelled; result dropped"
        )
    if job.finished_at != now:
        return ReportOutcome(
            job=job, applied=False, message=f"already reported: job is {job.state}"
        )
    service.metrics.finished(job)
    service.publish([job])
    service.work.notify(1)  # a slot freed on the node
    return ReportOutcome(job=job, applied=True)


async def release(
    service: ControllerService,
    node_id: str,
    jobs: Sequence[JobRef],
    reason: str,
    end_session: bool,
) -> list[str]:
    now = service.clock.now()
    released: list[Job] = []
    for ref in jobs:
        try:
            job = await service.store.release_job(
                ref.job_id, attempt=ref.attempt, session_id=node_id, now=now, reason=reason
            )
        except (ConflictError, NotFoundError) as error:
            log.debug("release skipped", extra={"job_id": ref.job_id, "error": str(error)})
            continue
        if job.state is JobState.PENDING and job.updated_at == now:
            released.append(job)
    if end_session:
        released += await service.store.forget_node(node_id, now=now)
        service.sessions.forget([node_id])
        service.mark_nodes_changed()
    _requeued(service, released, "released")
    return [job.id for job in released]


def _requeued(service: ControllerService, jobs: Sequence[Job], reason: str) -> None:
    if jobs:
        service.metrics.requeued(reason, len(jobs))
        service.publish(jobs)
        service.work.notify(len(jobs))


async def list_nodes(
    service: ControllerService, tenant: str, include_offline: bool
) -> list[NodeView]:
    now = service.clock.now()
    sessions = await service.store.list_nodes(
        tenant=tenant, live_at=None if include_offline else now
    )
    draining = service.sessions.draining()
    views: list[NodeView] = []
    for session in sessions:
        held = await listing.running_jobs(service.store, tenant, session.id)
        state = NodeState.LIVE
        if not session.is_live(now):
            state = NodeState.OFFLINE
        elif session.id in draining:
            state = NodeState.DRAINING
        views.append(
            NodeView(
                session=session,
                state=state,
                running_job_ids=tuple(sorted(job.id for job in held)),
                slots_in_use=dict(Counter(job.queue for job in held)),
            )
        )
    return views


async def drain(
    service: ControllerService, tenant: str, node_id: str, release_jobs: bool
) -> DrainResult:
    try:
        session = await service.store.get_node(node_id, tenant=tenant)
    except NotFoundError:
        raise unknown_session(node_id) from None
    service.sessions.request_drain(node_id)
    service.mark_nodes_changed()
    released: list[Job] = []
    if release_jobs:
        now = service.clock.now()
        reason = f"node {session.name} drained by an operator"
        for job in await listing.running_jobs(service.store, tenant, node_id):
            with contextlib.suppress(ConflictError, NotFoundError):
                back = await service.store.release_job(
                    job.id, attempt=job.attempt, session_id=node_id, now=now, reason=reason
                )
                if back.state is JobState.PENDING:
                    released.append(back)
    _requeued(service, released, "drained")
    log.info("node drained", extra={"node_id": node_id, "released": len(released)})
    return DrainResult(ok=True, released_job_ids=tuple(job.id for job in released))


async def expire(service: ControllerService) -> list[Job]:
    now = service.clock.now()
    changed: list[Job] = []
    try:
        changed = await service.store.expire_leases(now=now)
        gone = await service.store.expire_nodes(now=now)
    except VmafxError as error:
        log.warning("sweep failed: %s", error)
        return changed
    requeued = [job for job in changed if job.state is JobState.PENDING]
    for job in changed:
        if job.state is JobState.FAILED:
            service.metrics.finished(job)
    service.publish(changed)
    if requeued:
        service.metrics.requeued("lease_expired", len(requeued))
        service.work.notify(len(requeued))
    if gone:
        service.sessions.forget(gone)
        service.mark_nodes_changed()
        log.info("node sessions expired", extra={"node_ids": gone})
    return changed
