"""SQLAlchemy engines for the store URLs vmafx accepts, with the transaction modes claims need.

- `sqlite:///PATH`: WAL journal, foreign keys on, a 30 s busy timeout; a write transaction
  starts with `BEGIN IMMEDIATE` so two claimers never both read the same pending job.
- `postgresql://…` (or `postgresql+psycopg://…`): psycopg 3, claims use `FOR UPDATE SKIP LOCKED`.
  A pooled connection that sat idle for `PING_AFTER_IDLE_S` or more is pinged before use and
  replaced if the server hung up on it (a restart, an idle timeout); one handed back moments ago
  is not: SQLAlchemy's `pool_pre_ping` pinged on every checkout, a round trip and a transaction
  on the server for every store transaction (~5 % of the controller's samples at 10,000 nodes,
  docs/scale.md).
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine

from vmafx.errors import UsageError

#: Execution option that marks a connection as a writer (SQLite: BEGIN IMMEDIATE).
WRITE_OPTION = "vmafx_write"
BUSY_TIMEOUT_S = 30
#: A PostgreSQL connection idle this long is pinged before use.
PING_AFTER_IDLE_S = 1.0


def parse_store_url(url: str | URL) -> URL:
    """The SQLAlchemy URL for a store URL, with the psycopg 3 driver for PostgreSQL."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise UsageError(
            f"store URL {url!r} is not valid.",
            hint="Use sqlite:///PATH or postgresql://USER@HOST:5432/DATABASE.",
        ) from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise UsageError(
                "an in-memory SQLite store cannot be shared between connections.",
                hint="Give a file (sqlite:///PATH) or use memory:// for a throw-away store.",
            )
        return parsed.set(drivername="sqlite")
    raise UsageError(
        f"store URL scheme {parsed.drivername!r} is not supported.",
        hint="Use sqlite:///PATH or postgresql://USER@HOST:5432/DATABASE.",
    )


def redacted(url: URL) -> str:
    """The URL without its password, for messages and logs."""
    return url.render_as_string(hide_password=True)


def create_engine(
    url: str | URL, *, pool_size: int = 10, ping_after_idle_s: float = PING_AFTER_IDLE_S
) -> Engine:
    parsed = parse_store_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(
            parsed,
            connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        _sqlite_transactions(engine)
        return engine
    engine = sa.create_engine(parsed, pool_size=pool_size, max_overflow=2 * pool_size)
    _ping_when_idle(engine, ping_after_idle_s)
    return engine


def _ping_when_idle(engine: Engine, after_s: float) -> None:
    """Ping a pooled connection before use if it sat idle `after_s` or more; a dead one is
    discarded and the pool hands out another (SQLAlchemy's `DisconnectionError` protocol)."""

    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < after_s:
            return  # new, or handed back moments ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # the driver's own: the server hung up
            raise sa.exc.DisconnectionError(str(error)) from error
        if not alive:
            raise sa.exc.DisconnectionError("the connection did not answer a ping")

    sa.event.listen(engine, "checkin", on_checkin)
    sa.event.listen(engine, "checkout", on_checkout)


def _sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy, not the sqlite3 module, emit BEGIN, and make writers take the lock."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        finally:
            cursor.close()

    def on_begin(connection: Connection) -> None:
        writer = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    sa.event.listen(engine, "connect", on_connect)
    sa.event.listen(engine, "begin", on_begin)


def writer(engine: Engine) -> Engine:
    """The same engine (same pool) whose transactions are write transactions."""
    return engine.execution_options(**{WRITE_OPTION: True})
