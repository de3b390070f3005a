"""The statements a claim, a heartbeat and a report run, built once with bind parameters.

Building a SQLAlchemy statement (and its cache key) costs more than running it on SQLite, so
the hot paths execute these prebuilt statements with a parameter dict instead of building new
ones per call. Claim candidates vary in shape (queue filters, a resume position, row locks);
one statement per shape is built on first use and kept.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

from vmafx.core.jobs import JobState
from vmafx.store.sql.schema import attempts, job_events, jobs, node_sessions

P = sa.bindparam
_RUNNING = JobState.RUNNING.value
c = jobs.c

JOB_BY_ID = sa.select(jobs).where(c.id == P("job_id"))
JOB_BY_ID_LOCKED = JOB_BY_ID.with_for_update()
JOB_BY_KEY = sa.select(jobs).where(c.tenant == P("tenant"), c.idempotency_key == P("key"))
JOB_BY_KEY_LOCKED = JOB_BY_KEY.with_for_update()
#: Executed with `{"_id": job id, **column values}` (the SET clause is the dict's columns):
#: every column (`rows.job_values`), or what a claim changes (`rows.claim_values`).
UPDATE_JOB = sa.update(jobs).where(c.id == P("_id"))
INSERT_JOBS = sa.insert(jobs)
#: Executed with `{"_id": job id, "reason": text or None}`; touches pending jobs only.
SET_PENDING_REASON = (
    sa.update(jobs)
    .where(
        c.id == P("_id"),
        c.state == JobState.PENDING.value,
        c.pending_reason.is_distinct_from(P("reason")),
    )
    .values(pending_reason=P("reason"))
)

#: Executed with `{"session_ids": [...]}`: (session, queue, count) rows.
RUNNING_BY_QUEUE = (
    sa.select(c.lease_session, c.queue, sa.func.count())
    .where(c.lease_session.in_(P("session_ids", expanding=True)), c.state == _RUNNING)
    .group_by(c.lease_session, c.queue)
)
RUNNING_JOBS = (
    sa.select(jobs).where(c.lease_session == P("session_id"), c.state == _RUNNING).order_by(c.id)
)
RUNNING_JOBS_LOCKED = RUNNING_JOBS.with_for_update()

ATTEMPT = sa.select(attempts).where(
    attempts.c.job_id == P("job_id"), attempts.c.number == P("number")
)
#: Attempt columns beside a job's, prefixed: `JOB_AND_ATTEMPT` rows hold both.
ATTEMPT_PREFIX = "attempt_"
#: Executed with `{"job_id": …, "number": …}`: the job's row with its attempt `number`'s
#: columns (prefixed); no row when either is missing. Locked, both rows are: a report that
#: waited for a cancel's or an expiry's lock then reads the attempt as that left it (a row of
#: the join that were not locked would come from the statement's older snapshot).
JOB_AND_ATTEMPT = (
    sa.select(jobs, *(col.label(ATTEMPT_PREFIX + col.name) for col in attempts.c))
    .join(attempts, sa.and_(attempts.c.job_id == c.id, attempts.c.number == P("number")))
    .where(c.id == P("job_id"))
)
JOB_AND_ATTEMPT_LOCKED = JOB_AND_ATTEMPT.with_for_update(of=[jobs, attempts])
ATTEMPTS = sa.select(attempts).where(attempts.c.job_id == P("job_id")).order_by(attempts.c.number)
INSERT_ATTEMPT = sa.insert(attempts)
#: Executed with `{"_job_id": …, "_number": …, **column values}`.
UPDATE_ATTEMPT = sa.update(attempts).where(
    attempts.c.job_id == P("_job_id"), attempts.c.number == P("_number")
)
INSERT_EVENT = sa.insert(job_events)

SESSION = sa.select(node_sessions).where(node_sessions.c.id == P("session_id"))
SESSIONS = (
    sa.select(node_sessions)
    .where(node_sessions.c.id.in_(P("session_ids", expanding=True)))
    .order_by(node_sessions.c.id)
)
SESSIONS_LOCKED = SESSIONS.with_for_update()
SAVE_RUNNING_BOUND = (
    sa.update(node_sessions)
    .where(node_sessions.c.id == P("_id"))
    .values(running_bound=P("running_bound"))
)
_SEEN: dict[str, Any] = {"last_seen_at": P("now"), "expires_at": P("expires_at")}
_LIVE = (
    node_sessions.c.id.in_(P("session_ids", expanding=True)),
    node_sessions.c.expires_at >= P("now", type_=node_sessions.c.expires_at.type),
)
#: A lone heartbeat's (no lock order to keep, no ids to read back), executed with
#: `{"_id": session id, "now": …, "expires_at": …}`; touches a live session only.
TOUCH_SESSION = (
    sa.update(node_sessions).where(node_sessions.c.id == P("_id"), _LIVE[1]).values(**_SEEN)
)
#: Executed with `{"session_ids": [...], "now": …, "expires_at": …}`: the live sessions among
#: them marked seen; their ids. `_LOCKED`: their rows locked first in id order (PostgreSQL
#: otherwise locks them in the order it finds them; a claim batch locks them in id order).
TOUCH_SESSIONS = (
    sa.update(node_sessions).where(*_LIVE).values(**_SEEN).returning(node_sessions.c.id)
)
TOUCH_SESSIONS_LOCKED = (
    sa.update(node_sessions)
    .where(
        node_sessions.c.id.in_(
            sa.select(node_sessions.c.id)
            .where(*_LIVE)
            .order_by(node_sessions.c.id)
            .with_for_update()
            .scalar_subquery()
        )
    )
    .values(**_SEEN)
    .returning(node_sessions.c.id)
)


#: A lone heartbeat's, executed with `{"session_id": …, "now": …, "expires_at": …}` (and
#: "job_ids" when it names them): the leases of the jobs running under the session renewed;
#: their ids.
RENEW_SESSION_LEASES = (
    sa.update(jobs)
    .where(c.lease_session == P("session_id"), c.state == _RUNNING)
    .values(
        lease_expires_at=P("expires_at", type_=c.lease_expires_at.type),
        updated_at=P("now", type_=c.updated_at.type),
    )
    .returning(c.id)
)
RENEW_NAMED_SESSION_LEASES = RENEW_SESSION_LEASES.where(c.id.in_(P("job_ids", expanding=True)))


@functools.cache
def renew_leases(*, whole: bool, named: bool) -> sa.Update:
    """The leases of running jobs renewed, returning (id, lease_session); parameters: now,
    expires_at, and `whole` (sessions whose every lease renews) and / or `job_ids` with
    `pairs` ((session, job id) of the leases named) when those parts are on."""
    held: list[sa.ColumnElement[bool]] = []
    if whole:
        held.append(c.lease_session.in_(P("whole", expanding=True)))
    if named:  # the ids alone let the primary key find the rows; the pairs fence them
        pairs = sa.tuple_(c.lease_session, c.id).in_(P("pairs", expanding=True))
        held.append(sa.and_(c.id.in_(P("job_ids", expanding=True)), pairs))
    return (
        sa.update(jobs)
        .where(c.state == _RUNNING, sa.or_(*held))
        .values(
            lease_expires_at=P("expires_at", type_=c.lease_expires_at.type),
            updated_at=P("now", type_=c.updated_at.type),
        )
        .returning(c.id, c.lease_session)
    )


#: Executed with `{"_id": session id, **column values}`.
UPDATE_SESSION = sa.update(node_sessions).where(node_sessions.c.id == P("_id"))
INSERT_SESSION = sa.insert(node_sessions)


@functools.cache
def candidates(*, allowed: bool, blocked: bool, after: bool, lock: bool) -> sa.Select[Any]:
    """Pending jobs due by `:now` in claim order; parameters: tenant, now, backends, vendors,
    encoders, max_memory, limit, and allowed / blocked (queue lists), after_priority /
    after_created / after_id when those parts are on."""
    stmt = sa.select(jobs).where(
        c.tenant == P("tenant"),
        c.state == JobState.PENDING.value,
        c.available_at <= P("now", type_=c.available_at.type),
        # Necessary conditions of the policy's matching, so the scan skips hopeless jobs.
        sa.or_(c.req_backend.is_(None), c.req_backend.in_(P("backends", expanding=True))),
        sa.or_(c.req_gpu_vendor.is_(None), c.req_gpu_vendor.in_(P("vendors", expanding=True))),
        sa.or_(c.req_encoder.is_(None), c.req_encoder.in_(P("encoders", expanding=True))),
        sa.or_(c.req_min_gpu_memory_mb.is_(None), c.req_min_gpu_memory_mb <= P("max_memory")),
    )
    if allowed:
        stmt = stmt.where(c.queue.in_(P("allowed", expanding=True)))
    if blocked:
        stmt = stmt.where(c.queue.not_in(P("blocked", expanding=True)))
    if after:
        priority: sa.BindParameter[Any] = P("after_priority")
        created: sa.BindParameter[Any] = P("after_created", type_=c.created_at.type)
        stmt = stmt.where(
            sa.or_(
                c.priority < priority,
                sa.and_(
                    c.priority == priority,
                    sa.or_(
                        c.created_at > created,
                        sa.and_(c.created_at == created, c.id > P("after_id")),
                    ),
                ),
            )
        )
    stmt = stmt.order_by(c.priority.desc(), c.created_at, c.id).limit(P("limit"))
    return stmt.with_for_update(skip_locked=True) if lock else stmt
