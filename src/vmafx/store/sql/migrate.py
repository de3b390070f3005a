"""Schema migrations (Alembic, shipped inside the package) and the schema-current check.

`upgrade(url)` brings a database to the newest schema (what `vmafx controller migrate` runs);
`current_revision_is_head(url)` is what `/readyz` asks. On PostgreSQL an advisory lock lets
several controller replicas run `migrate` at once safely.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from vmafx.errors import UnavailableError
from vmafx.store.sql.engine import create_engine, parse_store_url, redacted

SCRIPT_LOCATION = "vmafx.store.sql:migrations"
#: Arbitrary constant key of the PostgreSQL advisory lock held while migrating.
MIGRATION_LOCK = 0x766D_6166_78


@dataclasses.dataclass(frozen=True, slots=True)
class SchemaStatus:
    current: str | None
    head: str

    @property
    def is_current(self) -> bool:
        return self.current == self.head


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise RuntimeError("vmafx ships no migrations")
    return head


def schema_status(connection: Connection) -> SchemaStatus:
    current = MigrationContext.configure(connection).get_current_revision()
    return SchemaStatus(current=current, head=head_revision())


@contextmanager
def _engine(url: str) -> Iterator[Engine]:
    """A one-connection engine; database errors become UnavailableError naming the store."""
    engine = create_engine(url, pool_size=1)
    try:
        yield engine
    except sa.exc.DBAPIError as error:
        detail = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise UnavailableError(
            f"job store {redacted(parse_store_url(url))} is unavailable: {detail}",
            hint="Check that the database exists, is running and is reachable.",
        ) from error
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> SchemaStatus:
    """Apply every migration up to `revision` to the store at `url`; returns the new status."""
    with _engine(url) as engine:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            command.upgrade(alembic_config(connection), revision)
        return _status(engine)


def current_revision_is_head(url: str) -> bool:
    """Whether the store at `url` has the schema this vmafx needs."""
    with _engine(url) as engine:
        return _status(engine).is_current


def _status(engine: Engine) -> SchemaStatus:
    with engine.connect() as connection:
        return schema_status(connection)
