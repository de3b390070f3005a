"""The jobs table keeps its claim index clean (issue 15 item 5): per-table autovacuum settings
on PostgreSQL (migration 0009), and the sweeping replica's own vacuum where autovacuum does
not come (`JobStore.vacuum_queue`). SQLite and memory have nothing to vacuum."""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic import command

from vmafx.store.sql import SqlJobStore, upgrade
from vmafx.store.sql.engine import create_engine
from vmafx.store.sql.migrate import alembic_config
from vmafx.store.sql.vacuum import SCALE, THRESHOLD

pytestmark = pytest.mark.anyio


def jobs_storage(url: str) -> list[str]:
    with psycopg.connect(url) as connection:
        (options,) = connection.execute(
            "SELECT coalesce(reloptions, '{}') FROM pg_class WHERE relname = 'jobs'"
        ).fetchone() or ([],)
    return sorted(options)


@pytest.mark.postgres
def test_migrating_postgres_gives_the_jobs_table_autovacuum_that_follows_the_churn(
    fresh_postgres: Any,
):
    url = fresh_postgres()
    upgrade(url, "0008")
    assert jobs_storage(url) == []
    upgrade(url)
    assert jobs_storage(url) == [
        "autovacuum_analyze_scale_factor=0.02",
        "autovacuum_vacuum_cost_limit=2000",
        "autovacuum_vacuum_insert_scale_factor=0.01",
        "autovacuum_vacuum_scale_factor=0.01",
        "autovacuum_vacuum_threshold=1000",
        "vacuum_index_cleanup=on",
    ]
    engine = create_engine(url, pool_size=1)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0008")
    finally:
        engine.dispose()
    assert jobs_storage(url) == []


def test_the_autovacuum_migration_leaves_sqlite_as_it_was(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url, "0008")
    engine = create_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            before = connection.exec_driver_sql("SELECT sql FROM sqlite_master").all()
        upgrade(url, "0009")
        with engine.connect() as connection:
            after = connection.exec_driver_sql("SELECT sql FROM sqlite_master").all()
    finally:
        engine.dispose()
    assert after == before


async def test_a_store_with_no_dead_rows_to_speak_of_vacuums_nothing(store):
    assert await store.vacuum_queue() == []


@pytest.mark.postgres
async def test_the_store_vacuums_the_jobs_table_once_its_dead_rows_pass_the_threshold(
    migrated_postgres: str, scheduler: Any
):
    with psycopg.connect(migrated_postgres, autocommit=True) as connection:
        connection.execute("TRUNCATE job_events, attempts, jobs, node_sessions CASCADE")
        connection.execute(
            "INSERT INTO jobs (id, tenant, kind, queue, priority, spec, req_labels, state, "
            "attempt, lost_leases, available_at, created_at, updated_at) "
            "SELECT g::text, 'acme', 'score', 'default', 0, '{}', '[]', 'pending', 0, 0, "
            "now(), now(), now() FROM generate_series(1, %s) g",
            (2 * THRESHOLD,),
        )
        connection.execute("UPDATE jobs SET state = 'cancelled'")  # a dead row each
        connection.execute("SELECT pg_stat_force_next_flush()")
        connection.execute("SELECT 1")  # the statistics go out as the backend idles
    store = SqlJobStore(migrated_postgres, scheduler)
    try:
        deadline = time.monotonic() + 15
        done = await store.vacuum_queue()
        while done == [] and time.monotonic() < deadline:
            time.sleep(0.2)
            done = await store.vacuum_queue()
        assert done == ["jobs"]
        assert await store.vacuum_queue() == []
    finally:
        await store.close()
    with psycopg.connect(migrated_postgres) as connection:
        (vacuumed,) = connection.execute(
            "SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'jobs'"
        ).fetchone() or (False,)
    assert vacuumed


def test_the_sweepers_vacuum_threshold_is_the_one_the_migration_gives_autovacuum():
    migration = importlib.import_module("vmafx.store.sql.migrations.versions.0009_jobs_autovacuum")
    assert int(migration.JOBS_STORAGE["autovacuum_vacuum_threshold"]) == THRESHOLD
    assert float(migration.JOBS_STORAGE["autovacuum_vacuum_scale_factor"]) == SCALE
