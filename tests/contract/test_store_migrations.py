"""Migrations shipped in the package build exactly the schema the store's models describe."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from vmafx.errors import UnavailableError, UsageError
from vmafx.scheduler import Scheduler
from vmafx.store import InMemoryJobStore, open_job_store
from vmafx.store.sql import SqlJobStore, current_revision_is_head, upgrade
from vmafx.store.sql.engine import create_engine
from vmafx.store.sql.migrate import alembic_config
from vmafx.store.sql.schema import metadata


def schema_differences(url: str) -> list[object]:
    engine = create_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_migrations_applied_to_an_empty_postgres_equal_the_models(fresh_postgres):
    url = fresh_postgres()
    upgrade(url)
    assert schema_differences(url) == []


def test_migrations_applied_to_an_empty_sqlite_equal_the_models(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    assert schema_differences(url) == []


def test_an_empty_database_is_current_only_after_upgrade_and_upgrading_twice_is_harmless(
    tmp_path: Path,
):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert not current_revision_is_head(url)
    first = upgrade(url)
    second = upgrade(url)
    assert first == second
    assert first.is_current
    assert current_revision_is_head(url)


def test_a_store_without_the_schema_says_to_run_migrate(tmp_path: Path):
    store = SqlJobStore(f"sqlite:///{tmp_path / 'empty.db'}", Scheduler())
    try:
        with pytest.raises(UnavailableError, match="vmafx controller migrate"):
            asyncio.run(store.ping())
        with pytest.raises(UnavailableError, match="vmafx controller migrate"):
            asyncio.run(store.get_job("x"))
    finally:
        asyncio.run(store.close())


def test_an_unreachable_postgres_is_unavailable_without_leaking_the_password():
    store = SqlJobStore("postgresql://vmafx:hunter2@127.0.0.1:1/vmafx", Scheduler())
    try:
        with pytest.raises(UnavailableError) as caught:
            asyncio.run(store.get_job("x"))
        assert "hunter2" not in str(caught.value)
        assert "127.0.0.1:1" in str(caught.value)
    finally:
        asyncio.run(store.close())


@pytest.mark.parametrize("url", ["mysql://x/y", "sqlite://", "not a url"])
def test_unsupported_store_urls_are_refused_with_the_accepted_forms(url: str):
    with pytest.raises(UsageError):
        SqlJobStore(url, Scheduler())


def test_the_bare_alembic_command_line_is_refused_instead_of_guessing_a_database():
    with pytest.raises(RuntimeError, match="vmafx controller migrate"):
        command.upgrade(alembic_config(), "head")


def test_store_urls_open_the_matching_store(tmp_path: Path):
    assert isinstance(open_job_store("memory://", Scheduler()), InMemoryJobStore)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    store = open_job_store(url, Scheduler())
    try:
        assert isinstance(store, SqlJobStore)
        asyncio.run(store.ping())
    finally:
        asyncio.run(store.close())


@pytest.mark.postgres
def test_migrating_a_missing_postgres_database_is_unavailable(postgres_server):
    missing = postgres_server.rsplit("/", 1)[0] + "/vmafx_no_such_database"
    with pytest.raises(UnavailableError, match="vmafx_no_such_database"):
        upgrade(missing)
    with pytest.raises(UnavailableError):
        current_revision_is_head(missing)
