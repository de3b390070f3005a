"""job_frames: a finished job's full per-frame series, shipped by its node at completion.

One gzip JSON per scored input (`vmafx.core.frames`), kept beside the job rather than in its
`result` (which every listing reads), and served by `GET /v1/jobs/{id}/frames` and gRPC
`GetJobFrames`. Deleted with its job.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_frames",
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("input_index", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name="fk_job_frames_job_id_jobs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "input_index", name="pk_job_frames"),
    )


def downgrade() -> None:
    op.drop_table("job_frames")
