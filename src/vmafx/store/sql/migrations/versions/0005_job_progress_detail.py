"""jobs.progress_detail: what a running job does now (phase, frames, fps, ETA, encoder).

Written with each progress report and cleared when the job ends or goes back to pending, so
`vmafx jobs get/watch` and the job page can say "encoding 42 % 87 fps ETA 0:12".

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.add_column("jobs", sa.Column("progress_detail", JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("jobs", "progress_detail")
