"""`InMemoryJobStore`: the complete JobStore in dictionaries, for tests and `memory://`.

Every change runs through the shared operations inside a staged transaction that is applied
only when the operation succeeds, under one lock (safe from several threads and event loops).
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

from vmafx.core.attempts import Attempt, Attribution
from vmafx.core.events import EventType, JobEvent
from vmafx.core.jobs import Job, JobState, JsonObject
from vmafx.core.jobsearch import files_text, term_matches
from vmafx.core.messages import JobPage
from vmafx.core.nodes import NodeCapabilities, NodeSession
from vmafx.core.stats import FarmStats, StatsWindow, aggregate
from vmafx.core.tokens import ApiToken
from vmafx.errors import ConflictError, NotFoundError
from vmafx.scheduler.policy import Scheduler
from vmafx.store import operations as ops
from vmafx.store.memory_tx import MemoryState, MemoryTransaction
from vmafx.store.paging import check_limit, decode_cursor, encode_cursor, is_before
from vmafx.store.port import (
    ClaimOutcome,
    ClaimRequest,
    JobQuery,
    LeaseRenewal,
    QueueDepth,
    RenewalOutcome,
    RenewalRequest,
    TuneProbe,
)

T = TypeVar("T")


def _matches_terms(job: Job, query: JobQuery, state: MemoryState) -> bool:
    if not query.terms:
        return True
    files = files_text(job.spec)
    nodes = [attempt.node_name for attempt in state.attempts.get(job.id, {}).values()]
    if job.lease is not None:
        nodes.append(job.lease.node_name)
    return all(
        term_matches(term, job_id=job.id, files=files, nodes=nodes, error=job.error)
        for term in query.terms
    )


def _matches(job: Job, query: JobQuery) -> bool:
    return (
        (query.tenant is None or job.tenant == query.tenant)
        and (not query.states or job.state in query.states)
        and (not query.kinds or job.kind in query.kinds)
        and (not query.queues or job.queue in query.queues)
        and (query.batch_id is None or job.batch_id == query.batch_id)
        and (query.parent_id is None or job.parent_id == query.parent_id)
        and (
            query.node_id is None
            or (job.lease is not None and job.lease.session_id == query.node_id)
        )
        and (not query.job_ids or job.id in query.job_ids)
        and (query.created_after is None or job.created_at >= query.created_after)
        and (query.created_before is None or job.created_at < query.created_before)
    )


class InMemoryJobStore:
    """A JobStore that lives and dies with the process."""

    def __init__(self, policy: Scheduler) -> None:
        self._policy = policy
        self._state = MemoryState()
        self._lock = threading.Lock()
        self._frames: dict[str, dict[int, bytes]] = {}
        self._probes: dict[tuple[str, str], TuneProbe] = {}

    def _write(self, operation: Callable[[MemoryTransaction], T]) -> T:
        with self._lock:
            tx = MemoryTransaction(self._state, self._policy)
            result = operation(tx)
            tx.commit()
            return result

    # --- jobs, client side -------------------------------------------------------------------
    async def submit_job(self, job: Job) -> Job:
        return self._write(lambda tx: ops.submit(tx, [job])[0])

    async def submit_jobs(self, jobs: Sequence[Job]) -> list[Job]:
        return self._write(lambda tx: ops.submit(tx, jobs))

    async def get_job(self, job_id: str, *, tenant: str | None = None) -> Job:
        with self._lock:
            job = self._state.jobs.get(job_id)
        if job is None or (tenant is not None and job.tenant != tenant):
            raise NotFoundError(f"job {job_id} does not exist.")
        return job

    async def list_jobs(
        self, query: JobQuery, *, limit: int = 100, cursor: str | None = None
    ) -> JobPage:
        check_limit(limit)
        position = decode_cursor(cursor) if cursor else None
        with self._lock:
            found = self._find(query)
        found.sort(key=lambda job: (job.created_at, job.id), reverse=True)
        if position is not None:
            found = [job for job in found if is_before(job, position)]
        page = found[:limit]
        more = len(found) > limit
        return JobPage(jobs=page, next_cursor=encode_cursor(page[-1]) if more else None)

    def _find(self, query: JobQuery) -> list[Job]:
        """The jobs matching `query` (call with the lock held)."""
        return [
            job
            for job in self._state.jobs.values()
            if _matches(job, query) and _matches_terms(job, query, self._state)
        ]

    async def batch_counts(
        self, prefix: str, *, tenant: str | None = None
    ) -> dict[str, dict[JobState, int]]:
        counts: dict[str, Counter[JobState]] = {}
        with self._lock:
            for job in self._state.jobs.values():
                batch = job.batch_id
                if batch is None or not batch.startswith(prefix):
                    continue
                if tenant is not None and job.tenant != tenant:
                    continue
                counts.setdefault(batch, Counter())[job.state] += 1
        return {batch: dict(states) for batch, states in sorted(counts.items())}

    async def count_jobs(self, query: JobQuery) -> dict[JobState, int]:
        with self._lock:
            return dict(Counter(job.state for job in self._find(query)))

    async def cancel_job(
        self, job_id: str, *, now: datetime, tenant: str | None = None, reason: str | None = None
    ) -> Job:
        return self._write(lambda tx: ops.cancel(tx, job_id, now, tenant, reason))

    async def cancel_jobs(
        self, job_ids: Sequence[str], *, now: datetime, tenant: str | None = None, reason: str
    ) -> list[Job]:
        return self._write(lambda tx: ops.cancel_many(tx, job_ids, now, tenant, reason))

    async def save_frames(self, job_id: str, frames: Mapping[int, bytes]) -> None:
        await self.get_job(job_id)
        with self._lock:
            self._frames[job_id] = dict(frames)

    async def get_frames(self, job_id: str, *, tenant: str | None = None) -> dict[int, bytes]:
        await self.get_job(job_id, tenant=tenant)
        with self._lock:
            return dict(self._frames.get(job_id, {}))

    async def set_pending_reasons(self, reasons: Mapping[str, str | None]) -> None:
        self._write(lambda tx: ops.set_pending_reasons(tx, reasons))

    async def queue_depths(self, *, tenant: str | None = None) -> list[QueueDepth]:
        counts: Counter[tuple[str, JobState]] = Counter()
        oldest: dict[tuple[str, JobState], datetime] = {}
        with self._lock:
            jobs = list(self._state.jobs.values())
        for job in jobs:
            if job.state.is_terminal or (tenant is not None and job.tenant != tenant):
                continue
            key = (job.queue, job.state)
            counts[key] += 1
            oldest[key] = min(oldest.get(key, job.created_at), job.created_at)
        return [
            QueueDepth(queue=q, state=s, count=n, oldest_created_at=oldest[q, s])
            for (q, s), n in sorted(counts.items())
        ]

    async def farm_stats(self, window: StatsWindow, *, tenant: str) -> FarmStats:
        with self._lock:
            jobs = list(self._state.jobs.values())
            attempts = {job_id: dict(numbered) for job_id, numbered in self._state.attempts.items()}
        return aggregate(jobs, attempts, window, tenant)

    async def list_attempts(self, job_id: str, *, tenant: str | None = None) -> list[Attempt]:
        await self.get_job(job_id, tenant=tenant)
        with self._lock:
            return sorted(self._state.attempts.get(job_id, {}).values(), key=lambda a: a.number)

    # --- jobs, node side ---------------------------------------------------------------------
    async def claim_next(
        self,
        session_id: str,
        *,
        now: datetime,
        queues: Sequence[str] | None = None,
        capabilities: NodeCapabilities | None = None,
    ) -> Job | None:
        return self._write(
            lambda tx: ops.claim_next(
                tx, self._policy, session_id, now=now, queues=queues, caps=capabilities
            )
        )

    async def claim_batch(
        self, requests: Sequence[ClaimRequest], *, now: datetime
    ) -> list[ClaimOutcome]:
        return self._write(lambda tx: ops.claim_batch(tx, self._policy, requests, now=now))

    async def renew_leases(
        self, session_id: str, *, now: datetime, job_ids: Sequence[str] | None = None
    ) -> LeaseRenewal:
        return self._write(lambda tx: ops.renew(tx, self._policy, session_id, now, job_ids))

    async def renew_batch(
        self, requests: Sequence[RenewalRequest], *, now: datetime
    ) -> list[RenewalOutcome]:
        return self._write(lambda tx: ops.renew_batch(tx, self._policy, requests, now=now))

    async def report_progress(
        self,
        job_id: str,
        *,
        attempt: int,
        session_id: str,
        now: datetime,
        progress: float | None,
        partial: JsonObject | None = None,
    ) -> Job:
        change = ops.progress(progress, partial, now)
        return self._write(
            lambda tx: ops.report(
                tx, self._policy, job_id, number=attempt, session_id=session_id, change=change
            )
        )

    async def complete_job(
        self,
        job_id: str,
        *,
        attempt: int,
        session_id: str,
        now: datetime,
        result: JsonObject,
        attribution: Attribution | None = None,
    ) -> Job:
        change = ops.completion(result, now, attribution)
        return self._write(
            lambda tx: ops.report(
                tx, self._policy, job_id, number=attempt, session_id=session_id, change=change
            )
        )

    async def fail_job(
        self,
        job_id: str,
        *,
        attempt: int,
        session_id: str,
        now: datetime,
        error: str,
        attribution: Attribution | None = None,
    ) -> Job:
        change = ops.failure(error, now, attribution)
        return self._write(
            lambda tx: ops.report(
                tx, self._policy, job_id, number=attempt, session_id=session_id, change=change
            )
        )

    async def release_job(
        self, job_id: str, *, attempt: int, session_id: str, now: datetime, reason: str = ""
    ) -> Job:
        change = ops.release(reason, now)
        return self._write(
            lambda tx: ops.report(
                tx, self._policy, job_id, number=attempt, session_id=session_id, change=change
            )
        )

    async def expire_leases(self, *, now: datetime, limit: int = 1000) -> list[Job]:
        return self._write(lambda tx: ops.expire(tx, self._policy, now, limit))

    # --- node sessions -----------------------------------------------------------------------
    async def register_node(
        self,
        *,
        tenant: str,
        name: str,
        capabilities: NodeCapabilities,
        token_sha256: str,
        now: datetime,
        session_id: str | None = None,
    ) -> NodeSession:
        return self._write(
            lambda tx: ops.register(
                tx,
                self._policy,
                tenant=tenant,
                name=name,
                capabilities=capabilities,
                token_sha256=token_sha256,
                now=now,
                session_id=session_id,
            )
        )

    async def get_node(self, session_id: str, *, tenant: str | None = None) -> NodeSession:
        with self._lock:
            session = self._state.sessions.get(session_id)
        if session is None or (tenant is not None and session.tenant != tenant):
            raise NotFoundError(f"node session {session_id} does not exist.")
        return session

    async def list_nodes(
        self, *, tenant: str | None = None, live_at: datetime | None = None
    ) -> list[NodeSession]:
        with self._lock:
            sessions = list(self._state.sessions.values())
        if tenant is not None:
            sessions = [s for s in sessions if s.tenant == tenant]
        if live_at is not None:
            sessions = [s for s in sessions if s.is_live(live_at)]
        return sorted(sessions, key=lambda s: (s.name, s.id))

    async def count_nodes(self, *, live_at: datetime) -> int:
        with self._lock:
            return sum(s.is_live(live_at) for s in self._state.sessions.values())

    async def forget_node(self, session_id: str, *, now: datetime) -> list[Job]:
        return self._write(lambda tx: ops.forget_node(tx, session_id, now))

    async def expire_nodes(self, *, now: datetime) -> list[str]:
        def operation(tx: MemoryTransaction) -> list[str]:
            expired = tx.expired_sessions(now)
            tx.delete_sessions(expired)
            return expired

        return self._write(operation)

    # --- events ------------------------------------------------------------------------------
    async def append_event(
        self, job_id: str, event_type: EventType, data: JsonObject, *, now: datetime
    ) -> JobEvent:
        return self._write(lambda tx: tx.add_event(ops.load_job(tx, job_id), event_type, data, now))

    async def list_events(
        self, job_id: str, *, after: int = 0, limit: int = 1000, tenant: str | None = None
    ) -> list[JobEvent]:
        await self.get_job(job_id, tenant=tenant)
        with self._lock:
            events = self._state.events_by_job.get(job_id, [])
            return [event for event in events if event.seq > after][:limit]

    # --- API tokens --------------------------------------------------------------------------
    async def create_token(self, token: ApiToken) -> ApiToken:
        with self._lock:
            taken = any(t.token_sha256 == token.token_sha256 for t in self._state.tokens.values())
            if token.id in self._state.tokens or taken:
                raise ConflictError(f"token {token.id} (or its secret) already exists.")
            self._state.tokens[token.id] = token
        return token

    async def find_token(self, token_sha256: str) -> ApiToken | None:
        with self._lock:
            found = (t for t in self._state.tokens.values() if t.token_sha256 == token_sha256)
            return next(found, None)

    async def list_tokens(self, *, tenant: str | None = None) -> list[ApiToken]:
        with self._lock:
            tokens = list(self._state.tokens.values())
        chosen = [t for t in tokens if tenant is None or t.tenant == tenant]
        return sorted(chosen, key=lambda t: (t.created_at, t.id))

    async def revoke_token(self, token_id: str, *, now: datetime) -> ApiToken:
        with self._lock:
            token = self._state.tokens.get(token_id)
            if token is None:
                raise NotFoundError(f"token {token_id} does not exist.")
            if token.revoked_at is None:
                token = dataclasses.replace(token, revoked_at=now)
                self._state.tokens[token_id] = token
            return token

    async def prune_finished(self, *, finished_before: datetime, limit: int = 1000) -> int:
        with self._lock:
            state = self._state
            old = sorted(
                (job.finished_at, job.id)
                for job in state.jobs.values()
                if job.is_terminal
                and job.finished_at is not None
                and job.finished_at < finished_before
            )[:limit]
            for _, job_id in old:
                job = state.jobs.pop(job_id)
                if job.idempotency_key is not None:
                    state.keys.pop((job.tenant, job.idempotency_key), None)
                state.attempts.pop(job_id, None)
                state.events_by_job.pop(job_id, None)
                self._frames.pop(job_id, None)
            return len(old)

    # --- tune probes kept across searches -----------------------------------------------------
    async def save_tune_probe(self, tenant: str, probe: TuneProbe) -> None:
        with self._lock:
            self._probes[tenant, probe.key] = probe

    async def find_tune_probes(self, tenant: str, keys: Sequence[str]) -> dict[str, TuneProbe]:
        with self._lock:
            found = (self._probes.get((tenant, key)) for key in keys)
            return {probe.key: probe for probe in found if probe is not None}

    async def prune_tune_probes(self, *, created_before: datetime, limit: int = 1000) -> int:
        with self._lock:
            old = sorted(
                (probe.created_at, tenant, key)
                for (tenant, key), probe in self._probes.items()
                if probe.created_at < created_before
            )[:limit]
            for _, tenant, key in old:
                del self._probes[tenant, key]
            return len(old)

    # --- the store itself --------------------------------------------------------------------
    async def try_sweep_lock(self) -> bool:
        return True  # one controller per memory store

    async def vacuum_queue(self) -> list[str]:
        return []

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
