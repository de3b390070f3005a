"""PostgreSQL connections are pinged only after sitting idle (issue 15): a connection handed
back moments ago goes straight to work (no round trip, no server transaction per checkout, as
`pool_pre_ping` cost), and one the server hung up on while idle is replaced, not given to a
transaction that would fail."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from vmafx.store.sql.engine import create_engine

pytestmark = pytest.mark.postgres

IDLE_S = 1.0


@pytest.fixture
def engine(migrated_postgres: str) -> Any:
    made = create_engine(migrated_postgres, pool_size=1, ping_after_idle_s=IDLE_S)
    pings: list[float] = []
    ping = made.dialect.do_ping

    def counting(dbapi_connection: Any) -> bool:
        pings.append(time.monotonic())
        return ping(dbapi_connection)

    made.dialect.do_ping = counting  # type: ignore[method-assign]
    made.pings = pings  # type: ignore[attr-defined]
    yield made
    made.dispose()


def backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_reused_at_once_is_not_pinged(engine: Any):
    first = backend_pid(engine)
    for _ in range(5):
        assert backend_pid(engine) == first
    assert engine.pings == []


def test_a_connection_idle_past_the_threshold_is_pinged_once_before_use(engine: Any):
    first = backend_pid(engine)
    time.sleep(IDLE_S * 1.5)
    assert backend_pid(engine) == first
    assert len(engine.pings) == 1
    assert backend_pid(engine) == first  # at once again: no second ping
    assert len(engine.pings) == 1


def test_a_connection_the_server_dropped_while_idle_is_replaced(
    engine: Any, migrated_postgres: str
):
    first = backend_pid(engine)
    with psycopg.connect(migrated_postgres, autocommit=True) as admin:
        (ended,) = admin.execute("SELECT pg_terminate_backend(%s, 5000)", (first,)).fetchone()
    assert ended
    time.sleep(IDLE_S * 1.5)
    second = backend_pid(engine)  # no error: the dead one was found by the ping, replaced
    assert second != first
    assert len(engine.pings) == 1


def test_without_the_idle_a_dropped_connection_fails_its_transaction(migrated_postgres: str):
    """What the threshold trades: a connection the server drops in the moment between two uses
    fails the one transaction that meets it (the store's callers hear "unavailable, can be
    retried"); the pool then replaces it."""
    engine = create_engine(migrated_postgres, pool_size=1, ping_after_idle_s=300)
    try:
        first = backend_pid(engine)
        with psycopg.connect(migrated_postgres, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (first,))
        with pytest.raises(sa.exc.OperationalError):
            backend_pid(engine)
        assert backend_pid(engine) != first
    finally:
        engine.dispose()
