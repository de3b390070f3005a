"""Indexes for the Stats page: jobs ended in a window, attempts running or ended in it.

`GET /v1/stats` (and the UI's Stats page) aggregates the jobs of one tenant that finished in a
time window, and the attempts that ran in it; without these, each figure scans every job.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_finished", "jobs", ["tenant", "finished_at"])
    op.create_index("ix_attempts_ended", "attempts", ["tenant", "ended_at"])


def downgrade() -> None:
    op.drop_index("ix_attempts_ended", table_name="attempts")
    op.drop_index("ix_jobs_finished", table_name="jobs")
