"""Initial schema: jobs, attempts, node sessions, job events, API tokens.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TIME = sa.DateTime(timezone=True)
ID = sa.String(length=36)
NAME = sa.String(length=255)


def upgrade() -> None:
    _create_jobs()
    _create_attempts()
    _create_node_sessions()
    _create_job_events()
    _create_api_tokens()


def downgrade() -> None:
    op.drop_table("api_tokens")
    op.drop_table("job_events")
    op.drop_table("node_sessions")
    op.drop_table("attempts")
    op.drop_table("jobs")


def _create_jobs() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant", NAME, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("req_backend", sa.String(length=64), nullable=True),
        sa.Column("req_gpu_vendor", sa.String(length=32), nullable=True),
        sa.Column("req_encoder", sa.String(length=64), nullable=True),
        sa.Column("req_min_gpu_memory_mb", sa.Integer(), nullable=True),
        sa.Column("req_labels", JSON, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("lost_leases", sa.Integer(), nullable=False),
        sa.Column("available_at", TIME, nullable=False),
        sa.Column("lease_session", sa.String(length=64), nullable=True),
        sa.Column("lease_node", NAME, nullable=True),
        sa.Column("lease_expires_at", TIME, nullable=True),
        sa.Column("progress", sa.Float(), nullable=True),
        sa.Column("result", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("pending_reason", sa.Text(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("started_at", TIME, nullable=True),
        sa.Column("finished_at", TIME, nullable=True),
        sa.Column("parent_id", ID, nullable=True),
        sa.Column("batch_id", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", NAME, nullable=True),
        sa.CheckConstraint(
            "(state = 'running') = (lease_session IS NOT NULL)", name="ck_jobs_lease"
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'running', 'completed', 'failed', 'cancelled')",
            name="ck_jobs_state",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
        sa.UniqueConstraint("tenant", "idempotency_key", name="uq_jobs_tenant_idempotency_key"),
    )
    op.create_index("ix_jobs_batch", "jobs", ["batch_id"])
    op.create_index(
        "ix_jobs_claim", "jobs", ["tenant", "state", sa.text("priority DESC"), "created_at", "id"]
    )
    op.create_index("ix_jobs_lease", "jobs", ["state", "lease_expires_at"])
    op.create_index("ix_jobs_lease_session", "jobs", ["lease_session"])
    op.create_index("ix_jobs_listing", "jobs", ["tenant", "created_at", "id"])
    op.create_index("ix_jobs_parent", "jobs", ["parent_id"])


def _create_attempts() -> None:
    op.create_table(
        "attempts",
        sa.Column("job_id", ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("tenant", NAME, nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("node_name", NAME, nullable=False),
        sa.Column("host", NAME, nullable=False),
        sa.Column("gpu", JSON, nullable=True),
        sa.Column("labels", JSON, nullable=False),
        sa.Column("encoder", sa.String(length=64), nullable=True),
        sa.Column("fallback", sa.Boolean(), nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("ended_at", TIME, nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name="fk_attempts_job_id_jobs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "number", name="pk_attempts"),
    )


def _create_node_sessions() -> None:
    op.create_table(
        "node_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant", NAME, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("capabilities", JSON, nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("last_seen_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_node_sessions"),
    )
    op.create_index("ix_node_sessions_tenant", "node_sessions", ["tenant", "expires_at"])


def _create_job_events() -> None:
    op.create_table(
        "job_events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("job_id", ID, nullable=False),
        sa.Column("tenant", NAME, nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name="fk_job_events_job_id_jobs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("seq", name="pk_job_events"),
    )
    op.create_index("ix_job_events_job_id", "job_events", ["job_id"])


def _create_api_tokens() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant", NAME, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=True),
        sa.Column("revoked_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_sha256", name="uq_api_tokens_token_sha256"),
    )
