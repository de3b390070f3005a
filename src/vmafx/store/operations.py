"""Store operations shared by every adapter: each runs inside one `Transaction`.

These are the transaction scripts behind the JobStore methods that change state. They read
and write only through the transaction and apply `core.lifecycle` and the injected
`Scheduler`, so the in-memory and SQL stores cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from vmafx.core import lifecycle
from vmafx.core.attempts import Attempt, AttemptOutcome, Attribution
from vmafx.core.events import EventType
from vmafx.core.jobs import PROGRESS_DETAIL_KEYS, Job, JobState, JsonObject
from vmafx.core.nodes import NodeCapabilities, NodeSession, QueueSelection
from vmafx.core.specs import check_finite_json
from vmafx.errors import ConflictError, NotFoundError
from vmafx.scheduler import matching, ordering
from vmafx.scheduler.fencing import ReportVerdict, check_report
from vmafx.scheduler.policy import Scheduler
from vmafx.store.port import (
    ClaimOutcome,
    ClaimRequest,
    LeaseRenewal,
    RenewalOutcome,
    RenewalRequest,
)
from vmafx.store.transaction import Transaction

#: Pending jobs a claim reads first (usually the first fits), then per further round trip, and
#: at most in all before it answers "nothing for you".
CLAIM_FIRST_BATCH = 2
CLAIM_BATCH = 64
CLAIM_SCAN_LIMIT = 1024

#: A report's effect: the job and attempt after it, and the event it appends.
Change = Callable[[Job, Attempt], tuple[Job, Attempt, EventType, JsonObject]]


def load_job(tx: Transaction, job_id: str, tenant: str | None = None) -> Job:
    job = tx.job(job_id)
    if job is None or (tenant is not None and job.tenant != tenant):
        raise NotFoundError(f"job {job_id} does not exist.")
    return job


def submit(tx: Transaction, jobs: Sequence[Job]) -> list[Job]:
    """Store new jobs; a known idempotency key answers with the earlier job instead."""
    answers: list[Job] = []
    fresh: list[Job] = []
    keyed: dict[tuple[str, str], Job] = {}
    for job in jobs:
        if job.state is not JobState.PENDING or job.attempt:
            raise ConflictError(f"job {job.id} must be new and pending to be submitted.")
        if job.idempotency_key is not None:
            key = (job.tenant, job.idempotency_key)
            earlier = keyed.get(key) or tx.job_by_key(*key)
            if earlier is not None:
                answers.append(_same_submission(earlier, job))
                continue
            keyed[key] = job
        fresh.append(job)
        answers.append(job)
    tx.insert_jobs(fresh)
    tx.add_events(
        [(job, EventType.SUBMITTED, {"kind": job.kind, "queue": job.queue}) for job in fresh]
    )
    return answers


def _same_submission(earlier: Job, job: Job) -> Job:
    if (earlier.kind, earlier.queue, earlier.spec) != (job.kind, job.queue, job.spec):
        raise ConflictError(
            f"idempotency key {job.idempotency_key!r} was used for job {earlier.id} "
            "with a different kind, queue or spec.",
            hint="Use a new key for a different job.",
        )
    return earlier


def claim_next(
    tx: Transaction,
    policy: Scheduler,
    session_id: str,
    *,
    now: datetime,
    queues: Sequence[str] | None,
    caps: NodeCapabilities | None,
) -> Job | None:
    request = ClaimRequest(session_id, tuple(queues) if queues else None, caps)
    outcome = claim_batch(tx, policy, [request], now=now)[0]
    if isinstance(outcome, NotFoundError):
        raise outcome
    return outcome


def claim_batch(
    tx: Transaction, policy: Scheduler, requests: Sequence[ClaimRequest], *, now: datetime
) -> list[ClaimOutcome]:
    """Serve `requests` in order, as if one after another, with a fixed number of statements.

    Sessions are read (and locked) once; requests whose candidate query would be the same
    share one list of candidates (read with row locks, skipping rows another transaction
    holds); the claimed jobs, attempts and events are written in one go each.

    Running counts: each session row keeps an upper bound of the jobs it runs per queue,
    raised by every claim. A session's jobs are only counted (a query that grows with the
    jobs it holds) when the bound would close a queue the node asks for; the exact count then
    becomes the new bound. Selection is monotone in the counts, so when the bound closes
    nothing, neither would the exact count.
    """
    claimants = tx.claim_sessions(list({request.session_id for request in requests}))
    held = _Held(tx, policy, {sid: bound for sid, (_, bound) in claimants.items()})
    live = [_claimant(claimants, request, now) for request in requests]
    held.count_first(
        [(s.id, s.capabilities, r.queues) for s, r in zip(live, requests, strict=True) if s]
    )
    pools: dict[tuple[object, ...], _Candidates] = {}
    taken: set[str] = set()  # across pools: queries with other filters can return the same job
    outcomes: list[ClaimOutcome] = []
    claimed: list[tuple[Job, Attempt]] = []
    expiry = policy.lease_expiry(now)
    for request, session in zip(requests, live, strict=True):
        if session is None:
            outcomes.append(_unknown_session(request.session_id))
            continue
        caps = session.capabilities
        selection = held.selection(session.id, caps, request.queues)
        if selection.is_empty:
            outcomes.append(None)
            continue
        key = (session.tenant, selection, caps.backends, caps.gpu_vendor, caps.gpus, caps.encoders)
        pool = pools.get(key)
        if pool is None:
            first = min(max(CLAIM_FIRST_BATCH, len(requests)), CLAIM_BATCH)
            pool = pools[key] = _Candidates(tx, session.tenant, selection, caps, now, first, taken)
        job = pool.take(policy, caps)
        if job is None:
            outcomes.append(None)
            continue
        held.add(session.id, job.queue)
        attempt = lifecycle.claim(job, session, now)
        claimed.append((lifecycle.claimed(job, attempt, expiry), attempt))
        outcomes.append(claimed[-1][0])
    if claimed:
        tx.save_claims([job for job, _ in claimed])
        tx.insert_attempts([attempt for _, attempt in claimed])
        tx.add_events(
            [
                (
                    job,
                    EventType.CLAIMED,
                    {"attempt": a.number, "node": a.node_name, "session": a.session_id},
                )
                for job, a in claimed
            ]
        )
    tx.save_running_bounds(held.changed())
    return outcomes


def _claimant(
    claimants: Mapping[str, tuple[NodeSession, object]], request: ClaimRequest, now: datetime
) -> NodeSession | None:
    """The request's session if it is live, with the capabilities the request names."""
    found = claimants.get(request.session_id)
    if found is None or not found[0].is_live(now):
        return None
    if request.capabilities is None:
        return found[0]
    return dataclasses.replace(found[0], capabilities=request.capabilities)


