"""Vacuuming the queue's hot tables from the sweeping controller (PostgreSQL).

Every claim and every completion leaves a dead entry at the head of the claim index
(`ix_jobs_claim`), which later claims step over until a vacuum removes it. Migration 0009
gives `jobs` autovacuum settings that follow the churn, but autovacuum may be off on a server
(it was on this project's development machine, so none of the scale runs before had one) or
busy elsewhere. So the replica holding the sweep lock checks the hot tables' dead rows every
minute against the same threshold (1,000 rows + 1 % of the live ones) and vacuums those past
it. Where autovacuum works it gets there first, and the check finds nothing to do.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

#: Tables every claim, report or heartbeat updates: jobs (state), attempts (ended), sessions.
HOT_TABLES = ("jobs", "attempts", "node_sessions")
#: A vacuum is due past THRESHOLD + SCALE × live rows dead ones (as in migration 0009).
THRESHOLD = 1000
SCALE = 0.01

DUE = sa.text(
    "SELECT relname FROM pg_stat_user_tables "
    "WHERE schemaname = current_schema() AND relname = ANY(:tables) "
    "AND n_dead_tup > :threshold + :scale * n_live_tup ORDER BY relname"
)


def vacuum_due(engine: Engine) -> list[str]:
    """VACUUM (ANALYZE) each hot table whose dead rows passed the threshold; those done."""
    params = {"tables": list(HOT_TABLES), "threshold": THRESHOLD, "scale": SCALE}
    with engine.connect() as connection:
        due = list(connection.execute(DUE, params).scalars())
    if due:
        # VACUUM cannot run inside a transaction block.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in due:
                connection.exec_driver_sql(f'VACUUM (ANALYZE) "{table}"')
    return due
