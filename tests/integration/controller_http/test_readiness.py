"""/readyz follows the store: 503 with the reason while it is unreachable or its schema is not
current, 200 again once it is back, with nothing restarted.

PostgreSQL goes away through a TCP relay in front of 127.0.0.1:5432 that the test opens and
closes; it skips when PostgreSQL is missing locally and fails in CI.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from vmafx.scheduler import Scheduler
from vmafx.store.sql import SqlJobStore, upgrade

from .conftest import Api

pytestmark = pytest.mark.anyio
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ADMIN_URLS = (
    [os.environ["VMAFX_TEST_POSTGRES_URL"]]
    if os.environ.get("VMAFX_TEST_POSTGRES_URL")
    else ["postgresql://postgres@127.0.0.1:5432/test", "postgresql://root@127.0.0.1:5432/test"]
)


async def readyz(api: Api) -> tuple[int, str]:
    response = await api.client.get("/readyz")
    body = response.json()
    return response.status_code, body.get("status") or body["error"]["message"]


async def test_readyz_is_503_while_the_sqlite_schema_is_not_current_and_200_once_it_is(
    lite: Api, tmp_path: Path
):
    api = lite
    database = sqlite3.connect(tmp_path / "controller.db", isolation_level=None)
    try:
        [(revision,)] = database.execute("SELECT version_num FROM alembic_version").fetchall()
        database.execute("DELETE FROM alembic_version")
        status, reason = await readyz(api)
        assert status == 503
        assert "schema none" in reason and revision in reason
        database.execute("INSERT INTO alembic_version VALUES (?)", (revision,))
        assert await readyz(api) == (200, "ready")
    finally:
        database.close()


# --- PostgreSQL behind a relay ------------------------------------------------------------------
class Relay:
    """Forwards a loopback port to PostgreSQL; `close` refuses new connections and cuts all."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()

    def bind(self) -> socket.socket:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        return sock

    async def open(self, sock: socket.socket) -> None:
        self._server = await asyncio.start_server(self._link, sock=sock)

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._links |= {writer, up_writer}
        await asyncio.gather(self._copy(reader, up_writer), self._copy(up_reader, writer))

    async def _copy(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._links:
            writer.close()
        self._links.clear()
        await self._server.wait_closed()


@pytest.fixture(scope="module")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database (dropped afterwards), or skip (fail in CI)."""
    admin = next((url for url in ADMIN_URLS if _reachable(url)), None)
    if admin is None:
        if IN_CI:
            pytest.fail("PostgreSQL at 127.0.0.1:5432 is missing in CI")
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not available here")
    name = f"vmafx_http_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = admin.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    yield url
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture
async def relayed(
    postgres_database: str, tmp_path: Path
) -> AsyncIterator[tuple[Api, Relay, socket.socket]]:
    """An Api on PostgreSQL through a relay whose port is bound but not yet listening."""
    relay = Relay(("127.0.0.1", 5432))
    sock = relay.bind()  # bound, not listening: connections are refused
    user = postgres_database.split("//", 1)[1].split("@", 1)[0]
    database = postgres_database.rsplit("/", 1)[1]
    store = SqlJobStore(
        f"postgresql://{user}@127.0.0.1:{relay.port}/{database}?connect_timeout=3", Scheduler()
    )
    root = tmp_path / "media"
    root.mkdir()
    api = Api(store, root)
    try:
        yield api, relay, sock
    finally:
        await api.close()
        sock.close()


async def test_readyz_follows_a_postgresql_that_is_down_then_up_then_down_again(relayed):
    api, relay, sock = relayed
    status, reason = await readyz(api)
    assert status == 503
    assert "unavailable" in reason and f":{relay.port}" in reason
    await relay.open(sock)
    assert await readyz(api) == (200, "ready")
    await relay.close()
    assert (await readyz(api))[0] == 503
    await relay.open(relay.bind())
    assert await readyz(api) == (200, "ready")
    await relay.close()
