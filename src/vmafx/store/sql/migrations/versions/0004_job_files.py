"""jobs.files: every input and output path of a job's spec, lower-cased, one per line.

What the Jobs page's and `vmafx jobs list --search`'s file search looks through, kept beside
the spec so a search reads one text column instead of parsing JSON on every row
(`vmafx.core.jobsearch.files_text`). Existing jobs are filled in here, a thousand at a time.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from vmafx.core.jobsearch import files_text

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

CHUNK = 1000


def _spec(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, dict) else {}


def upgrade() -> None:
    op.add_column("jobs", sa.Column("files", sa.Text(), nullable=True))
    connection = op.get_bind()
    table = sa.table("jobs", sa.column("id", sa.String), sa.column("spec", sa.JSON))
    files = sa.table("jobs", sa.column("id", sa.String), sa.column("files", sa.Text))
    last = ""
    while True:
        found = connection.execute(
            sa.select(table.c.id, table.c.spec)
            .where(table.c.id > last)
            .order_by(table.c.id)
            .limit(CHUNK)
        ).all()
        if not found:
            return
        connection.execute(
            sa.update(files).where(files.c.id == sa.bindparam("_id")),
            [{"_id": job_id, "files": files_text(_spec(spec))} for job_id, spec in found],
        )
        last = found[-1][0]


def downgrade() -> None:
    op.drop_column("jobs", "files")
