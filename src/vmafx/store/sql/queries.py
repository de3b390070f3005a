"""Read-only queries of the SQL store (listings, counts, lookups) and token writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from vmafx.core.events import JobEvent
from vmafx.core.jobs import Job, JobState
from vmafx.core.jobsearch import Field, Term
from vmafx.core.messages import JobPage
from vmafx.core.nodes import NodeSession
from vmafx.core.tokens import ApiToken
from vmafx.store.paging import check_limit, decode_cursor, encode_cursor
from vmafx.store.port import JobQuery, QueueDepth
from vmafx.store.sql import rows
from vmafx.store.sql.schema import api_tokens, attempts, job_events, jobs, node_sessions


def job(connection: Connection, job_id: str) -> Job | None:
    row = connection.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().first()
    return rows.job_from_row(row) if row else None


def _like(text: str) -> str:
    """`text` as a LIKE pattern matching it anywhere (its own % _ and \\ taken literally)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _term(term: Term) -> sa.ColumnElement[bool]:
    c = jobs.c
    pattern = _like(term.text.lower())
    prefix = pattern[1:]
    checks: dict[Field, sa.ColumnElement[bool]] = {
        Field.ID: c.id.like(prefix, escape="\\"),
        Field.FILE: c.files.like(pattern, escape="\\"),
        Field.ERROR: sa.func.lower(c.error).like(pattern, escape="\\"),
        Field.NODE: sa.or_(
            sa.func.lower(c.lease_node).like(pattern, escape="\\"),
            sa.exists().where(
                attempts.c.job_id == c.id,
                sa.func.lower(attempts.c.node_name).like(pattern, escape="\\"),
            ),
        ),
    }
    if term.field is Field.ANY:
        return sa.or_(*checks.values())
    return checks[term.field]


def _where(query: JobQuery) -> list[sa.ColumnElement[bool]]:
    c = jobs.c
    where: list[sa.ColumnElement[bool]] = []
    if query.tenant is not None:
        where.append(c.tenant == query.tenant)
    if query.states:
        where.append(c.state.in_([state.value for state in query.states]))
    if query.kinds:
        where.append(c.kind.in_([kind.value for kind in query.kinds]))
    if query.queues:
        where.append(c.queue.in_(query.queues))
    if query.batch_id is not None:
        where.append(c.batch_id == query.batch_id)
    if query.parent_id is not None:
        where.append(c.parent_id == query.parent_id)
    if query.node_id is not None:
        where.append(c.lease_session == query.node_id)
    if query.job_ids:
        where.append(c.id.in_(query.job_ids))
    if query.created_after is not None:
        where.append(c.created_at >= query.created_after)
    if query.created_before is not None:
        where.append(c.created_at < query.created_before)
    where += [_term(term) for term in query.terms]
    return where


def list_jobs(connection: Connection, query: JobQuery, limit: int, cursor: str | None) -> JobPage:
    check_limit(limit)
    c = jobs.c
    stmt = sa.select(jobs).where(*_where(query))
    if cursor:
        created_at, job_id = decode_cursor(cursor)
        stmt = stmt.where(
            sa.or_(c.created_at < created_at, sa.and_(c.created_at == created_at, c.id < job_id))
        )
    stmt = stmt.order_by(c.created_at.desc(), c.id.desc()).limit(limit + 1)
    found = [rows.job_from_row(row) for row in connection.execute(stmt).mappings()]
    page = found[:limit]
    more = len(found) > limit
    return JobPage(jobs=page, next_cursor=encode_cursor(page[-1]) if more else None)


def count_jobs(connection: Connection, query: JobQuery) -> dict[JobState, int]:
    c = jobs.c
    stmt = sa.select(c.state, sa.func.count()).where(*_where(query)).group_by(c.state)
    return {JobState(state): count for state, count in connection.execute(stmt)}


def batch_counts(
    connection: Connection, prefix: str, tenant: str | None
) -> dict[str, dict[JobState, int]]:
    c = jobs.c
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    stmt = (
        sa.select(c.batch_id, c.state, sa.func.count())
        .where(c.batch_id.like(escaped + "%", escape="\\"))
        .group_by(c.batch_id, c.state)
        .order_by(c.batch_id)
    )
    if tenant is not None:
        stmt = stmt.where(c.tenant == tenant)
    counts: dict[str, dict[JobState, int]] = {}
    for batch, state, count in connection.execute(stmt):
        counts.setdefault(batch, {})[JobState(state)] = count
    return counts


def queue_depths(connection: Connection, tenant: str | None) -> list[QueueDepth]:
    c = jobs.c
    live = [JobState.PENDING.value, JobState.RUNNING.value]
    stmt = (
        sa.select(c.queue, c.state, sa.func.count(), sa.func.min(c.created_at))
        .where(c.state.in_(live))
        .group_by(c.queue, c.state)
        .order_by(c.queue, c.state)
    )
    if tenant is not None:
        stmt = stmt.where(c.tenant == tenant)
    depths: list[QueueDepth] = []
    for queue, state, count, oldest in connection.execute(stmt):
        depths.append(
            QueueDepth(queue=queue, state=JobState(state), count=count, oldest_created_at=oldest)
        )
    return depths


def list_nodes(
    connection: Connection, tenant: str | None, live_at: datetime | None
) -> list[NodeSession]:
    stmt = sa.select(node_sessions).order_by(node_sessions.c.name, node_sessions.c.id)
    if tenant is not None:
        stmt = stmt.where(node_sessions.c.tenant == tenant)
    if live_at is not None:
        stmt = stmt.where(node_sessions.c.expires_at >= live_at)
    return [rows.session_from_row(row) for row in connection.execute(stmt).mappings()]


def count_nodes(connection: Connection, live_at: datetime) -> int:
    stmt = sa.select(sa.func.count()).where(node_sessions.c.expires_at >= live_at)
    return int(connection.execute(stmt).scalar_one())


def list_events(connection: Connection, job_id: str, after: int, limit: int) -> list[JobEvent]:
    stmt = (
        sa.select(job_events)
        .where(job_events.c.job_id == job_id, job_events.c.seq > after)
        .order_by(job_events.c.seq)
        .limit(limit)
    )
    return [rows.event_from_row(row) for row in connection.execute(stmt).mappings()]


def token_by(connection: Connection, column: sa.Column[Any], value: str) -> ApiToken | None:
    row = connection.execute(sa.select(api_tokens).where(column == value)).mappings().first()
    return rows.token_from_row(row) if row else None


def list_tokens(connection: Connection, tenant: str | None) -> list[ApiToken]:
    stmt = sa.select(api_tokens).order_by(api_tokens.c.created_at, api_tokens.c.id)
    if tenant is not None:
        stmt = stmt.where(api_tokens.c.tenant == tenant)
    return [rows.token_from_row(row) for row in connection.execute(stmt).mappings()]


def revoke_token(connection: Connection, token_id: str, now: datetime) -> ApiToken | None:
    stmt = (
        sa.update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    connection.execute(stmt)
    return token_by(connection, api_tokens.c.id, token_id)
