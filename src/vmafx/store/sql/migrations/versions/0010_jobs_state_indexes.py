"""Indexes that read the pending queue in listing order without scanning it.

Two of the controller's periodic reads list pending jobs newest first: the pending-reason
refresh (`PendingExplainer`, every 10 s: `state = 'pending' ORDER BY created_at DESC, id DESC`,
five pages of 1,000) and the tune runner's look for tune jobs (every second: the same with
`kind = 'tune'`, 100 rows). No index served either across tenants, so with 1,000,000 queued
jobs each was a (parallel) scan and sort of the whole queue on PostgreSQL: measured 0.95 s for
the tune look that found nothing, 1.3 s a page for the refresh, on the 10,000-node benchmark
(docs/scale.md), every second. With these, each reads its page off an index.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_state_created", "jobs", ["state", "created_at", "id"])
    op.create_index("ix_jobs_state_kind", "jobs", ["state", "kind", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_state_kind", table_name="jobs")
    op.drop_index("ix_jobs_state_created", table_name="jobs")
