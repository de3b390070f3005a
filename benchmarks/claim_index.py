"""The claim statement on a deep PostgreSQL queue while claims and completions churn it.

    python benchmarks/claim_index.py [--jobs 1000000] [--rate 170] [--seconds 180]
                                     [--revision head] [--every 10] [--vacuum-at S ...]
                                     [--postgres postgresql://postgres@127.0.0.1:5432/test]

A fresh database migrated to `--revision` (`0008`: before the jobs table's autovacuum
settings; `head`: with them), `--jobs` queued score jobs (one stored through the store, the
rest cloned from its row in SQL, as benchmarks/scale.py does), then `--seconds` of churn at
`--rate` claims a second: every 0.1 s one transaction takes the head of the queue as the claim
does (`FOR UPDATE SKIP LOCKED` in claim order, state → running) and another completes the jobs
claimed 60 s earlier (state → completed), so the claim index (`ix_jobs_claim`) gains a dead
entry at the head of the pending range per claim, as in the real farm. Every `--every`
seconds it runs the claim's own candidate statement (`statements.candidates`, as a batch of 2
asks) under EXPLAIN (ANALYZE, BUFFERS) and prints its time, the index and heap pages it read,
the table's dead rows (`pg_stat_user_tables`) and the last (auto)vacuum. `--vacuum-at` runs a
plain `VACUUM jobs` at those seconds (the manual baseline); `--vacuum-every` does what the
sweeping controller does (`vacuum_due`: VACUUM (ANALYZE) of the hot tables past the threshold).

The statement's cost is what grows between vacuums; the churn is SQL alone (no controller), so
the figures are the database's share only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import sqlalchemy as sa

from scale import clone_first_job  # benchmarks/scale.py: the same seeding
from vmafx.scheduler import Scheduler
from vmafx.store.sql import SqlJobStore, upgrade
from vmafx.store.sql import statements as st
from vmafx.store.sql.engine import create_engine
from vmafx.testing import make_job

CLAIM = """
UPDATE jobs SET state = 'running', lease_session = %(session)s, attempt = attempt + 1,
    started_at = now(), updated_at = now(), lease_expires_at = now() + interval '5 minutes'
WHERE id IN (
    SELECT id FROM jobs WHERE tenant = 'acme' AND state = 'pending' AND available_at <= now()
    ORDER BY priority DESC, created_at, id LIMIT %(n)s FOR UPDATE SKIP LOCKED)
RETURNING id
"""
COMPLETE = """
UPDATE jobs SET state = 'completed', lease_session = NULL, lease_expires_at = NULL,
    finished_at = now(), updated_at = now()
WHERE id = ANY(%(ids)s)
"""


def create(admin: str, revision: str, total: int) -> str:
    name = f"vmafx_claimix_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = admin.rsplit("/", 1)[0] + "/" + name
    upgrade(url, revision)

    async def one() -> None:
        store = SqlJobStore(url, Scheduler())
        await store.submit_job(make_job(tenant="acme", now=datetime.now(UTC)))
        await store.close()

    asyncio.run(one())
    clone_first_job(url, total)
    return url


def claim_params() -> dict[str, Any]:
    return {
        "tenant": "acme",
        "now": datetime.now(UTC),
        "backends": ["cpu"],
        "vendors": ["nvidia"],
        "encoders": ["libx264"],
        "max_memory": 0,
        "limit": 2,
    }


def explainer(url: str) -> sa.Engine:
    """An engine whose statements run under EXPLAIN (ANALYZE, BUFFERS): the claim's own
    statement, sent exactly as vmafx sends it."""
    engine = create_engine(url, pool_size=1)

    def prefix(*args: Any) -> tuple[str, Any]:
        statement, parameters = args[2], args[3]
        return "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters

    sa.event.listen(engine, "before_cursor_execute", prefix, retval=True)
    return engine


def explain(engine: sa.Engine) -> dict[str, float]:
    """Time and pages (shared buffers hit or read, index and heap) of one candidate read."""
    stmt = st.candidates(allowed=False, blocked=False, after=False, lock=True)
    with engine.connect() as connection:
        plan = connection.execute(stmt, claim_params()).scalar_one()
        connection.rollback()
    top = plan[0]
    pages = top["Plan"].get("Shared Hit Blocks", 0) + top["Plan"].get("Shared Read Blocks", 0)
    return {"ms": round(top["Execution Time"], 3), "pages": pages}


def table_state(connection: psycopg.Connection[Any]) -> dict[str, Any]:
    row = connection.execute(
        "SELECT n_dead_tup, n_live_tup, last_autovacuum, last_vacuum, autovacuum_count "
        "FROM pg_stat_user_tables WHERE relname = 'jobs'"
    ).fetchone()
    assert row is not None
    dead, live, auto, manual, count = row
    return {"dead": dead, "live": live, "autovacuums": count, "last": auto or manual}


def churn(url: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    engine = explainer(url)
    sweeper = create_engine(url, pool_size=1)
    samples: list[dict[str, Any]] = []
    claimed: list[tuple[float, list[str]]] = []
    tick, per_tick = 0.1, max(1, round(args.rate * 0.1))
    vacuums = sorted(args.vacuum_at)
    next_check = args.vacuum_every or float("inf")
    with (
        psycopg.connect(url, autocommit=True) as work,
        psycopg.connect(url, autocommit=True) as probe,
    ):
        started = time.monotonic()
        next_sample = 0.0
        while (elapsed := time.monotonic() - started) < args.seconds:
            if vacuums and elapsed >= vacuums[0]:
                vacuums.pop(0)
                t = time.monotonic()
                probe.execute("VACUUM jobs")
                print(f"  VACUUM jobs at {elapsed:.0f} s took {time.monotonic() - t:.1f} s")
            if elapsed >= next_check:
                next_check += args.vacuum_every
                t = time.monotonic()
                from vmafx.store.sql.vacuum import vacuum_due  # noqa: PLC0415 (not before 0009)

                done = vacuum_due(sweeper)
                print(f"  vacuum_due at {elapsed:.0f} s: {done} in {time.monotonic() - t:.1f} s")
            ids = [r[0] for r in work.execute(CLAIM, {"session": "s", "n": per_tick})]
            claimed.append((elapsed, ids))
            due = [ids for at, ids in claimed if at <= elapsed - 60]
            if due:
                del claimed[: len(due)]
                work.execute(COMPLETE, {"ids": [i for batch in due for i in batch]})
            if elapsed >= next_sample:
                sample = {"t": round(elapsed), **explain(engine), **table_state(probe)}
                samples.append(sample)
                print(json.dumps(sample, default=str), flush=True)
                next_sample += args.every
            time.sleep(max(0.0, tick - (time.monotonic() - started - elapsed)))
    engine.dispose()
    sweeper.dispose()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=170.0)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--every", type=float, default=10.0)
    parser.add_argument("--revision", default="head")
    parser.add_argument("--vacuum-at", type=float, nargs="*", default=[])
    parser.add_argument(
        "--vacuum-every", type=float, default=0.0,
        help="do what the sweeping controller does (vacuum_queue) every so many seconds",
    )  # fmt: skip
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    t = time.monotonic()
    url = create(args.postgres, args.revision, args.jobs)
    print(f"{args.jobs:,} jobs at revision {args.revision} in {time.monotonic() - t:.0f} s")
    name = url.rsplit("/", 1)[1]
    try:
        with psycopg.connect(url) as connection:
            (options,) = connection.execute(
                "SELECT reloptions FROM pg_class WHERE relname = 'jobs'"
            ).fetchone() or (None,)
        print(f"jobs reloptions: {options}")
        churn(url, args)
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