class _Held:
    """Jobs each session of a batch runs per queue: its stored bound (or, when that is not
    enough to decide, its exact count) plus the jobs it claims in this batch."""

    def __init__(
        self, tx: Transaction, policy: Scheduler, bounds: dict[str, dict[str, int] | None]
    ) -> None:
        self._tx = tx
        self._policy = policy
        self._base = bounds
        self._stored = dict(bounds)
        self._exact: set[str] = set()
        self._fresh: dict[str, dict[str, int]] = {}

    def _counts(self, session_id: str) -> dict[str, int]:
        counts = dict(self._base.get(session_id) or {})
        for queue, count in self._fresh.get(session_id, {}).items():
            counts[queue] = counts.get(queue, 0) + count
        return counts

    def _needs_count(
        self, session_id: str, caps: NodeCapabilities, queues: Sequence[str] | None
    ) -> bool:
        """Whether the bound decides nothing: unknown, or it closes a queue the jobs claimed
        in this batch alone would leave open."""
        if session_id in self._exact:
            return False
        if self._base.get(session_id) is None:
            return True
        open_queues = matching.open_queues
        bounded = open_queues(caps, self._counts(session_id), queues)
        return bounded != open_queues(caps, self._fresh.get(session_id, {}), queues)

    def _count(self, session_ids: Sequence[str]) -> None:
        if session_ids:
            self._base.update(self._tx.running_by_queue(session_ids))
            self._exact.update(session_ids)

    def count_first(
        self, claimants: Sequence[tuple[str, NodeCapabilities, Sequence[str] | None]]
    ) -> None:
        """Count, in one read, the running jobs of every session whose bound decides nothing
        (with single-slot nodes: each that claimed before), instead of one read each."""
        self._count(list({sid for sid, caps, q in claimants if self._needs_count(sid, caps, q)}))

    def selection(
        self, session_id: str, caps: NodeCapabilities, queues: Sequence[str] | None
    ) -> QueueSelection:
        if self._needs_count(session_id, caps, queues):  # a second request of one session
            self._count([session_id])
        return matching.open_queues(caps, self._counts(session_id), queues)

    def add(self, session_id: str, queue: str) -> None:
        fresh = self._fresh.setdefault(session_id, {})
        fresh[queue] = fresh.get(queue, 0) + 1

    def changed(self) -> dict[str, dict[str, int]]:
        """New bounds for the sessions that claimed or were counted in this batch, where they
        differ from the stored ones (a single-slot node's is the same claim after claim)."""
        bounds = {sid: self._counts(sid) for sid in self._exact | set(self._fresh)}
        return {sid: bound for sid, bound in bounds.items() if bound != self._stored.get(sid)}


