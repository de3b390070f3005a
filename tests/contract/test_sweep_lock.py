"""The sweep lock (issue 15 item 1): periodic sweeps run once across controller replicas.

Every store grants a lone handle the lock; on PostgreSQL only one handle across replicas holds
it (an advisory lock), and it passes on when the holder closes or its connection dies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from vmafx.controller.sweeper import Sweeper
from vmafx.scheduler import Scheduler
from vmafx.store.sql import SqlJobStore, upgrade
from vmafx.store.sql.store import SWEEP_LOCK_KEY

pytestmark = pytest.mark.anyio


async def test_a_lone_store_handle_is_granted_the_sweep_lock_every_round(store):
    assert await store.try_sweep_lock()
    assert await store.try_sweep_lock()


async def test_two_handles_on_one_sqlite_file_both_may_sweep(tmp_path):
    # One controller per SQLite file is enforced by the owner lock beside the file instead.
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    one, two = SqlJobStore(url, Scheduler()), SqlJobStore(url, Scheduler())
    try:
        assert await one.try_sweep_lock()
        assert await two.try_sweep_lock()
    finally:
        await one.close()
        await two.close()


# --- PostgreSQL: several replicas ------------------------------------------------------------
@pytest.fixture(scope="module")
def sweep_postgres(fresh_postgres: Any) -> str:
    """A database of its own: advisory locks are per database, and other suites share one."""
    url: str = fresh_postgres()
    upgrade(url)
    return url


@pytest.fixture
def replicas(sweep_postgres: str) -> Iterator[list[SqlJobStore]]:
    made = [SqlJobStore(sweep_postgres, Scheduler()) for _ in range(2)]
    yield made
    for handle in made:
        asyncio.run(handle.close())


class CountingService:
    """What a sweeper calls; counts its sweeps."""

    def __init__(self) -> None:
        self.sweeps = 0
        self.nodes_changed = asyncio.Event()

    async def expire_once(self) -> list[Any]:
        self.sweeps += 1
        return []

    async def refresh_pending_reasons(self) -> list[Any]:
        return []


@pytest.mark.postgres
async def test_only_one_postgresql_replica_holds_the_sweep_lock_until_it_closes(replicas):
    first, second = replicas
    assert await first.try_sweep_lock()
    assert not await second.try_sweep_lock()
    assert await first.try_sweep_lock()  # kept from round to round
    await first.close()
    assert await second.try_sweep_lock()


@pytest.mark.postgres
async def test_two_sweepers_on_one_postgresql_store_sweep_each_round_once(replicas):
    services = [CountingService(), CountingService()]
    sweepers = [
        Sweeper(service, lock=handle.try_sweep_lock)  # type: ignore[arg-type]
        for service, handle in zip(services, replicas, strict=True)
    ]
    for round_ in range(1, 4):
        swept = [await sweeper.run_once() for sweeper in sweepers]
        assert swept.count(True) == 1
        assert sum(service.sweeps for service in services) == round_
    assert [service.sweeps for service in services] == [3, 0]


@pytest.mark.postgres
async def test_the_sweep_lock_passes_on_when_its_holders_connection_dies(replicas, sweep_postgres):
    first, second = replicas
    assert await first.try_sweep_lock()
    assert not await second.try_sweep_lock()
    with psycopg.connect(sweep_postgres, autocommit=True) as admin:
        admin.execute(
            # With a timeout (PostgreSQL 14+) it returns once the backend is gone.
            "SELECT pg_terminate_backend(pid, 60000) FROM pg_locks "
            "WHERE locktype = 'advisory' AND granted "
            "AND ((classid::bigint << 32) | objid::bigint) = %s",
            (SWEEP_LOCK_KEY,),
        )
    assert await second.try_sweep_lock()
    assert not await first.try_sweep_lock()  # it notices the lost connection, and yields
