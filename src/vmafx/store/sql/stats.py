"""`FarmStats` in SQL: one aggregating query per figure, on SQLite and PostgreSQL alike.

Nothing is read row by row: each query groups in the database and returns at most a few
thousand rows (buckets × kinds × nodes for throughput; 10 failure reasons; one row per codec,
VMAF bin, queue, or node and GPU). A short window's filters use `ix_jobs_finished` (tenant,
finished_at) and `ix_attempts_ended`; on SQLite a window holding most of the jobs is scanned
instead (see `WIDE_SHARE`). The few expressions the two dialects spell
differently (epoch seconds, a floor, an error's first line) are compiled per dialect below.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from vmafx.core.jobs import JobKind, JobState
from vmafx.core.stats import (
    NO_NODE,
    REASON_CHARS,
    VMAF_BIN,
    Busy,
    FarmStats,
    QueueCount,
    Savings,
    StatsWindow,
    Throughput,
    epoch_s,
    fold_bins,
    top_reasons,
)
from vmafx.store.sql.schema import attempts, jobs


class epoch(FunctionElement[int]):  # noqa: N801 - SQL function style
    """Whole UTC epoch seconds of a timestamp, floored."""

    type = sa.BigInteger()
    inherit_cache = True


@compiles(epoch)
def _epoch_pg(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


class floor_int(FunctionElement[int]):  # noqa: N801 - SQL function style
    """floor() of a non-negative number as an integer."""

    type = sa.Integer()
    inherit_cache = True


@compiles(floor_int)
def _floor_pg(element: floor_int, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(FLOOR({compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(floor_int, "sqlite")
def _floor_sqlite(element: floor_int, compiler: SQLCompiler, **kw: Any) -> str:
    # CAST truncates toward zero: a floor for the non-negative scores binned here; a negative
    # one lands in bin 0 either way once folded.
    return f"CAST({compiler.process(element.clauses, **kw)} AS INTEGER)"


class first_line(FunctionElement[str]):  # noqa: N801 - SQL function style
    """A text's first line, cut to `REASON_CHARS` characters ('' for NULL)."""

    type = sa.Text()
    inherit_cache = True


