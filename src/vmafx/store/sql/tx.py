"""`SqlTransaction`: the store's Transaction port over one SQLAlchemy connection.

On PostgreSQL every job read locks its row (`FOR UPDATE`; claims and the expiry sweep add
`SKIP LOCKED`). On SQLite the whole write transaction holds the database lock from BEGIN
IMMEDIATE, so plain reads are already safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from vmafx.core.attempts import Attempt
from vmafx.core.events import EventType, JobEvent
from vmafx.core.jobs import Job, JobState, JsonObject
from vmafx.core.nodes import NodeCapabilities, NodeSession, QueueSelection
from vmafx.store.sql import rows
from vmafx.store.sql.schema import attempts, job_events, jobs, node_sessions
from vmafx.store.transaction import OrderKey

_RUNNING = JobState.RUNNING.value


class SqlTransaction:
    def __init__(self, connection: Connection) -> None:
        self._conn = connection
        self._locks = connection.dialect.name == "postgresql"

    def _lock(self, stmt: sa.Select[Any], *, skip_locked: bool = False) -> sa.Select[Any]:
        return stmt.with_for_update(skip_locked=skip_locked) if self._locks else stmt

    def _jobs(self, stmt: sa.Select[Any]) -> list[Job]:
        return [rows.job_from_row(row) for row in self._conn.execute(stmt).mappings()]

    # --- jobs --------------------------------------------------------------------------------
    def job(self, job_id: str) -> Job | None:
        found = self._jobs(self._lock(sa.select(jobs).where(jobs.c.id == job_id)))
        return found[0] if found else None

    def job_by_key(self, tenant: str, key: str) -> Job | None:
        stmt = sa.select(jobs).where(jobs.c.tenant == tenant, jobs.c.idempotency_key == key)
        found = self._jobs(self._lock(stmt))
        return found[0] if found else None

    def insert_jobs(self, new_jobs: Sequence[Job]) -> None:
        if new_jobs:
            self._conn.execute(sa.insert(jobs), [rows.job_values(job) for job in new_jobs])

    def update_job(self, job: Job) -> None:
        values = rows.job_values(job)
        del values["id"]
        self._conn.execute(sa.update(jobs).where(jobs.c.id == job.id).values(**values))

    def running_by_queue(self, session_id: str) -> dict[str, int]:
        stmt = (
            sa.select(jobs.c.queue, sa.func.count())
            .where(jobs.c.lease_session == session_id, jobs.c.state == _RUNNING)
            .group_by(jobs.c.queue)
        )
        return dict(self._conn.execute(stmt).all())

    def running_jobs(self, session_id: str) -> list[Job]:
        stmt = (
            sa.select(jobs)
            .where(jobs.c.lease_session == session_id, jobs.c.state == _RUNNING)
            .order_by(jobs.c.id)
        )
        return self._jobs(self._lock(stmt))

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
        c = jobs.c
        stmt = sa.select(jobs).where(
            c.tenant == tenant,
            c.state == JobState.PENDING.value,
            c.available_at <= now,
            # Necessary conditions of the policy's matching, so the scan skips hopeless jobs.
            sa.or_(c.req_backend.is_(None), c.req_backend.in_(caps.backends)),
            sa.or_(c.req_gpu_vendor.is_(None), c.req_gpu_vendor.in_(sorted(caps.vendors))),
            sa.or_(c.req_encoder.is_(None), c.req_encoder.in_(caps.encoders)),
            sa.or_(
                c.req_min_gpu_memory_mb.is_(None),
                c.req_min_gpu_memory_mb <= caps.max_gpu_memory_mb,
            ),
        )
        if selection.allowed is not None:
            stmt = stmt.where(c.queue.in_(sorted(selection.allowed)))
        if selection.blocked:
            stmt = stmt.where(c.queue.not_in(sorted(selection.blocked)))
        if after is not None:
            stmt = stmt.where(_after(after))
        stmt = stmt.order_by(c.priority.desc(), c.created_at, c.id).limit(limit)
        return self._jobs(self._lock(stmt, skip_locked=True))

    def expired_jobs(self, now: datetime, limit: int) -> list[Job]:
        stmt = (
            sa.select(jobs)
            .where(jobs.c.state == _RUNNING, jobs.c.lease_expires_at < now)
            .order_by(jobs.c.id)
            .limit(limit)
        )
        return self._jobs(self._lock(stmt, skip_locked=True))

    # --- attempts and events -----------------------------------------------------------------
    def attempt(self, job_id: str, number: int) -> Attempt | None:
        stmt = sa.select(attempts).where(attempts.c.job_id == job_id, attempts.c.number == number)
        row = self._conn.execute(stmt).mappings().first()
        return rows.attempt_from_row(row) if row else None

    def attempts(self, job_id: str) -> list[Attempt]:
        stmt = sa.select(attempts).where(attempts.c.job_id == job_id).order_by(attempts.c.number)
        return [rows.attempt_from_row(row) for row in self._conn.execute(stmt).mappings()]

    def insert_attempt(self, attempt: Attempt) -> None:
        self._conn.execute(sa.insert(attempts), [rows.attempt_values(attempt)])

    def update_attempt(self, attempt: Attempt) -> None:
        values = rows.attempt_values(attempt)
        key = (attempts.c.job_id == attempt.job_id) & (attempts.c.number == attempt.number)
        self._conn.execute(sa.update(attempts).where(key).values(**values))

    def add_event(
        self, job: Job, event_type: EventType, data: JsonObject, now: datetime
    ) -> JobEvent:
        values = {"job_id": job.id, "tenant": job.tenant, "at": now, "type": event_type.value}
        result = self._conn.execute(sa.insert(job_events).values(data=dict(data), **values))
        seq = result.inserted_primary_key[0] if result.inserted_primary_key else 0
        return JobEvent(seq=int(seq), type=event_type, data=dict(data), **_no_type(values))

    def add_events(self, events: Sequence[tuple[Job, EventType, JsonObject]]) -> None:
        values = [
            {
                "job_id": job.id,
                "tenant": job.tenant,
                "at": job.updated_at,
                "type": event_type.value,
                "data": dict(data),
            }
            for job, event_type, data in events
        ]
        if values:
            self._conn.execute(sa.insert(job_events), values)

    # --- node sessions -----------------------------------------------------------------------
    def session(self, session_id: str) -> NodeSession | None:
        stmt = sa.select(node_sessions).where(node_sessions.c.id == session_id)
        row = self._conn.execute(stmt).mappings().first()
        return rows.session_from_row(row) if row else None

    def save_session(self, session: NodeSession) -> None:
        values = rows.session_values(session)
        stmt = sa.update(node_sessions).where(node_sessions.c.id == session.id).values(**values)
        if self._conn.execute(stmt).rowcount == 0:
            self._conn.execute(sa.insert(node_sessions), [values])

    def delete_sessions(self, session_ids: Sequence[str]) -> None:
        if session_ids:
            stmt = sa.delete(node_sessions).where(node_sessions.c.id.in_(list(session_ids)))
            self._conn.execute(stmt)

    def expired_sessions(self, now: datetime) -> list[str]:
        stmt = (
            sa.select(node_sessions.c.id)
            .where(node_sessions.c.expires_at < now)
            .order_by(node_sessions.c.id)
        )
        return list(self._conn.execute(stmt).scalars())


def _after(key: OrderKey) -> sa.ColumnElement[bool]:
    """Rows after `key` in claim order (priority desc, created_at, id)."""
    negated_priority, created_at, job_id = key
    priority, c = -negated_priority, jobs.c
    return sa.or_(
        c.priority < priority,
        sa.and_(
            c.priority == priority,
            sa.or_(c.created_at > created_at, sa.and_(c.created_at == created_at, c.id > job_id)),
        ),
    )


def _no_type(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if key != "type"}
