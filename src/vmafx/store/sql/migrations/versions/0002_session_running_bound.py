"""node_sessions.running_bound: an upper bound of each session's running jobs per queue.

Claims keep it so that they need not count a session's running jobs on every claim (a count
that grows with the jobs the node holds); see `vmafx.store.operations.claim_batch`.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.add_column("node_sessions", sa.Column("running_bound", JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("node_sessions", "running_bound")
