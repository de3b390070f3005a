"""Aggressive autovacuum on the jobs table (PostgreSQL only; SQLite has no vacuum daemon).

`jobs` is a queue: every claim and every completion updates a row's `state`, which the claim
index (`ix_jobs_claim`: tenant, state, priority, age) holds, so each one leaves a dead entry
at the head of the pending range that every later claim steps over until a vacuum removes
it. At PostgreSQL's defaults (a vacuum after 20 % of the table changed) a 1,000,000-job queue
gets none for ~200,000 claims: measured with benchmarks/claim_index.py (1,000,000 jobs, 170
claims/s), the claim's candidate read grew from 6 to 214 index and heap pages in 105 s and
by ~2 pages a second after that (docs/scale.md).

A production queue table wants the vacuum to follow the churn, not the table's size, so these
are per-table storage parameters (`ALTER TABLE … SET`, kept by dumps and replicas) rather
than a vacuum the controller would run itself: autovacuum already throttles itself, needs no
extra connection or table-owner rights at run time, and runs when no controller does.

- `autovacuum_vacuum_scale_factor` 0.01 + `autovacuum_vacuum_threshold` 1000: a vacuum after
  1 % of the table (+1,000 rows) changed; at most once per `autovacuum_naptime` (server
  setting, 1 min by default: lower it where claims run at thousands a second).
- `autovacuum_vacuum_insert_scale_factor` 0.01: submissions alone also trigger it, so the
  visibility map stays current.
- `autovacuum_analyze_scale_factor` 0.02: the planner sees the states' proportions move.
- `autovacuum_vacuum_cost_limit` 2000 (10 × the default): a vacuum of the hot table ends in
  seconds instead of running throttled for most of the naptime while dead entries pile up.
- `vacuum_index_cleanup` on: PostgreSQL 14+ skips the index pass when under 2 % of the
  heap pages hold dead rows (the claimed rows sit together, so that is the usual case), which
  would leave exactly the dead claim-index entries this is for.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

#: The jobs table's storage parameters, as `pg_class.reloptions` shows them.
JOBS_STORAGE = {
    "autovacuum_vacuum_scale_factor": "0.01",
    "autovacuum_vacuum_threshold": "1000",
    "autovacuum_vacuum_insert_scale_factor": "0.01",
    "autovacuum_analyze_scale_factor": "0.02",
    "autovacuum_vacuum_cost_limit": "2000",
    "vacuum_index_cleanup": "on",
}


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        settings = ", ".join(f"{name} = {value}" for name, value in JOBS_STORAGE.items())
        op.execute(f"ALTER TABLE jobs SET ({settings})")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE jobs RESET ({', '.join(JOBS_STORAGE)})")
