"""The SQL job store (SQLAlchemy Core; SQLite by default, PostgreSQL with psycopg 3)."""

from vmafx.store.sql.migrate import SchemaStatus, current_revision_is_head, upgrade
from vmafx.store.sql.store import SqlJobStore

__all__ = ["SchemaStatus", "SqlJobStore", "current_revision_is_head", "upgrade"]
