"""An index on jobs.finished_at alone, for retention.

The sweeping controller deletes jobs that finished before a cut-off, oldest first, in batches
(`SqlJobStore.prune_finished`). `ix_jobs_finished` leads with the tenant, so without this each
batch read every finished job (measured: ~0.1-0.2 s a batch at 270,000 finished jobs on
PostgreSQL, growing with the table) even when there was nothing to delete.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_retention", "jobs", ["finished_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_retention", table_name="jobs")
