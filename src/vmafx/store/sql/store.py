"""`SqlJobStore`: the JobStore on SQLite or PostgreSQL through SQLAlchemy Core.

SQLAlchemy runs synchronously in worker threads (`asyncio.to_thread`), one pooled connection
per call, so concurrent calls are truly concurrent and claims rely on the database's locks.
State changes run the shared operations (`vmafx.store.operations`) in one transaction each.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from vmafx.core.attempts import Attempt, Attribution
from vmafx.core.events import EventType, JobEvent
from vmafx.core.jobs import TERMINAL_STATES, Job, JobState, JsonObject
from vmafx.core.messages import JobPage
from vmafx.core.nodes import NodeCapabilities, NodeSession
from vmafx.core.stats import FarmStats, StatsWindow
from vmafx.core.tokens import ApiToken
from vmafx.errors import ConflictError, NotFoundError, UnavailableError, UsageError
from vmafx.scheduler.policy import Scheduler
from vmafx.store import operations as ops
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
from vmafx.store.sql import queries, rows, stats
from vmafx.store.sql.engine import create_engine, parse_store_url, redacted, writer
from vmafx.store.sql.migrate import SchemaStatus, schema_status
from vmafx.store.sql.schema import api_tokens, job_frames, jobs, tune_probes
from vmafx.store.sql.tx import SqlTransaction
from vmafx.store.sql.vacuum import vacuum_due

T = TypeVar("T")
log = logging.getLogger(__name__)

#: Tries of one transaction that hit a deadlock, a serialisation failure or a unique race.
TRIES = 4
_RETRY_STATES = frozenset({"40001", "40P01"})
#: The PostgreSQL advisory lock key of the periodic sweeps ("vmafxswp" as a signed bigint).
SWEEP_LOCK_KEY = int.from_bytes(b"vmafxswp", "big")


class SqlJobStore:
    """A JobStore on `sqlite:///PATH` or `postgresql://…`. Apply migrations first (`upgrade`)."""

    def __init__(self, url: str, policy: Scheduler, *, pool_size: int = 10) -> None:
        self._url = parse_store_url(url)
        self._policy = policy
        self._engine = create_engine(self._url, pool_size=pool_size)
        self._writer = writer(self._engine)
        self._sweep_guard = threading.Lock()
        #: The connection holding the sweep lock (PostgreSQL), never returned to the pool.
        self._sweep_holder: Connection | None = None

    def __repr__(self) -> str:
        return f"SqlJobStore({redacted(self._url)!r})"

    # --- plumbing ----------------------------------------------------------------------------
    async def _read(self, work: Callable[[Connection], T]) -> T:
        return await asyncio.to_thread(self._run, work, write=False)

    async def _write(self, work: Callable[[SqlTransaction], T]) -> T:
        return await asyncio.to_thread(self._run, lambda c: work(SqlTransaction(c)), write=True)

    def _run(self, work: Callable[[Connection], T], *, write: bool) -> T:
        engine = self._writer if write else self._engine
        for attempt in range(1, TRIES + 1):
            try:
                with engine.begin() as connection:
                    return work(connection)
            except sa.exc.DBAPIError as error:
                if _retryable(error, attempt):
                    log.debug("store transaction retried", extra={"error": str(error.orig)})
                    continue
                raise self._translate(error) from error
        raise AssertionError("unreachable")  # pragma: no cover

    def _translate(self, error: sa.exc.DBAPIError) -> Exception:
        detail = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        if isinstance(error, sa.exc.IntegrityError):
            return ConflictError(f"the store refused the change: {detail}")
        if isinstance(error, sa.exc.DataError):
            return UsageError(f"the store refused a value: {detail}")
        if "no such table" in detail or _sqlstate(error) == "42P01":
            return UnavailableError(
                f"job store {redacted(self._url)} has no vmafx schema: {detail}",
                hint="Run `vmafx controller migrate` against it.",
            )
        return UnavailableError(
            f"job store {redacted(self._url)} is unavailable: {detail}",
            hint="Check that the database is running and reachable; calls can be retried.",
        )

    # --- jobs, client side -------------------------------------------------------------------
    async def submit_job(self, job: Job) -> Job:
        return await self._write(lambda tx: ops.submit(tx, [job])[0])

    async def submit_jobs(self, jobs: Sequence[Job]) -> list[Job]:
        return await self._write(lambda tx: ops.submit(tx, jobs))

    async def get_job(self, job_id: str, *, tenant: str | None = None) -> Job:
        job = await self._read(lambda c: queries.job(c, job_id))
        if job is None or (tenant is not None and job.tenant != tenant):
            raise NotFoundError(f"job {job_id} does not exist.")
        return job

    async def list_jobs(
        self, query: JobQuery, *, limit: int = 100, cursor: str | None = None
    ) -> JobPage:
        return await self._read(lambda c: queries.list_jobs(c, query, limit, cursor))

    async def batch_counts(
        self, prefix: str, *, tenant: str | None = None
    ) -> dict[str, dict[JobState, int]]:
        return await self._read(lambda c: queries.batch_counts(c, prefix, tenant))

    async def count_jobs(self, query: JobQuery) -> dict[JobState, int]:
        return await self._read(lambda c: queries.count_jobs(c, query))

    async def cancel_job(
        self, job_id: str, *, now: datetime, tenant: str | None = None, reason: str | None = None
    ) -> Job:
        return await self._write(lambda tx: ops.cancel(tx, job_id, now, tenant, reason))

    async def cancel_jobs(
        self, job_ids: Sequence[str], *, now: datetime, tenant: str | None = None, reason: str
    ) -> list[Job]:
        return await self._write(lambda tx: ops.cancel_many(tx, job_ids, now, tenant, reason))

    async def save_frames(self, job_id: str, frames: Mapping[int, bytes]) -> None:
        await self.get_job(job_id)

        def work(c: Connection) -> None:
            c.execute(sa.delete(job_frames).where(job_frames.c.job_id == job_id))
            if frames:
                values = [
                    {"job_id": job_id, "input_index": index, "data": data}
                    for index, data in sorted(frames.items())
                ]
                c.execute(sa.insert(job_frames), values)

        await asyncio.to_thread(self._run, work, write=True)

    async def get_frames(self, job_id: str, *, tenant: str | None = None) -> dict[int, bytes]:
        await self.get_job(job_id, tenant=tenant)
        stmt = sa.select(job_frames.c.input_index, job_frames.c.data).where(
            job_frames.c.job_id == job_id
        )
        found = await self._read(lambda c: c.execute(stmt).all())
        return {int(index): bytes(data) for index, data in found}

    async def set_pending_reasons(self, reasons: Mapping[str, str | None]) -> None:
        await self._write(lambda tx: ops.set_pending_reasons(tx, reasons))

    async def queue_depths(self, *, tenant: str | None = None) -> list[QueueDepth]:
        return await self._read(lambda c: queries.queue_depths(c, tenant))

    async def farm_stats(self, window: StatsWindow, *, tenant: str) -> FarmStats:
        return await self._read(lambda c: stats.farm_stats(c, window, tenant))

    async def list_attempts(self, job_id: str, *, tenant: str | None = None) -> list[Attempt]:
        await self.get_job(job_id, tenant=tenant)
        return await self._read(lambda c: SqlTransaction(c).attempts(job_id))

    # --- jobs, node side ---------------------------------------------------------------------
    async def claim_next(
        self,
        session_id: str,
        *,
        now: datetime,
        queues: Sequence[str] | None = None,
        capabilities: NodeCapabilities | None = None,
    ) -> Job | None:
        return await self._write(
            lambda tx: ops.claim_next(
                tx, self._policy, session_id, now=now, queues=queues, caps=capabilities
            )
        )

    async def claim_batch(
        self, requests: Sequence[ClaimRequest], *, now: datetime
    ) -> list[ClaimOutcome]:
        return await self._write(lambda tx: ops.claim_batch(tx, self._policy, requests, now=now))

    async def renew_leases(
        self, session_id: str, *, now: datetime, job_ids: Sequence[str] | None = None
    ) -> LeaseRenewal:
        return await self._write(lambda tx: ops.renew(tx, self._policy, session_id, now, job_ids))

    async def renew_batch(
        self, requests: Sequence[RenewalRequest], *, now: datetime
    ) -> list[RenewalOutcome]:
        return await self._write(lambda tx: ops.renew_batch(tx, self._policy, requests, now=now))

    async def _report(self, job_id: str, attempt: int, session_id: str, change: ops.Change) -> Job:
        return await self._write(
            lambda tx: ops.report(
                tx, self._policy, job_id, number=attempt, session_id=session_id, change=change
            )
        )

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
        return await self._report(job_id, attempt, session_id, change)

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
        return await self._report(job_id, attempt, session_id, change)

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
        return await self._report(job_id, attempt, session_id, change)

    async def release_job(
        self, job_id: str, *, attempt: int, session_id: str, now: datetime, reason: str = ""
    ) -> Job:
        return await self._report(job_id, attempt, session_id, ops.release(reason, now))

    async def expire_leases(self, *, now: datetime, limit: int = 1000) -> list[Job]:
        return await self._write(lambda tx: ops.expire(tx, self._policy, now, limit))

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
        return await self._write(
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
        session = await self._read(lambda c: SqlTransaction(c).session(session_id))
        if session is None or (tenant is not None and session.tenant != tenant):
            raise NotFoundError(f"node session {session_id} does not exist.")
        return session

    async def list_nodes(
        self, *, tenant: str | None = None, live_at: datetime | None = None
    ) -> list[NodeSession]:
        return await self._read(lambda c: queries.list_nodes(c, tenant, live_at))

    async def count_nodes(self, *, live_at: datetime) -> int:
        return await self._read(lambda c: queries.count_nodes(c, live_at))

    async def forget_node(self, session_id: str, *, now: datetime) -> list[Job]:
        return await self._write(lambda tx: ops.forget_node(tx, session_id, now))

    async def expire_nodes(self, *, now: datetime) -> list[str]:
        def work(tx: SqlTransaction) -> list[str]:
            expired = tx.expired_sessions(now)
            tx.delete_sessions(expired)
            return expired

        return await self._write(work)

    # --- events ------------------------------------------------------------------------------
    async def append_event(
        self, job_id: str, event_type: EventType, data: JsonObject, *, now: datetime
    ) -> JobEvent:
        return await self._write(
            lambda tx: tx.add_event(ops.load_job(tx, job_id), event_type, data, now)
        )

    async def list_events(
        self, job_id: str, *, after: int = 0, limit: int = 1000, tenant: str | None = None
    ) -> list[JobEvent]:
        await self.get_job(job_id, tenant=tenant)
        return await self._read(lambda c: queries.list_events(c, job_id, after, limit))

    # --- API tokens --------------------------------------------------------------------------
    async def create_token(self, token: ApiToken) -> ApiToken:
        def work(c: Connection) -> ApiToken:
            c.execute(sa.insert(api_tokens), [rows.token_values(token)])
            return token

        return await asyncio.to_thread(self._run, work, write=True)

    async def find_token(self, token_sha256: str) -> ApiToken | None:
        return await self._read(
            lambda c: queries.token_by(c, api_tokens.c.token_sha256, token_sha256)
        )

    async def list_tokens(self, *, tenant: str | None = None) -> list[ApiToken]:
        return await self._read(lambda c: queries.list_tokens(c, tenant))

    async def revoke_token(self, token_id: str, *, now: datetime) -> ApiToken:
        token = await asyncio.to_thread(
            self._run, lambda c: queries.revoke_token(c, token_id, now), write=True
        )
        if token is None:
            raise NotFoundError(f"token {token_id} does not exist.")
        return token

    async def prune_finished(self, *, finished_before: datetime, limit: int = 1000) -> int:
        # Attempts and events go with their job (foreign keys ON DELETE CASCADE).
        doomed = (
            sa.select(jobs.c.id)
            .where(
                jobs.c.state.in_([state.value for state in TERMINAL_STATES]),
                jobs.c.finished_at < finished_before,
            )
            .order_by(jobs.c.finished_at)
            .limit(limit)
        )
        if self._url.get_backend_name() == "postgresql":
            doomed = doomed.with_for_update(skip_locked=True)

        def work(c: Connection) -> int:
            return c.execute(
                sa.delete(jobs).where(jobs.c.id.in_(doomed.scalar_subquery()))
            ).rowcount

        return await asyncio.to_thread(self._run, work, write=True)

    # --- tune probes kept across searches -----------------------------------------------------
    async def save_tune_probe(self, tenant: str, probe: TuneProbe) -> None:
        values = rows.tune_probe_row(tenant, probe)
        mine = (tune_probes.c.tenant == tenant) & (tune_probes.c.key == probe.key)

        def work(c: Connection) -> None:
            c.execute(sa.delete(tune_probes).where(mine))
            c.execute(sa.insert(tune_probes), [values])

        await asyncio.to_thread(self._run, work, write=True)

    async def find_tune_probes(self, tenant: str, keys: Sequence[str]) -> dict[str, TuneProbe]:
        if not keys:
            return {}
        stmt = sa.select(tune_probes).where(
            tune_probes.c.tenant == tenant, tune_probes.c.key.in_(list(keys))
        )
        found = await self._read(lambda c: c.execute(stmt).mappings().all())
        return {row["key"]: rows.tune_probe_from_row(row) for row in found}

    async def prune_tune_probes(self, *, created_before: datetime, limit: int = 1000) -> int:
        doomed = (
            sa.select(tune_probes.c.tenant, tune_probes.c.key)
            .where(tune_probes.c.created_at < created_before)
            .order_by(tune_probes.c.created_at)
            .limit(limit)
        )

        def work(c: Connection) -> int:
            pairs = [tuple(row) for row in c.execute(doomed).all()]
            if not pairs:
                return 0
            which = sa.tuple_(tune_probes.c.tenant, tune_probes.c.key).in_(pairs)
            return c.execute(sa.delete(tune_probes).where(which)).rowcount

        return await asyncio.to_thread(self._run, work, write=True)

    # --- the store itself --------------------------------------------------------------------
    async def try_sweep_lock(self) -> bool:
        if self._url.get_backend_name() != "postgresql":
            return True  # SQLite: one controller per file (vmafx.store.sql.owner)
        return await asyncio.to_thread(self._try_sweep_lock)

    def _try_sweep_lock(self) -> bool:
        with self._sweep_guard:
            if self._sweep_holder is not None:
                try:
                    self._sweep_holder.exec_driver_sql("SELECT 1")
                    self._sweep_holder.commit()
                    return True
                except sa.exc.DBAPIError as error:
                    log.warning("the sweep lock's connection was lost: %s", error.orig)
                    self._drop_sweep_holder()
            try:
                connection = self._engine.connect()
            except sa.exc.DBAPIError as error:
                raise self._translate(error) from error
            try:
                held = connection.execute(
                    sa.select(sa.func.pg_try_advisory_lock(SWEEP_LOCK_KEY))
                ).scalar_one()
                connection.commit()
            except sa.exc.DBAPIError as error:
                connection.invalidate()
                connection.close()
                raise self._translate(error) from error
            if held:
                self._sweep_holder = connection
                log.info("this controller now runs the periodic sweeps")
            else:
                connection.close()
            return bool(held)

    async def vacuum_queue(self) -> list[str]:
        if self._url.get_backend_name() != "postgresql":
            return []
        try:
            return await asyncio.to_thread(vacuum_due, self._engine)
        except sa.exc.DBAPIError as error:
            raise self._translate(error) from error

    def _drop_sweep_holder(self) -> None:
        """Close the lock's connection for real (a pooled one would keep the lock)."""
        holder, self._sweep_holder = self._sweep_holder, None
        if holder is not None:
            holder.invalidate()
            holder.close()

    def _release_sweep_lock(self) -> None:
        with self._sweep_guard:
            self._drop_sweep_holder()

    async def ping(self) -> None:
        status = await asyncio.to_thread(self._schema_status)
        if not status.is_current:
            raise UnavailableError(
                f"job store {redacted(self._url)} has schema {status.current or 'none'}, "
                f"this vmafx needs {status.head}.",
                hint="Run `vmafx controller migrate`.",
            )

    def _schema_status(self) -> SchemaStatus:
        try:
            with self._engine.connect() as connection:
                return schema_status(connection)
        except sa.exc.DBAPIError as error:
            raise self._translate(error) from error

    async def close(self) -> None:
        await asyncio.to_thread(self._release_sweep_lock)
        await asyncio.to_thread(self._engine.dispose)


def _sqlstate(error: sa.exc.DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None)


def _retryable(error: sa.exc.DBAPIError, attempt: int) -> bool:
    """Deadlocks and serialisation failures are retried; a unique violation once (it may be
    a concurrent submit of the same idempotency key, which the retry then finds)."""
    if isinstance(error, sa.exc.IntegrityError):
        return attempt == 1
    return attempt < TRIES and _sqlstate(error) in _RETRY_STATES
