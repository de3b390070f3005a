"""The Stats page's store queries (`JobStore.farm_stats`) on a store of many ended jobs.

    python benchmarks/stats.py [--jobs 100000] [--days 30] [--repeat 5]
                               [--postgres postgresql://postgres@127.0.0.1:5432/test]

Fills a SQLite file and a throw-away PostgreSQL database (created next to --postgres, dropped at
the end) with `--jobs` ended jobs spread over `--days` (scores and encodes with sizes and VMAF
after, one job in ten failed, one attempt each on one of 8 nodes, half of them on a GPU), then
times `farm_stats` for the last 24 h (hour buckets) and the last 30 days (day buckets): best of
`--repeat`. The baseline, measured in the same run on the same data, is the same call with
migration 0003's two indexes dropped. Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import sqlalchemy as sa

from vmafx.core.attempts import Attempt, AttemptOutcome
from vmafx.core.jobs import JobKind, JobState
from vmafx.core.nodes import GpuInfo
from vmafx.core.stats import StatsWindow
from vmafx.scheduler import Scheduler
from vmafx.store.sql import SqlJobStore, upgrade
from vmafx.store.sql.rows import attempt_values, job_values
from vmafx.store.sql.schema import attempts, jobs
from vmafx.testing import make_job

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
NODES = [f"node-{i}" for i in range(8)]
GPUS = [GpuInfo(vendor="nvidia", name="L4", uuid=f"GPU-{i:04d}", index=0) for i in range(4)]
INDEXES = (("ix_jobs_finished", "jobs"), ("ix_attempts_ended", "attempts"))
ERRORS = ("ffmpeg exited 1: moov atom not found", "input not found: /media/x.mov", "timed out")


def rows(count: int, days: int, seed: int = 7) -> tuple[list[dict], list[dict]]:
    rng = random.Random(seed)
    job_rows, attempt_rows = [], []
    for _ in range(count):
        kind = JobKind.ENCODE if rng.random() < 0.6 else JobKind.SCORE
        finished = NOW - timedelta(seconds=rng.uniform(0, days * 86400))
        started = finished - timedelta(seconds=rng.uniform(5, 600))
        failed = rng.random() < 0.1
        result = None
        if not failed:
            result = {"score": 90.0}
            if kind is JobKind.ENCODE:
                source = rng.randint(50, 500) * 1_000_000
                result = {"codec": rng.choice(["hevc", "av1"]), "source_bytes": source,
                          "bytes": int(source * rng.uniform(0.2, 0.6)),
                          "score_after": {"vmaf": rng.uniform(80, 99)}}  # fmt: skip
        job = make_job(
            kind, tenant="acme", now=started - timedelta(seconds=30), job_id=str(uuid.uuid4()),
            state=JobState.FAILED if failed else JobState.COMPLETED, attempt=1, result=result,
            error=rng.choice(ERRORS) if failed else None, started_at=started, finished_at=finished,
        )  # fmt: skip
        node = rng.randrange(len(NODES))
        job_rows.append(job_values(job))
        attempt_rows.append(
            attempt_values(
                Attempt(
                    job_id=job.id, number=1, tenant="acme", session_id=f"s{node}",
                    node_name=NODES[node], host=NODES[node], started_at=started,
                    gpu=GPUS[node] if node < len(GPUS) else None, ended_at=finished,
                    outcome=AttemptOutcome.FAILED if failed else AttemptOutcome.COMPLETED,
                )
            )
        )  # fmt: skip
    return job_rows, attempt_rows


def fill(url: str, job_rows: list[dict], attempt_rows: list[dict]) -> None:
    upgrade(url)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for start in range(0, len(job_rows), 5000):
            connection.execute(jobs.insert(), job_rows[start : start + 5000])
            connection.execute(attempts.insert(), attempt_rows[start : start + 5000])
    with engine.begin() as connection:
        connection.execute(sa.text("ANALYZE"))  # both dialects: fresh planner statistics
    engine.dispose()


def drop_indexes(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for name, _table in INDEXES:
            connection.execute(sa.text(f"DROP INDEX {name}"))
    engine.dispose()


async def best(url: str, window: StatsWindow, repeat: int) -> tuple[float, int]:
    store = SqlJobStore(url, Scheduler())
    try:
        times, ended = [], 0
        for _ in range(repeat):
            began = time.perf_counter()
            stats = await store.farm_stats(window, tenant="acme")
            times.append(time.perf_counter() - began)
            ended = stats.completed + stats.failed
        return min(times), ended
    finally:
        await store.close()


def measure(url: str, repeat: int) -> dict[str, tuple[float, float, int]]:
    windows = {
        "24 h, hour buckets": StatsWindow.last(NOW, hours=24, bucket="hour"),
        "30 days, day buckets": StatsWindow.last(NOW, hours=720, bucket="day"),
    }
    indexed = {name: asyncio.run(best(url, w, repeat)) for name, w in windows.items()}
    drop_indexes(url)
    bare = {name: asyncio.run(best(url, w, repeat)) for name, w in windows.items()}
    return {name: (indexed[name][0], bare[name][0], indexed[name][1]) for name in windows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    job_rows, attempt_rows = rows(args.jobs, args.days)
    results: dict[str, dict[str, tuple[float, float, int]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        sqlite = f"sqlite:///{Path(folder) / 'stats.db'}"
        fill(sqlite, job_rows, attempt_rows)
        results["SQLite"] = measure(sqlite, args.repeat)
    name = f"vmafx_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(args.postgres, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        postgres = args.postgres.rsplit("/", 1)[0] + "/" + name
        fill(postgres, job_rows, attempt_rows)
        results["PostgreSQL"] = measure(postgres, args.repeat)
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"\n{args.jobs:,} ended jobs over {args.days} days; best of {args.repeat}\n")
    print("| store | window | jobs in it | with 0003's indexes | without | ratio |")
    print("|---|---|---|---|---|---|")
    for store, rows_ in results.items():
        for window, (indexed, bare, ended) in rows_.items():
            print(f"| {store} | {window} | {ended:,} | {indexed * 1000:.0f} ms | "
                  f"{bare * 1000:.0f} ms | {bare / indexed:.2f}x |")  # fmt: skip


if __name__ == "__main__":
    main()
