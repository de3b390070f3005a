"""Fixtures for the contract suites: one `store` per JobStore implementation, and a `farm`
that builds jobs and nodes. Async tests run on anyio (tests/conftest.py).

PostgreSQL is looked for at 127.0.0.1:5432 (database `test`, trust auth, user postgres or
root; VMAFX_TEST_POSTGRES_URL overrides). Each run creates its own database and drops it.
Missing locally: the PostgreSQL tests skip. Missing in CI (CI=true): they fail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from vmafx.core.clock import FakeClock
from vmafx.core.jobs import Job, JobKind
from vmafx.core.nodes import NodeCapabilities, NodeSession
from vmafx.core.tokens import token_digest
from vmafx.scheduler import Scheduler
from vmafx.store import InMemoryJobStore, JobStore
from vmafx.store.sql import SqlJobStore, upgrade
from vmafx.testing import make_job

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ADMIN_URLS = (
    [os.environ["VMAFX_TEST_POSTGRES_URL"]]
    if os.environ.get("VMAFX_TEST_POSTGRES_URL")
    else [
        "postgresql://postgres@127.0.0.1:5432/test",
        "postgresql://root@127.0.0.1:5432/test",
    ]
)
TABLES = "job_events, attempts, jobs, node_sessions, api_tokens, tune_probes"


def _admin_url() -> str | None:
    for url in ADMIN_URLS:
        try:
            with psycopg.connect(url, connect_timeout=3):
                return url
        except psycopg.OperationalError:
            continue
    return None


def _with_database(url: str, database: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + database


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """An admin URL of a reachable PostgreSQL, or skip (fail in CI)."""
    url = _admin_url()
    if url is None:
        if IN_CI:
            pytest.fail("PostgreSQL at 127.0.0.1:5432 is missing in CI; .ci/run must start it")
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not available here")
    return url


@pytest.fixture(scope="session")
def fresh_postgres(postgres_server: str) -> Iterator[Any]:
    """A factory of empty PostgreSQL databases, all dropped at the end of the run."""
    created: list[str] = []

    def make() -> str:
        name = f"vmafx_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(postgres_server, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return _with_database(postgres_server, name)

    yield make
    with psycopg.connect(postgres_server, autocommit=True) as connection:
        for name in created:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def migrated_postgres(fresh_postgres: Any) -> str:
    url: str = fresh_postgres()
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "store.db"
    upgrade(f"sqlite:///{path}")
    return path


def _postgres_store(url: str, scheduler: Scheduler) -> SqlJobStore:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    return SqlJobStore(url, scheduler)


@pytest.fixture
def scheduler() -> Scheduler:
    return Scheduler()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, scheduler: Scheduler
) -> Iterator[JobStore]:
    made: JobStore
    if request.param == "memory":
        made = InMemoryJobStore(scheduler)
    elif request.param == "sqlite":
        template: Path = request.getfixturevalue("migrated_sqlite_template")
        shutil.copy(template, tmp_path / "store.db")
        made = SqlJobStore(f"sqlite:///{tmp_path / 'store.db'}", scheduler)
    else:
        made = _postgres_store(request.getfixturevalue("migrated_postgres"), scheduler)
    yield made
    asyncio.run(made.close())


class Farm:
    """Builds jobs and registers nodes; `clock` moves time for leases and backoff."""

    def __init__(self, store: JobStore) -> None:
        self.store = store
        self.clock = FakeClock()

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def job(
        self,
        kind: JobKind = JobKind.SCORE,
        *,
        tenant: str = "acme",
        spec: dict[str, Any] | None = None,
        **fields: Any,
    ) -> Job:
        return make_job(kind, tenant=tenant, spec=spec, now=self.now, **fields)

    async def submit(self, kind: JobKind = JobKind.SCORE, **fields: Any) -> Job:
        job = await self.store.submit_job(self.job(kind, **fields))
        self.clock.advance(0.001)
        return job

    async def node(self, name: str = "node-a", *, tenant: str = "acme", **caps: Any) -> NodeSession:
        caps.setdefault("host", name)
        caps.setdefault("slots", 8)
        return await self.store.register_node(
            tenant=tenant,
            name=name,
            capabilities=NodeCapabilities(**caps),
            token_sha256=token_digest(f"secret-{name}"),
            now=self.now,
        )


@pytest.fixture
def farm(store: JobStore) -> Farm:
    return Farm(store)
