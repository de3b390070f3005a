"""The in-memory store's state and its staged transaction (writes applied on commit only)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime

from vmafx.core import lifecycle
from vmafx.core.attempts import Attempt
from vmafx.core.events import EventType, JobEvent
from vmafx.core.jobs import Job, JobState, JsonObject
from vmafx.core.nodes import NodeCapabilities, NodeSession, QueueSelection
from vmafx.core.tokens import ApiToken
from vmafx.errors import ConflictError
from vmafx.scheduler import ordering
from vmafx.scheduler.policy import Scheduler
from vmafx.store.transaction import OrderKey


@dataclasses.dataclass
class MemoryState:
    jobs: dict[str, Job] = dataclasses.field(default_factory=dict)
    keys: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)
    attempts: dict[str, dict[int, Attempt]] = dataclasses.field(default_factory=dict)
    sessions: dict[str, NodeSession] = dataclasses.field(default_factory=dict)
    events_by_job: dict[str, list[JobEvent]] = dataclasses.field(default_factory=dict)
    tokens: dict[str, ApiToken] = dataclasses.field(default_factory=dict)
    running_bounds: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    next_seq: int = 1


class MemoryTransaction:
    """Reads see the transaction's own writes; `commit` applies them all at once."""

    def __init__(self, state: MemoryState, policy: Scheduler) -> None:
        self._state = state
        self._policy = policy
        self._jobs: dict[str, Job] = {}
        self._attempts: dict[tuple[str, int], Attempt] = {}
        self._sessions: dict[str, NodeSession | None] = {}
        self._events: list[JobEvent] = []
        self._bounds: dict[str, dict[str, int]] = {}

    def commit(self) -> None:
        state = self._state
        for job in self._jobs.values():
            state.jobs[job.id] = job
            if job.idempotency_key is not None:
                state.keys[job.tenant, job.idempotency_key] = job.id
        for (job_id, number), attempt in self._attempts.items():
            state.attempts.setdefault(job_id, {})[number] = attempt
        for session_id, session in self._sessions.items():
            if session is None:
                state.sessions.pop(session_id, None)
            else:
                state.sessions[session_id] = session
        for event in self._events:
            state.events_by_job.setdefault(event.job_id, []).append(event)
        state.running_bounds.update(self._bounds)
        for session_id, session in self._sessions.items():
            if session is None or session_id not in state.sessions:
                state.running_bounds.pop(session_id, None)

    # --- jobs --------------------------------------------------------------------------------
    def job(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id) or self._state.jobs.get(job_id)

    def job_and_attempt(self, job_id: str, number: int) -> tuple[Job | None, Attempt | None]:
        job = self.job(job_id)
        return job, self.attempt(job_id, number) if job is not None else None

    def job_by_key(self, tenant: str, key: str) -> Job | None:
        for job in self._jobs.values():
            if (job.tenant, job.idempotency_key) == (tenant, key):
                return job
        job_id = self._state.keys.get((tenant, key))
        return self.job(job_id) if job_id else None

    def insert_jobs(self, jobs: Sequence[Job]) -> None:
        for job in jobs:
            if self.job(job.id) is not None:
                raise ConflictError(f"job {job.id} already exists.")
            self._jobs[job.id] = job

    def update_job(self, job: Job, *, before: Job | None = None) -> None:
        self._jobs[job.id] = job

    def save_claims(self, jobs: Sequence[Job]) -> None:
        for job in jobs:
            self._jobs[job.id] = job

    def save_cancels(self, jobs: Sequence[Job]) -> None:
        for job in jobs:
            self._jobs[job.id] = job

    def set_pending_reasons(self, reasons: Mapping[str, str | None]) -> None:
        for job_id, reason in reasons.items():
            job = self.job(job_id)
            if job is not None and job.state is JobState.PENDING and job.pending_reason != reason:
                self._jobs[job.id] = dataclasses.replace(job, pending_reason=reason)

    def _all_jobs(self) -> list[Job]:
        return [self._jobs.get(job.id, job) for job in self._state.jobs.values()] + [
            job for job in self._jobs.values() if job.id not in self._state.jobs
        ]

    def running_by_queue(self, session_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        return {
            sid: dict(Counter(job.queue for job in self.running_jobs(sid))) for sid in session_ids
        }

    def running_jobs(self, session_id: str) -> list[Job]:
        held = [
            job
            for job in self._all_jobs()
            if job.state is JobState.RUNNING and job.lease and job.lease.session_id == session_id
        ]
        return sorted(held, key=lambda job: job.id)

    def candidates(
        self,
        tenant: str,
        selection: QueueSelection,
        caps: NodeCapabilities,
        *,
        now: datetime,
        after: OrderKey | None,
        limit: int,
    ) -> list[Job]:
        order = ordering.order_key
        due = [
            job
            for job in self._all_jobs()
            if job.state is JobState.PENDING
            and job.tenant == tenant
            and job.available_at <= now
            and selection.admits(job.queue)
            and (after is None or order(job) > after)
        ]
        return sorted(due, key=order)[:limit]

    def expired_jobs(self, now: datetime, limit: int) -> list[Job]:
        expired = [
            job
            for job in self._all_jobs()
            if job.state is JobState.RUNNING and job.lease and job.lease.expires_at < now
        ]
        return sorted(expired, key=lambda job: job.id)[:limit]

    # --- attempts and events -----------------------------------------------------------------
    def attempt(self, job_id: str, number: int) -> Attempt | None:
        staged = self._attempts.get((job_id, number))
        return staged or self._state.attempts.get(job_id, {}).get(number)

    def attempts(self, job_id: str) -> list[Attempt]:
        numbers = set(self._state.attempts.get(job_id, {}))
        numbers |= {number for (staged_id, number) in self._attempts if staged_id == job_id}
        found = (self.attempt(job_id, number) for number in sorted(numbers))
        return [attempt for attempt in found if attempt is not None]

    def insert_attempts(self, attempts: Sequence[Attempt]) -> None:
        for attempt in attempts:
            self._attempts[attempt.job_id, attempt.number] = attempt

    def update_attempt(self, attempt: Attempt) -> None:
        self._attempts[attempt.job_id, attempt.number] = attempt

    def add_event(
        self, job: Job, event_type: EventType, data: JsonObject, now: datetime
    ) -> JobEvent:
        event = JobEvent(
            seq=self._state.next_seq,
            job_id=job.id,
            tenant=job.tenant,
            at=now,
            type=event_type,
            data=dict(data),
        )
        self._state.next_seq += 1
        self._events.append(event)
        return event

    def add_events(self, events: Sequence[tuple[Job, EventType, JsonObject]]) -> None:
        for job, event_type, data in events:
            self.add_event(job, event_type, data, job.updated_at)

    # --- node sessions -----------------------------------------------------------------------
    def session(self, session_id: str) -> NodeSession | None:
        if session_id in self._sessions:
            return self._sessions[session_id]
        return self._state.sessions.get(session_id)

    def claim_sessions(
        self, session_ids: Sequence[str]
    ) -> dict[str, tuple[NodeSession, dict[str, int] | None]]:
        found: dict[str, tuple[NodeSession, dict[str, int] | None]] = {}
        for session_id in session_ids:
            if (session := self.session(session_id)) is not None:
                bound = self._bounds.get(session_id, self._state.running_bounds.get(session_id))
                found[session_id] = (session, dict(bound) if bound is not None else None)
        return found

    def save_running_bounds(self, bounds: Mapping[str, Mapping[str, int]]) -> None:
        self._bounds.update({session_id: dict(bound) for session_id, bound in bounds.items()})

    def save_session(self, session: NodeSession) -> None:
        self._sessions[session.id] = session

    def touch_sessions(
        self, session_ids: Sequence[str], *, now: datetime, expires_at: datetime
    ) -> set[str]:
        touched: set[str] = set()
        for session_id in session_ids:
            session = self.session(session_id)
            if session is not None and session.is_live(now):
                seen = dataclasses.replace(session, last_seen_at=now, expires_at=expires_at)
                self.save_session(seen)
                touched.add(session_id)
        return touched

    def renew_leases(
        self,
        wanted: Sequence[tuple[str, Sequence[str] | None]],
        *,
        now: datetime,
        expires_at: datetime,
    ) -> dict[str, set[str]]:
        renewed: dict[str, set[str]] = {}
        for session_id, job_ids in wanted:
            held = self.running_jobs(session_id)
            named = set(job_ids) if job_ids is not None else None
            chosen = held if named is None else [job for job in held if job.id in named]
            for job in chosen:
                self.update_job(lifecycle.renewed(job, expires_at, now))
            renewed.setdefault(session_id, set()).update(job.id for job in chosen)
        return renewed

    def delete_sessions(self, session_ids: Sequence[str]) -> None:
        for session_id in session_ids:
            self._sessions[session_id] = None

    def expired_sessions(self, now: datetime) -> list[str]:
        return sorted(
            session.id for session in self._state.sessions.values() if not session.is_live(now)
        )
