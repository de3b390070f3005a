"""What one claim, one report and one heartbeat cost in the PostgreSQL store, one at a time.

    python benchmarks/store_ops.py [--jobs 100000] [--nodes 200] [--rounds 5] [--batch 1]
                                   [--beat-batch 16]
                                   [--postgres postgresql://postgres@127.0.0.1:5432/test]

A fresh database (migrated to head), `--jobs` queued score jobs (cloned in SQL, as
benchmarks/scale.py does), `--nodes` registered sessions. Then `--rounds` rounds of, per node:
a claim (`claim_batch` with `--batch` nodes' requests per call), a heartbeat naming the job it
holds (`renew_leases`), the same heartbeat again in batches of `--beat-batch` nodes
(`renew_batch`, as the controller's RenewalBatcher sends them under load), and a completion
(`complete_job`). The store is called in this process
and nothing else runs on the database, so per operation: SQL statements (an SQLAlchemy hook),
transactions (pg_stat_database), CPU of this process (the controller's share: SQLAlchemy,
psycopg, the store's own code) and of every PostgreSQL process (/proc, as scale.py reads it).
No gRPC, no controller: what changes in the store shows here undiluted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

from vmafx.core.clock import FakeClock
from vmafx.core.nodes import NodeCapabilities
from vmafx.core.tokens import token_digest
from vmafx.scheduler import Scheduler
from vmafx.store.port import ClaimRequest, LeaseRenewal, RenewalRequest
from vmafx.store.sql import SqlJobStore

sys.path.insert(0, str(Path(__file__).parent))
from claim_index import create
from scale import postgres_cpu

#: Statements and transactions the store sent (SQLAlchemy hooks; pg_stat_database's counts
#: reach it up to 10 s late from pooled, idle connections).
STATEMENTS = [0]
TRANSACTIONS = [0]
SEEN: dict[str, int] = {}
VERBOSE = False


@sa.event.listens_for(sa.Engine, "before_cursor_execute")
def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    STATEMENTS[0] += 1
    SEEN[statement] = SEEN.get(statement, 0) + 1


@sa.event.listens_for(sa.Engine, "begin")
def _begin(*_args: Any) -> None:
    TRANSACTIONS[0] += 1


async def measure(label: str, count: int, run: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    SEEN.clear()
    x0, s0, c0, p0 = TRANSACTIONS[0], STATEMENTS[0], time.process_time(), postgres_cpu()
    await run()
    p1, c1, s1, x1 = postgres_cpu(), time.process_time(), STATEMENTS[0], TRANSACTIONS[0]
    if VERBOSE:
        for statement, times in SEEN.items():
            print(f"  {label}: {times / count:.2f} × {' '.join(statement.split())[:110]}")
    return {
        "op": label,
        "count": count,
        "statements": (s1 - s0) / count,
        "transactions": (x1 - x0) / count,
        "store_cpu_ms": (c1 - c0) * 1000 / count,
        "postgres_cpu_ms": (p1 - p0) * 1000 / count,
    }


async def bench(args: argparse.Namespace, url: str) -> list[dict[str, Any]]:
    store = SqlJobStore(url, Scheduler())
    clock = FakeClock(datetime.now(UTC))
    caps = NodeCapabilities(host="h", slots=1, backends=("cpu",))
    sessions = [
        await store.register_node(
            tenant="acme",
            name=f"node-{i}",
            capabilities=caps,
            token_sha256=token_digest(f"secret-{i}"),
            now=clock.now(),
        )
        for i in range(args.nodes)
    ]
    batched = f"heartbeat in batches of {args.beat_batch}"
    totals: dict[str, list[dict[str, Any]]] = {
        "claim": [],
        "heartbeat": [],
        batched: [],
        "report": [],
    }
    held: list[Any] = []
    for _ in range(args.rounds):
        held.clear()

        async def claims() -> None:
            for start in range(0, len(sessions), args.batch):
                group = sessions[start : start + args.batch]
                requests = [ClaimRequest(s.id, None, None) for s in group]
                for outcome in await store.claim_batch(requests, now=clock.now()):
                    assert outcome is not None and not isinstance(outcome, Exception)
                    held.append(outcome)

        async def beats() -> None:
            for job in held:
                assert job.lease is not None
                renewal = await store.renew_leases(
                    job.lease.session_id, now=clock.now(), job_ids=[job.id]
                )
                assert renewal.renewed == [job.id], renewal

        async def batched_beats() -> None:
            for start in range(0, len(held), args.beat_batch):
                group = held[start : start + args.beat_batch]
                requests = [RenewalRequest(job.lease.session_id, (job.id,)) for job in group]
                answers = await store.renew_batch(requests, now=clock.now())
                assert answers == [LeaseRenewal([job.id], []) for job in group], answers

        async def reports() -> None:
            for job in held:
                assert job.lease is not None
                await store.complete_job(
                    job.id,
                    attempt=job.attempt,
                    session_id=job.lease.session_id,
                    now=clock.now(),
                    result={"score": 90.0},
                )

        n = len(sessions)
        totals["claim"].append(await measure("claim", n, claims))
        clock.advance(1)
        totals["heartbeat"].append(await measure("heartbeat", n, beats))
        clock.advance(1)
        totals[batched].append(await measure(batched, n, batched_beats))
        clock.advance(1)
        totals["report"].append(await measure("report", n, reports))
        clock.advance(1)
    await store.close()
    rows = []
    for op, samples in totals.items():
        warm = samples[1:] or samples  # the first round warms caches and prepared statements
        rows.append(
            {
                "op": op,
                **{
                    key: sum(s[key] for s in warm) / len(warm)
                    for key in ("statements", "transactions", "store_cpu_ms", "postgres_cpu_ms")
                },
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--beat-batch", type=int, default=16)
    parser.add_argument("--verbose", action="store_true", help="print each statement sent")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    global VERBOSE  # noqa: PLW0603
    VERBOSE = args.verbose
    url = create(args.postgres, "head", args.jobs)
    try:
        rows = asyncio.run(bench(args, url))
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as connection:
            name = url.rsplit("/", 1)[1]
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"{args.jobs:,} queued, {args.nodes} nodes, claim batches of {args.batch}, "
          f"load {__import__('os').getloadavg()[0]:.1f}")  # fmt: skip
    print("| per operation | statements | transactions | store CPU | PostgreSQL CPU |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['op']} | {row['statements']:.2f} | {row['transactions']:.2f} "
            f"| {row['store_cpu_ms']:.2f} ms | {row['postgres_cpu_ms']:.2f} ms |"
        )


if __name__ == "__main__":
    main()
