"""The SQL schema as SQLAlchemy Core tables. Migrations must produce exactly this (tested).

Times are stored in UTC (`timestamptz` on PostgreSQL); JSON is `jsonb` on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = sa.MetaData(naming_convention=NAMING)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps naive UTC text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {value!r}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
ID = sa.String(36)
NAME = sa.String(255)
EVENT_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

jobs: sa.Table = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("tenant", NAME, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("queue", sa.String(64), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("spec", JSON, nullable=False),
    sa.Column("req_backend", sa.String(64)),
    sa.Column("req_gpu_vendor", sa.String(32)),
    sa.Column("req_encoder", sa.String(64)),
    sa.Column("req_min_gpu_memory_mb", sa.Integer),
    sa.Column("req_labels", JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("lost_leases", sa.Integer, nullable=False),
    sa.Column("available_at", UtcDateTime, nullable=False),
    sa.Column("lease_session", sa.String(64)),
    sa.Column("lease_node", NAME),
    sa.Column("lease_expires_at", UtcDateTime),
    sa.Column("progress", sa.Float),
    sa.Column("progress_detail", JSON),
    sa.Column("result", JSON),
    sa.Column("error", sa.Text),
    sa.Column("pending_reason", sa.Text),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("started_at", UtcDateTime),
    sa.Column("finished_at", UtcDateTime),
    sa.Column("parent_id", ID),
    sa.Column("batch_id", sa.String(64)),
    sa.Column("idempotency_key", NAME),
    #: Every input and output path of the spec, lower-cased, one per line: what a file search
    #: looks through (`vmafx.core.jobsearch.files_text`; migration 0004).
    sa.Column("files", sa.Text),
    sa.UniqueConstraint("tenant", "idempotency_key"),
    sa.CheckConstraint(
        "state IN ('pending', 'running', 'completed', 'failed', 'cancelled')", name="state"
    ),
    sa.CheckConstraint("(state = 'running') = (lease_session IS NOT NULL)", name="lease"),
    sa.Index("ix_jobs_listing", "tenant", "created_at", "id"),
    sa.Index("ix_jobs_lease", "state", "lease_expires_at"),
    sa.Index("ix_jobs_lease_session", "lease_session"),
    sa.Index("ix_jobs_batch", "batch_id"),
    sa.Index("ix_jobs_parent", "parent_id"),
    #: The Stats page's window of ended jobs (migration 0003).
    sa.Index("ix_jobs_finished", "tenant", "finished_at"),
    #: Retention's oldest finished jobs first, across tenants (migration 0007).
    sa.Index("ix_jobs_retention", "finished_at"),
    #: Pending jobs newest first across tenants, of any kind or one (pending reasons, the tune
    #: runner), without scanning the queue (migration 0010).
    sa.Index("ix_jobs_state_created", "state", "created_at", "id"),
    sa.Index("ix_jobs_state_kind", "state", "kind", "created_at", "id"),
)

attempts = sa.Table(
    "attempts",
    metadata,
    sa.Column("job_id", ID, sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("tenant", NAME, nullable=False),
    sa.Column("session_id", sa.String(64), nullable=False),
    sa.Column("node_name", NAME, nullable=False),
    sa.Column("host", NAME, nullable=False),
    sa.Column("gpu", JSON),
    sa.Column("labels", JSON, nullable=False),
    sa.Column("encoder", sa.String(64)),
    sa.Column("fallback", sa.Boolean, nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("ended_at", UtcDateTime),
    sa.Column("outcome", sa.String(16)),
    sa.Column("error", sa.Text),
    #: The Stats page's busy time: attempts still running or ended in its window (0003).
    sa.Index("ix_attempts_ended", "tenant", "ended_at"),
)

node_sessions = sa.Table(
    "node_sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("tenant", NAME, nullable=False),
    sa.Column("name", NAME, nullable=False),
    sa.Column("capabilities", JSON, nullable=False),
    sa.Column("token_sha256", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_seen_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    #: Upper bound of the session's running jobs per queue, kept by claims (migration 0002).
    sa.Column("running_bound", JSON),
    sa.Index("ix_node_sessions_tenant", "tenant", "expires_at"),
)

job_events = sa.Table(
    "job_events",
    metadata,
    sa.Column("seq", EVENT_SEQ, primary_key=True, autoincrement=True),
    sa.Column(
        "job_id", ID, sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("tenant", NAME, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("data", JSON, nullable=False),
)

#: A finished job's full per-frame series, one gzip JSON per scored input (migration 0006;
#: `vmafx.core.frames`), kept out of the jobs row that listings read.
job_frames = sa.Table(
    "job_frames",
    metadata,
    sa.Column("job_id", ID, sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("input_index", sa.Integer, primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

#: Measured tune probes kept for later searches of the same content (migration 0008;
#: `vmafx.controller.tuning`): not tied to a job, so a pruned probe job keeps its measurement
#: until retention removes the row by its own age.
tune_probes = sa.Table(
    "tune_probes",
    metadata,
    sa.Column("tenant", NAME, primary_key=True),
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("job_id", ID, nullable=False),
    sa.Column("result", JSON, nullable=False),
    sa.Column("node", NAME),
    sa.Column("where", sa.Text),
    sa.Column("gpu", NAME),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index("ix_tune_probes_created", "created_at"),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("tenant", NAME, nullable=False),
    sa.Column("name", NAME, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime),
    sa.Column("revoked_at", UtcDateTime),
)

#: Claims read pending jobs of one tenant in claim order straight off this index (no sort).
sa.Index(
    "ix_jobs_claim",
    jobs.c.tenant,
    jobs.c.state,
    jobs.c.priority.desc(),
    jobs.c.created_at,
    jobs.c.id,
)