@compiles(first_line)
def _line_pg(element: first_line, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    return f"LEFT(SPLIT_PART(COALESCE({text}, ''), chr(10), 1), {REASON_CHARS})"


@compiles(first_line, "sqlite")
def _line_sqlite(element: first_line, compiler: SQLCompiler, **kw: Any) -> str:
    text = f"COALESCE({compiler.process(element.clauses, **kw)}, '')"
    line = f"SUBSTR({text}, 1, INSTR({text} || char(10), char(10)) - 1)"
    return f"SUBSTR({line}, 1, {REASON_CHARS})"


#: A window holding more than this share of the tenant's jobs is read by scanning them: an
#: index range over most of a table costs SQLite a random row read per job (measured 3x slower
#: than the scan at 100,000 jobs; benchmarks/stats.py). PostgreSQL's planner chooses itself.
WIDE_SHARE = 0.25


def _unindexed(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The same value, but an expression SQLite does not look up through an index."""
    return sa.func.coalesce(column, column)


def _ended(window: StatsWindow, tenant: str, wide: bool = False) -> list[sa.ColumnElement[bool]]:
    c = jobs.c
    finished = _unindexed(c.finished_at) if wide else c.finished_at
    return [
        c.tenant == tenant,
        finished >= window.since,
        finished < window.until,
        c.state.in_([JobState.COMPLETED.value, JobState.FAILED.value]),
    ]


def is_wide(connection: Connection, window: StatsWindow, tenant: str) -> bool:
    """On SQLite, whether the window holds most of the tenant's jobs (two index-only counts);
    elsewhere False (the planner knows)."""
    if connection.dialect.name != "sqlite":
        return False
    c = jobs.c
    total = connection.execute(
        sa.select(sa.func.count()).select_from(jobs).where(c.tenant == tenant)
    ).scalar_one()
    inside = connection.execute(
        sa.select(sa.func.count())
        .select_from(jobs)
        .where(c.tenant == tenant, c.finished_at >= window.since, c.finished_at < window.until)
    ).scalar_one()
    return bool(total) and inside > total * WIDE_SHARE


def throughput(
    connection: Connection, window: StatsWindow, tenant: str, wide: bool = False
) -> list[Throughput]:
    c = jobs.c
    bucket = (epoch(c.finished_at) // window.bucket_s) * window.bucket_s
    node = sa.func.coalesce(attempts.c.node_name, NO_NODE)
    joined = jobs.outerjoin(
        attempts, sa.and_(attempts.c.job_id == c.id, attempts.c.number == c.attempt)
    )
    stmt = (
        sa.select(bucket.label("bucket"), c.kind, node.label("node"), c.state, sa.func.count())
        .select_from(joined)
        .where(*_ended(window, tenant, wide))
        .group_by(bucket, c.kind, node, c.state)
        .order_by(bucket, c.kind, node, c.state)
    )
    return [Throughput(int(b), kind, n, state, count) for b, kind, n, state, count in
            connection.execute(stmt)]  # fmt: skip


def queues(connection: Connection, tenant: str) -> list[QueueCount]:
    c = jobs.c
    live = [JobState.PENDING.value, JobState.RUNNING.value]
    stmt = (
        sa.select(c.queue, c.state, sa.func.count(), sa.func.min(c.created_at))
        .where(c.tenant == tenant, c.state.in_(live))
        .group_by(c.queue, c.state)
        .order_by(c.queue, c.state)
    )
    return [QueueCount(q, s, n, oldest) for q, s, n, oldest in connection.execute(stmt)]


def failures(
    connection: Connection, window: StatsWindow, tenant: str, wide: bool = False
) -> dict[str, int]:
    c = jobs.c
    reason = first_line(c.error)
    count = sa.func.count()
    stmt = (
        sa.select(reason, count)
        .where(*_ended(window, tenant, wide), c.state == JobState.FAILED.value)
        .group_by(reason)
        .order_by(count.desc(), reason)
        .limit(10)
    )
    return {(text or "(no message)"): n for text, n in connection.execute(stmt)}


def _encodes(window: StatsWindow, tenant: str, wide: bool) -> list[sa.ColumnElement[bool]]:
    c = jobs.c
    return [
        *_ended(window, tenant, wide),
        c.state == JobState.COMPLETED.value,
        c.kind == JobKind.ENCODE.value,
    ]


def savings(
    connection: Connection, window: StatsWindow, tenant: str, wide: bool = False
) -> list[Savings]:
    result = jobs.c.result
    source = result["source_bytes"].as_integer()
    output = result["bytes"].as_integer()
    codec = sa.func.coalesce(result["codec"].as_string(), "")
    stmt = (
        sa.select(codec, sa.func.count(), sa.func.sum(source), sa.func.sum(output))
        .where(*_encodes(window, tenant, wide), source.is_not(None), output.is_not(None))
        .group_by(codec)
        .order_by(codec)
    )
    return [Savings(name, n, int(s), int(o)) for name, n, s, o in connection.execute(stmt)]


def vmaf_bins(
    connection: Connection, window: StatsWindow, tenant: str, wide: bool = False
) -> tuple[int, ...]:
    vmaf = jobs.c.result[("score_after", "vmaf")].as_float()
    raw = floor_int(vmaf / VMAF_BIN)
    stmt = (
        sa.select(raw, sa.func.count())
        .where(*_encodes(window, tenant, wide), vmaf.is_not(None))
        .group_by(raw)
    )
    return fold_bins((int(b), n) for b, n in connection.execute(stmt))


def busy(
    connection: Connection, window: StatsWindow, tenant: str, wide: bool = False
) -> list[Busy]:
    a = attempts.c
    ended_at = _unindexed(a.ended_at) if wide else a.ended_at
    since, until = epoch_s(window.since), epoch_s(window.until)
    start = epoch(a.started_at)
    end = sa.func.coalesce(epoch(a.ended_at), until)
    low = sa.case((start < since, since), else_=start)
    high = sa.case((end > until, until), else_=end)
    seconds = sa.case((high > low, high - low), else_=0)
    uuid = sa.func.coalesce(a.gpu["uuid"].as_string(), "")
    name = sa.func.coalesce(a.gpu["name"].as_string(), "")
    stmt = (
        sa.select(a.node_name, uuid, name, sa.func.count(), sa.func.sum(seconds))
        .where(
            a.tenant == tenant,
            a.started_at < window.until,
            sa.or_(a.ended_at.is_(None), ended_at > window.since),
        )
        .group_by(a.node_name, uuid, name)
        .order_by(a.node_name, uuid, name)
    )
    return [Busy(node, u, n, count, int(s or 0)) for node, u, n, count, s in
            connection.execute(stmt)]  # fmt: skip


def farm_stats(
    connection: Connection, window: StatsWindow, tenant: str, *, wide: bool | None = None
) -> FarmStats:
    """Every figure; `wide` (default: `is_wide`) scans the tenant's jobs instead of the index."""
    if wide is None:
        wide = is_wide(connection, window, tenant)
    return FarmStats(
        window=window,
        throughput=tuple(throughput(connection, window, tenant, wide)),
        queues=tuple(queues(connection, tenant)),
        failures=top_reasons(failures(connection, window, tenant, wide)),
        savings=tuple(savings(connection, window, tenant, wide)),
        vmaf_bins=vmaf_bins(connection, window, tenant, wide),
        busy=tuple(busy(connection, window, tenant, wide)),
    )
