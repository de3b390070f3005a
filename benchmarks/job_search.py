"""Finding jobs among 100,000: the Jobs page's queries on SQLite and PostgreSQL.

    python benchmarks/job_search.py [--jobs 100000] [--postgres postgresql://postgres@127.0.0.1:5432/test]

Seeds `--jobs` pending score jobs (each its own distorted file, `clip_NNNNNN_crfCC.mp4`, 40 CRFs)
straight into a migrated store (SQLite in a temporary folder; PostgreSQL in a throw-away
database next to --postgres), then times through `SqlJobStore` (best of 3) one page of 50 and
the counts per state for: the newest page (the baseline), one file among all, a word matching
1 job in 40, a word matching none (every job is read), and a state with a word. Prints a
Markdown table with each query's time as a ratio to the baseline page on the same store.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import psycopg
import sqlalchemy as sa

from vmafx.core.jobs import JobState
from vmafx.core.jobsearch import Field, Term
from vmafx.scheduler import Scheduler
from vmafx.store import JobQuery
from vmafx.store.sql import SqlJobStore, rows, upgrade
from vmafx.store.sql.engine import create_engine
from vmafx.store.sql.schema import jobs
from vmafx.testing import make_job

CRFS = 40
CASES = {
    "newest page (baseline)": JobQuery(tenant="acme"),
    "one file among all": JobQuery(tenant="acme", terms=(Term(Field.ANY, "clip_042424"),)),
    "file word, 1 job in 40": JobQuery(tenant="acme", terms=(Term(Field.FILE, "crf17"),)),
    "a word matching none": JobQuery(tenant="acme", terms=(Term(Field.ANY, "zzz"),)),
    "state:pending + word": JobQuery(
        tenant="acme", states=(JobState.PENDING,), terms=(Term(Field.ANY, "crf17"),)
    ),
}


def seed(url: str, count: int) -> float:
    """`count` jobs: one through the store's row mapping, the rest copied from it in SQL."""
    first = make_job(spec={"reference": "/media/ref.mp4", "distorted": ["/media/clip.mp4"]})
    postgres = url.startswith("postgresql")
    if postgres:
        clip = ("'/media/clips/clip_' || lpad(n::text, 6, '0') || '_crf' || "
                f"(10 + mod(n, {CRFS}))::text || '.mp4'")  # fmt: skip
        spec = f"jsonb_set(j.spec, '{{distorted}}', jsonb_build_array({clip}))"
        newline, ident = "chr(10)", "md5(n::text)"
        later = "j.{0} + n * interval '1 millisecond'"
        numbers = f"generate_series(1, {count - 1}) AS n"
    else:
        clip = f"printf('/media/clips/clip_%06d_crf%d.mp4', n.i, 10 + n.i % {CRFS})"
        spec = f"json_set(j.spec, '$.distorted', json_array({clip}))"
        newline, ident = "char(10)", "printf('%08x-0000-4000-8000-%012x', n.i, n.i)"
        later = "datetime(j.{0}, '+' || n.i || ' seconds') || '.000000'"
        numbers = "n"
    changed = {
        "id": ident,
        "spec": spec,
        "files": f"'/media/ref.mp4' || {newline} || {clip}",
        **{name: later.format(name) for name in ("created_at", "updated_at", "available_at")},
    }
    columns = [column.name for column in jobs.columns]
    picked = ", ".join(changed.get(name, f"j.{name}") for name in columns)
    head = (
        ""
        if postgres
        else "WITH RECURSIVE n(i) AS "
        f"(SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count - 1}) "
    )
    engine = create_engine(url, pool_size=1)
    started = time.perf_counter()
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(jobs), [rows.job_values(first)])
            connection.exec_driver_sql(
                f"{head}INSERT INTO jobs ({', '.join(columns)}) SELECT {picked} "
                f"FROM {numbers}, jobs AS j WHERE j.id = '{first.id}'"
            )
            connection.exec_driver_sql("ANALYZE" if not postgres else "ANALYZE jobs")
    finally:
        engine.dispose()
    return time.perf_counter() - started


async def measure(url: str) -> dict[str, tuple[float, float, int]]:
    """Per case: best page time, count time (seconds), and how many jobs matched."""
    store = SqlJobStore(url, Scheduler())
    found: dict[str, tuple[float, float, int]] = {}
    try:
        for name, query in CASES.items():
            pages = []
            for _ in range(3):
                started = time.perf_counter()
                await store.list_jobs(query, limit=50)
                pages.append(time.perf_counter() - started)
            started = time.perf_counter()
            counts = await store.count_jobs(query)
            found[name] = (min(pages), time.perf_counter() - started, sum(counts.values()))
    finally:
        await store.close()
    return found


def table(backend: str, found: dict[str, tuple[float, float, int]]) -> None:
    base = found["newest page (baseline)"][0]
    print(f"\n{backend}\n")
    print("| query | matches | page of 50, ms | × baseline | counts per state, ms |")
    print("|---|---|---|---|---|")
    for name, (page, count, matched) in found.items():
        print(
            f"| {name} | {matched:,} | {page * 1000:.0f} | {page / base:.1f} | {count * 1000:.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--postgres", default=None, help="an admin URL; omitted: SQLite only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'store.db'}"
        upgrade(url)
        print(f"SQLite: seeded {args.jobs:,} jobs in {seed(url, args.jobs):.1f} s")
        table("SQLite", asyncio.run(measure(url)))
    if args.postgres:
        database = "vmafx_job_search_bench"
        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {database}")
        url = args.postgres.rsplit("/", 1)[0] + f"/{database}"
        try:
            upgrade(url)
            print(f"\nPostgreSQL: seeded {args.jobs:,} jobs in {seed(url, args.jobs):.1f} s")
            table("PostgreSQL", asyncio.run(measure(url)))
        finally:
            with psycopg.connect(args.postgres, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


if __name__ == "__main__":
    main()