class _Candidates:
    """Pending jobs in claim order for one candidate query, read page by page as needed."""

    def __init__(
        self,
        tx: Transaction,
        tenant: str,
        selection: QueueSelection,
        caps: NodeCapabilities,
        now: datetime,
        first: int,
        taken: set[str],
    ) -> None:
        self._read = functools.partial(tx.candidates, tenant, selection, caps, now=now)
        self._selection = selection
        self._jobs = self._read(after=None, limit=first)
        self._more = len(self._jobs) == first
        self._taken = taken

    def take(self, policy: Scheduler, caps: NodeCapabilities) -> Job | None:
        """The first job not yet taken that `caps` can run, scanning at most CLAIM_SCAN_LIMIT."""
        index = 0
        while True:
            for job in self._jobs[index:]:
                if (
                    job.id not in self._taken
                    and self._selection.admits(job.queue)
                    and matching.can_run(job, caps)
                ):
                    self._taken.add(job.id)
                    return job
            index = len(self._jobs)
            if not self._more or index >= CLAIM_SCAN_LIMIT + len(self._taken):
                return None
            page = self._read(after=ordering.order_key(self._jobs[-1]), limit=CLAIM_BATCH)
            self._jobs.extend(page)
            self._more = len(page) == CLAIM_BATCH


def _unknown_session(session_id: str) -> NotFoundError:
    return NotFoundError(
        f"node session {session_id} is unknown or expired.",
        hint="Register the node again; its jobs go back to the queue as their leases run out.",
    )


def renew(
    tx: Transaction,
    policy: Scheduler,
    session_id: str,
    now: datetime,
    job_ids: Sequence[str] | None,
) -> LeaseRenewal:
    """A heartbeat: `renew_batch` of one."""
    named = tuple(job_ids) if job_ids is not None else None
    outcome = renew_batch(tx, policy, [RenewalRequest(session_id, named)], now=now)[0]
    if isinstance(outcome, NotFoundError):
        raise outcome
    return outcome


