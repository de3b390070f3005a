"""What the controller does for nodes once the service has checked the caller: heartbeats and
their progress, reports, releases, listing and draining nodes, and expiring leases.

Each verb works on a `NodeDesk`: the store and clock, the batcher of heartbeats' renewals, the
live node sessions, metrics, and the signals the service listens to (job changes, new work,
node changes). The desk knows nothing of `ControllerService`, which builds one and calls in
(no import cycle).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from vmafx.controller import listing
from vmafx.controller.events import JobBus
from vmafx.controller.observing import JobMetrics
from vmafx.controller.renewals import RenewalBatcher
from vmafx.controller.sessions import NodeSessions, unknown_session
from vmafx.controller.work import WorkSignal
from vmafx.core import frames
from vmafx.core.clock import Clock
from vmafx.core.gpuusage import MAX_GPUS, GpuUsage
from vmafx.core.jobs import Job, JobState, JsonObject
from vmafx.core.messages import (
    ConcurrencyResult,
    DrainResult,
    HeartbeatAnswer,
    JobRef,
    NodeReport,
    NodeState,
    NodeView,
    ReportOutcome,
    ResumeResult,
    RunningJob,
)
from vmafx.core.nodes import NodeCapabilities
from vmafx.errors import ConflictError, NotFoundError, UsageError, VmafxError
from vmafx.store.port import JobStore

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class NodeDesk:
    store: JobStore
    clock: Clock
    #: Heartbeats' lease renewals, many to a store transaction.
    renewals: RenewalBatcher
    sessions: NodeSessions
    metrics: JobMetrics
    bus: JobBus
    work: WorkSignal
    #: Called when a node registered, left or drained (pending reasons need a refresh).
    nodes_changed: Callable[[], None]

    def publish(self, jobs: Sequence[Job]) -> None:
        self.bus.publish(jobs)


MAX_NAME = 255
#: As `vmafx.node.settings` checks them on the node.
QUEUE_NAME = re.compile(r"[a-z][a-z0-9_-]{0,63}")
MAX_SLOTS = 64


def check_node_name(name: str) -> None:
    if not name or len(name) > MAX_NAME or any(ord(char) < 32 for char in name):
        raise UsageError(
            f"node name {name!r} is not valid.",
            hint=f"Use 1-{MAX_NAME} printable characters, e.g. the hostname or pod name.",
        )


async def heartbeat(
    desk: NodeDesk,
    node_id: str,
    running: Sequence[RunningJob],
    draining: bool,
    gpu_usage: Sequence[GpuUsage] = (),
) -> HeartbeatAnswer:
    try:
        now = desk.clock.now()
        job_ids = [item.job_id for item in running] if running else None
        renewal = await desk.renewals.renew(node_id, job_ids=job_ids)
    except NotFoundError:
        return HeartbeatAnswer(ok=False, session_unknown=True)
    renewed = set(renewal.renewed)
    for item in running:
        if item.job_id in renewed and item.attempt and item.progress is not None:
            await _record_progress(desk, node_id, item)
    if draining != (node_id in desk.sessions.draining()):
        desk.sessions.set_stopping(node_id, draining)
        desk.nodes_changed()
    if gpu_usage:
        usage = tuple(item.checked() for item in gpu_usage[:MAX_GPUS])
        desk.sessions.record_gpu_usage(node_id, usage, now)
    override = desk.sessions.overridden(node_id)
    return HeartbeatAnswer(
        ok=True,
        cancel_job_ids=tuple(renewal.cancel),
        drain=desk.sessions.drain_requested(node_id),
        concurrency=dict(override.concurrency) if override is not None else None,
    )


def _fraction(value: float | None) -> float | None:
    if value is not None and (not math.isfinite(value) or not 0.0 <= value <= 1.0):
        raise UsageError(f"progress must be a fraction in [0, 1], got {value}.")
    return value


async def _record_progress(desk: NodeDesk, node_id: str, item: RunningJob) -> None:
    partial: JsonObject = {
        key: value
        for key, value in (
            ("phase", item.phase),
            ("frames", item.frames),
            ("fps", item.fps),
            ("eta_s", item.eta_s),
            ("encoder", item.encoder),
        )
        if value is not None
    }
    progress = _fraction(item.progress)
    with contextlib.suppress(ConflictError, NotFoundError):
        job = await desk.store.report_progress(
            item.job_id,
            attempt=item.attempt,
            session_id=node_id,
            now=desk.clock.now(),
            progress=progress,
            partial=partial or None,
        )
        desk.publish([job])


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


async def report(desk: NodeDesk, tenant: str, node_id: str, report: NodeReport) -> ReportOutcome:
    store, now = desk.store, desk.clock.now()
    attempt = report.attempt
    if attempt <= 0:  # an original node: the job's current attempt, if the job is ours
        attempt = (await store.get_job(report.job_id, tenant=tenant)).attempt
    if not report.final:  # an original node's partial result (vmafx nodes send heartbeats)
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
        desk.publish([job])
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
        result = build_result(report)
        shipped = frames.take(result)  # the full per-frame series stay out of the job row
        job = await store.complete_job(
            report.job_id,
            attempt=attempt,
            session_id=node_id,
            now=now,
            result=result,
            attribution=report.attribution,
        )
        if shipped and job.state is JobState.COMPLETED and job.finished_at == now:
            await store.save_frames(job.id, shipped)
    return _outcome(desk, job, now)


def _outcome(desk: NodeDesk, job: Job, now: datetime) -> ReportOutcome:
    if job.state is JobState.CANCELLED:
        return ReportOutcome(
            job=job, applied=False, message="the job was cancelled; result dropped"
        )
    if job.finished_at != now:
        return ReportOutcome(
            job=job, applied=False, message=f"already reported: job is {job.state}"
        )
    desk.metrics.finished(job)
    desk.publish([job])
    desk.work.notify(1, queue=job.queue)  # a slot of that queue freed on the node
    return ReportOutcome(job=job, applied=True)


async def release(
    desk: NodeDesk,
    node_id: str,
    jobs: Sequence[JobRef],
    reason: str,
    end_session: bool,
) -> list[str]:
    now = desk.clock.now()
    released: list[Job] = []
    for ref in jobs:
        try:
            job = await desk.store.release_job(
                ref.job_id, attempt=ref.attempt, session_id=node_id, now=now, reason=reason
            )
        except (ConflictError, NotFoundError) as error:
            log.debug("release skipped", extra={"job_id": ref.job_id, "error": str(error)})
            continue
        if job.state is JobState.PENDING and job.updated_at == now:
            released.append(job)
    if end_session:
        released += await desk.store.forget_node(node_id, now=now)
        desk.sessions.forget([node_id])
        desk.nodes_changed()
    _requeued(desk, released, "released")
    return [job.id for job in released]


def _requeued(desk: NodeDesk, jobs: Sequence[Job], reason: str) -> None:
    if jobs:
        desk.metrics.requeued(reason, len(jobs))
        desk.publish(jobs)
        desk.work.notify_jobs(jobs)


async def list_nodes(desk: NodeDesk, tenant: str, include_offline: bool) -> list[NodeView]:
    now = desk.clock.now()
    sessions = await desk.store.list_nodes(tenant=tenant, live_at=None if include_offline else now)
    draining = desk.sessions.draining()
    views: list[NodeView] = []
    for registered in sessions:
        override = desk.sessions.overridden(registered.id)
        session = registered
        if override is not None:
            session = dataclasses.replace(registered, capabilities=override)
        held = await listing.running_jobs(desk.store, tenant, session.id)
        state = NodeState.LIVE
        if not session.is_live(now):
            state = NodeState.OFFLINE
        elif session.id in draining:
            state = NodeState.DRAINING
        usage, usage_at = desk.sessions.gpu_usage(session.id)
        views.append(
            NodeView(
                session=session,
                state=state,
                running_job_ids=tuple(sorted(job.id for job in held)),
                slots_in_use=dict(Counter(job.queue for job in held)),
                gpu_usage=usage,
                gpu_usage_at=usage_at,
                drain_requested=desk.sessions.drain_requested(session.id),
            )
        )
    return views


async def drain(desk: NodeDesk, tenant: str, node_id: str, release_jobs: bool) -> DrainResult:
    try:
        session = await desk.store.get_node(node_id, tenant=tenant)
    except NotFoundError:
        raise unknown_session(node_id) from None
    desk.sessions.request_drain(node_id)
    desk.nodes_changed()
    released: list[Job] = []
    if release_jobs:
        now = desk.clock.now()
        reason = f"node {session.name} drained by an operator"
        for job in await listing.running_jobs(desk.store, tenant, node_id):
            with contextlib.suppress(ConflictError, NotFoundError):
                back = await desk.store.release_job(
                    job.id, attempt=job.attempt, session_id=node_id, now=now, reason=reason
                )
                if back.state is JobState.PENDING:
                    released.append(back)
    _requeued(desk, released, "drained")
    log.info("node drained", extra={"node_id": node_id, "released": len(released)})
    return DrainResult(ok=True, released_job_ids=tuple(job.id for job in released))


async def resume(desk: NodeDesk, tenant: str, node_id: str) -> ResumeResult:
    try:
        await desk.store.get_node(node_id, tenant=tenant)
    except NotFoundError:
        raise unknown_session(node_id) from None
    was_drained = desk.sessions.resume(node_id)
    desk.nodes_changed()
    desk.work.notify(1)  # its pull loops may take work again
    log.info("node resumed", extra={"node_id": node_id, "was_drained": was_drained})
    return ResumeResult(ok=True, was_drained=was_drained)


def _checked_limits(limits: Mapping[str, int], caps: NodeCapabilities) -> dict[str, int]:
    if not limits:
        raise UsageError(
            "name at least one queue and its limit.", hint="E.g. encode=2 score=1 (0 turns off)."
        )
    for queue, limit in limits.items():
        if not QUEUE_NAME.fullmatch(queue):
            raise UsageError(
                f"queue name {queue!r} is not valid.",
                hint="Use lower-case letters, digits, '-' or '_', e.g. encode=2.",
            )
        if isinstance(limit, bool) or not 0 <= limit <= MAX_SLOTS:
            raise UsageError(
                f"the limit of queue {queue!r} must be a whole number in 0-{MAX_SLOTS}, "
                f"got {limit!r}."
            )
        if caps.queues and queue not in caps.queues:
            raise UsageError(
                f"the node does not take jobs from queue {queue!r} "
                f"(its queues: {', '.join(caps.queues)}).",
                hint="Name one of its queues; the queues themselves change only with a restart.",
            )
    return dict(limits)


def concurrency_slots(caps: NodeCapabilities, concurrency: Mapping[str, int]) -> int:
    """Slots for new limits: their sum over the node's queues (a subscribed queue without a
    limit counting 1), at least 1 and at most `MAX_SLOTS` (as a node counts them at start)."""
    if caps.queues:
        total = sum(concurrency.get(queue, 1) for queue in caps.queues)
    else:
        total = sum(concurrency.values())
    return max(1, min(MAX_SLOTS, total))


async def set_concurrency(
    desk: NodeDesk, tenant: str, node_id: str, limits: Mapping[str, int]
) -> ConcurrencyResult:
    try:
        session = await desk.store.get_node(node_id, tenant=tenant)
    except NotFoundError:
        raise unknown_session(node_id) from None
    caps = desk.sessions.overridden(node_id) or session.capabilities
    concurrency = {**caps.concurrency, **_checked_limits(limits, caps)}
    slots = concurrency_slots(caps, concurrency)
    desk.sessions.override(node_id, dataclasses.replace(caps, concurrency=concurrency, slots=slots))
    desk.nodes_changed()
    desk.work.notify(slots)
    log.info("node concurrency changed", extra={"node_id": node_id, "concurrency": concurrency})
    return ConcurrencyResult(concurrency=concurrency, slots=slots)


async def expire(desk: NodeDesk) -> list[Job]:
    now = desk.clock.now()
    changed: list[Job] = []
    try:
        changed = await desk.store.expire_leases(now=now)
        gone = await desk.store.expire_nodes(now=now)
    except VmafxError as error:
        log.warning("sweep failed: %s", error)
        return changed
    requeued = [job for job in changed if job.state is JobState.PENDING]
    for job in changed:
        if job.state is JobState.FAILED:
            desk.metrics.finished(job)
    desk.publish(changed)
    if requeued:
        desk.metrics.requeued("lease_expired", len(requeued))
        desk.work.notify_jobs(requeued)
    if gone:
        desk.sessions.forget(gone)
        desk.nodes_changed()
        log.info("node sessions expired", extra={"node_ids": gone})
    return changed
