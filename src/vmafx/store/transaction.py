"""The transaction port the shared store operations run on.

A store adapter implements `Transaction` over its own storage (dicts, SQL rows); the operations
in `vmafx.store.operations` then give every adapter the same semantics. Reads of jobs inside a
transaction lock them (PostgreSQL `FOR UPDATE`; SQLite holds the write lock from the start).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from vmafx.core.attempts import Attempt
from vmafx.core.events import EventType, JobEvent
from vmafx.core.jobs import Job, JsonObject
from vmafx.core.nodes import NodeCapabilities, NodeSession, QueueSelection

#: (−priority, created_at, id): the claim order key of the last job seen.
OrderKey = tuple[int, datetime, str]


class Transaction(Protocol):
    def job(self, job_id: str) -> Job | None: ...

    def job_and_attempt(self, job_id: str, number: int) -> tuple[Job | None, Attempt | None]:
        """The job (locked, as `job` does) and its attempt `number`, in one read."""
        ...

    def job_by_key(self, tenant: str, key: str) -> Job | None: ...

    def insert_jobs(self, jobs: Sequence[Job]) -> None:
        """Insert new jobs; raises ConflictError (or the adapter's own error) on a known id."""
        ...

    def update_job(self, job: Job, *, before: Job | None = None) -> None:
        """Write the job back; `before` (the job as read in this transaction) lets an adapter
        write only what changed."""
        ...

    def save_claims(self, jobs: Sequence[Job]) -> None:
        """Write back jobs just claimed (`lifecycle.claimed`), at once; an adapter may write
        only what a claim changes: state, attempt, lease, start, progress, reason, update time."""
        ...

    def save_cancels(self, jobs: Sequence[Job]) -> None:
        """Write back jobs just cancelled (`lifecycle.cancelled`), at once; an adapter may write
        only what a cancel changes: state, lease, error, finish and update times."""
        ...

    def set_pending_reasons(self, reasons: Mapping[str, str | None]) -> None:
        """Set the pending reason of each job still pending (others, and unknown ids, are left
        alone), in one round trip where the adapter can."""
        ...

    def attempt(self, job_id: str, number: int) -> Attempt | None: ...

    def attempts(self, job_id: str) -> list[Attempt]: ...

    def insert_attempts(self, attempts: Sequence[Attempt]) -> None: ...

    def update_attempt(self, attempt: Attempt) -> None: ...

    def add_event(
        self, job: Job, event_type: EventType, data: JsonObject, now: datetime
    ) -> JobEvent: ...

    def add_events(self, events: Sequence[tuple[Job, EventType, JsonObject]]) -> None:
        """Append many events at once, each stamped with its job's `updated_at`."""
        ...

    def session(self, session_id: str) -> NodeSession | None: ...

    def claim_sessions(
        self, session_ids: Sequence[str]
    ) -> dict[str, tuple[NodeSession, dict[str, int] | None]]:
        """The known sessions among `session_ids` with their stored running bounds, locked for
        the claim (PostgreSQL: `FOR UPDATE`, in id order, so batches cannot deadlock).

        A session's running bound is an upper bound of the jobs it runs per queue, kept by
        the claims themselves (None: not known yet); see `operations.claim_batch`.
        """
        ...

    def save_running_bounds(self, bounds: Mapping[str, Mapping[str, int]]) -> None: ...

    def save_session(self, session: NodeSession) -> None: ...

    def delete_sessions(self, session_ids: Sequence[str]) -> None: ...

    def expired_sessions(self, now: datetime) -> list[str]: ...

    def touch_sessions(
        self, session_ids: Sequence[str], *, now: datetime, expires_at: datetime
    ) -> set[str]:
        """Mark the live sessions among `session_ids` seen at `now`, lasting until `expires_at`,
        in one write (PostgreSQL: their rows locked in id order, as `claim_sessions` locks
        them, so the two cannot deadlock); the ids touched (unknown and expired ones are not)."""
        ...

    def renew_leases(
        self,
        wanted: Sequence[tuple[str, Sequence[str] | None]],
        *,
        now: datetime,
        expires_at: datetime,
    ) -> dict[str, set[str]]:
        """Extend to `expires_at` the leases of the jobs running under each session of `wanted`
        (those of its job ids, or all when None), in one write; per session, the ids renewed
        (a session with none renewed may be left out)."""
        ...

    def running_by_queue(self, session_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """How many jobs each session runs per queue, in one read (no locks taken); a session
        that runs nothing maps to {}."""
        ...

    def running_jobs(self, session_id: str) -> list[Job]:
        """Jobs running under a session's lease, locked, in id order."""
        ...

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
        """Pending jobs due by `now` in the admitted queues, in claim order after `after`.

        An adapter may leave out jobs whose scalar requirements `caps` cannot meet and jobs
        another transaction is claiming (SKIP LOCKED); the policy makes the final decision.
        """
        ...

    def expired_jobs(self, now: datetime, limit: int) -> list[Job]:
        """Running jobs whose lease ended before `now`, locked (skipping locked ones)."""
        ...