def renew_batch(
    tx: Transaction, policy: Scheduler, requests: Sequence[RenewalRequest], *, now: datetime
) -> list[RenewalOutcome]:
    """Heartbeats, each answered as if they ran one after another, in two writes and no reads
    however many: the live sessions seen, then the leases they name renewed. A lease renews
    only under the session that holds it (one taken over, finished or cancelled is named in
    `cancel` instead)."""
    live = tx.touch_sessions(
        list(dict.fromkeys(r.session_id for r in requests)),
        now=now,
        expires_at=policy.session_expiry(now),
    )
    wanted = [(r.session_id, r.job_ids) for r in requests if r.session_id in live]
    held = tx.renew_leases(wanted, now=now, expires_at=policy.lease_expiry(now)) if wanted else {}
    outcomes: list[RenewalOutcome] = []
    for request in requests:
        if request.session_id not in live:
            outcomes.append(_unknown_session(request.session_id))
            continue
        renewed = held.get(request.session_id, set())
        named = sorted(renewed) if request.job_ids is None else request.job_ids
        outcomes.append(
            LeaseRenewal(
                renewed=[job_id for job_id in named if job_id in renewed],
                cancel=[job_id for job_id in named if job_id not in renewed],
            )
        )
    return outcomes


def report(
    tx: Transaction,
    policy: Scheduler,
    job_id: str,
    *,
    number: int,
    session_id: str,
    change: Change,
) -> Job:
    """Apply a node's report for attempt `number` if that attempt still holds the job."""
    job, attempt = tx.job_and_attempt(job_id, number)
    if job is None:
        raise NotFoundError(f"job {job_id} does not exist.")
    verdict = check_report(job, attempt, number, session_id)
    if verdict is not ReportVerdict.APPLY or attempt is None:
        return job
    new_job, new_attempt, event_type, data = change(job, attempt)
    tx.update_job(new_job, before=job)
    if new_attempt != attempt:
        tx.update_attempt(new_attempt)
    tx.add_event(new_job, event_type, data, new_job.updated_at)
    return new_job


def completion(result: JsonObject, now: datetime, attribution: Attribution | None) -> Change:
    check_finite_json(result)

    def change(job: Job, attempt: Attempt) -> tuple[Job, Attempt, EventType, JsonObject]:
        ended = lifecycle.ended(attempt, AttemptOutcome.COMPLETED, now, attribution=attribution)
        data: JsonObject = {"attempt": attempt.number}
        return lifecycle.completed(job, result, now), ended, EventType.COMPLETED, data

    return change


def failure(error: str, now: datetime, attribution: Attribution | None) -> Change:
    def change(job: Job, attempt: Attempt) -> tuple[Job, Attempt, EventType, JsonObject]:
        outcome = AttemptOutcome.FAILED
        ended = lifecycle.ended(attempt, outcome, now, error=error, attribution=attribution)
        data: JsonObject = {"attempt": attempt.number, "error": error}
        return lifecycle.failed(job, error, now), ended, EventType.FAILED, data

    return change


def release(reason: str, now: datetime) -> Change:
    def change(job: Job, attempt: Attempt) -> tuple[Job, Attempt, EventType, JsonObject]:
        text = reason or f"released by {attempt.node_name}"
        ended = lifecycle.ended(attempt, AttemptOutcome.RELEASED, now, error=text)
        back = lifecycle.requeued(job, now, available_at=now, reason=text, lost=False)
        return back, ended, EventType.RELEASED, {"attempt": attempt.number, "reason": text}

    return change


def progress(value: float | None, partial: JsonObject | None, now: datetime) -> Change:
    check_finite_json(value, "progress")
    check_finite_json(partial, "partial")
    partial = partial or {}

    def change(job: Job, attempt: Attempt) -> tuple[Job, Attempt, EventType, JsonObject]:
        detail = {key: partial[key] for key in PROGRESS_DETAIL_KEYS if key in partial}
        moved = dataclasses.replace(
            job, progress=value, progress_detail=detail or None, updated_at=now
        )
        data: JsonObject = {"attempt": attempt.number, "progress": value}
        if partial:
            data["partial"] = partial
        return moved, attempt, EventType.PROGRESS, data

    return change


