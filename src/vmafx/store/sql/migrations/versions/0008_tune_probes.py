"""tune_probes: measured tune probes kept for later searches of the same content.

A farm `tune` job looks its probes up here before submitting them as encode jobs, by
(tenant, key): the key is a SHA-256 of the source's content hash (as the submitting CLI
computed it) and the probe's whole encode spec (`vmafx.tune.farm.cache_key`). Rows are not
tied to a job (a probe job pruned by retention keeps its measurement); the sweeper deletes
rows older than the retention by `created_at`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tune_probes",
        sa.Column("tenant", sa.String(255), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("result", JSON, nullable=False),
        sa.Column("node", sa.String(255)),
        sa.Column("where", sa.Text()),
        sa.Column("gpu", sa.String(255)),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "key", name="pk_tune_probes"),
    )
    op.create_index("ix_tune_probes_created", "tune_probes", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_tune_probes_created", table_name="tune_probes")
    op.drop_table("tune_probes")
