"""Alembic environment: migrations run on the connection `vmafx.store.sql.migrate` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from vmafx.store.sql.schema import metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError(
        "vmafx migrations run through vmafx.store.sql.migrate.upgrade() "
        "(`vmafx controller migrate`), not the alembic command line."
    )
run_migrations(_connection)