def cancel(
    tx: Transaction, job_id: str, now: datetime, tenant: str | None, reason: str | None
) -> Job:
    job = load_job(tx, job_id, tenant)
    if job.is_terminal:
        return job
    if job.state is JobState.RUNNING:
        attempt = tx.attempt(job.id, job.attempt)
        if attempt is not None:
            ended = lifecycle.ended(attempt, AttemptOutcome.CANCELLED, now, error=reason)
            tx.update_attempt(ended)
    cancelled = lifecycle.cancelled(job, now, reason)
    tx.update_job(cancelled)
    tx.add_event(cancelled, EventType.CANCELLED, {"reason": reason}, now)
    return cancelled


def cancel_many(
    tx: Transaction, job_ids: Sequence[str], now: datetime, tenant: str | None, reason: str
) -> list[Job]:
    """Cancel each live job of `job_ids` (unknown, other tenants' and finished ones skipped),
    written back and logged in one statement each (`cancel` for one job)."""
    cancelled: list[Job] = []
    for job_id in dict.fromkeys(job_ids):
        job = tx.job(job_id)
        if job is None or job.is_terminal or (tenant is not None and job.tenant != tenant):
            continue
        if job.state is JobState.RUNNING:
            attempt = tx.attempt(job.id, job.attempt)
            if attempt is not None:
                ended = lifecycle.ended(attempt, AttemptOutcome.CANCELLED, now, error=reason)
                tx.update_attempt(ended)
        cancelled.append(lifecycle.cancelled(job, now, reason))
    tx.save_cancels(cancelled)
    tx.add_events([(job, EventType.CANCELLED, {"reason": reason}) for job in cancelled])
    return cancelled


def expire(tx: Transaction, policy: Scheduler, now: datetime, limit: int) -> list[Job]:
    changed: list[Job] = []
    for job in tx.expired_jobs(now, limit):
        attempt = tx.attempt(job.id, job.attempt)
        lost = [a for a in tx.attempts(job.id) if a.outcome is AttemptOutcome.EXPIRED]
        if attempt is not None:
            expired_at = job.lease.expires_at.isoformat() if job.lease else "?"
            error = f"lease expired at {expired_at}"
            ended = lifecycle.ended(attempt, AttemptOutcome.EXPIRED, now, error=error)
            tx.update_attempt(ended)
            lost.append(ended)
        new = policy.after_lost_lease(job, lost, now)
        tx.update_job(new)
        event = EventType.FAILED if new.state is JobState.FAILED else EventType.REQUEUED
        tx.add_event(new, event, {"attempt": job.attempt, "reason": new.pending_reason}, now)
        changed.append(new)
    return changed


def register(
    tx: Transaction,
    policy: Scheduler,
    *,
    tenant: str,
    name: str,
    capabilities: NodeCapabilities,
    token_sha256: str,
    now: datetime,
    session_id: str | None,
) -> NodeSession:
    session = NodeSession(
        id=session_id or uuid.uuid4().hex,
        tenant=tenant,
        name=name,
        capabilities=capabilities,
        token_sha256=token_sha256,
        created_at=now,
        last_seen_at=now,
        expires_at=policy.session_expiry(now),
    )
    tx.save_session(session)
    return session


def forget_node(tx: Transaction, session_id: str, now: datetime) -> list[Job]:
    released: list[Job] = []
    for job in tx.running_jobs(session_id):
        attempt = tx.attempt(job.id, job.attempt)
        if attempt is None:
            continue
        change = release(f"node {attempt.node_name} left", now)
        new_job, new_attempt, event_type, data = change(job, attempt)
        tx.update_job(new_job)
        tx.update_attempt(new_attempt)
        tx.add_event(new_job, event_type, data, now)
        released.append(new_job)
    tx.delete_sessions([session_id])
    return released


def set_pending_reasons(tx: Transaction, reasons: Mapping[str, str | None]) -> None:
    tx.set_pending_reasons(reasons)
