"""Controller throughput and latency through gRPC, against a real `vmafx controller` process.

    python benchmarks/controller.py [--claims 4000] [--submit 150000] [--samples 300]
                                    [--postgres postgresql://postgres@127.0.0.1:5432/test]

(a) claims per second with 32 concurrent pullers (32 node sessions registered, then the jobs
    submitted, then PullWork without waiting until the queue is empty), on SQLite and on
    PostgreSQL (a throw-away database created next to --postgres);
(b) time to submit 150,000 score jobs with SubmitJobs in batches of 1,000 (SQLite, PostgreSQL);
(c) p50/p99 submit→claim latency on an idle farm: 32 pullers long-poll (wait 10 s) while jobs
    are submitted one at a time (SubmitJob), each timed from the submit call to the claim.
The controller runs as its own process (auth disabled, loopback); this process is the client.
Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import re
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from vmafx.api.convert import job_request_to_pb
from vmafx.client.grpc_client import GrpcControllerClient
from vmafx.core.jobs import JobKind
from vmafx.core.messages import JobRequest, NodeRegistration
from vmafx.core.nodes import NodeCapabilities
from vmafx.store.sql import upgrade

PULLERS = 32
BATCH = 1000
READY = re.compile(r"gRPC on (\S+)")


async def start(store: str, work: Path) -> tuple[asyncio.subprocess.Process, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("VMAFX_")}
    env["XDG_STATE_HOME"] = str(work / "state")
    with (work / "controller.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "vmafx", "controller", "--grpc-listen", "127.0.0.1:0",
            "--http-listen", "127.0.0.1:0", "--store", store, "--scoring-root", str(work),
            "--auth-disabled", stdout=asyncio.subprocess.PIPE, stderr=log, env=env,
        )  # fmt: skip
    assert process.stdout is not None
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        if not line:
            raise SystemExit(f"controller exited: {(work / 'controller.log').read_text()[-2000:]}")
        if found := READY.search(line):
            return process, found.group(1)


async def stop(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.wait(), 60)


def request(work: Path) -> JobRequest:
    spec = {"reference": str(work / "ref.y4m"), "distorted": str(work / "dis.y4m")}
    return JobRequest.parse(kind=JobKind.SCORE, spec=spec)


async def submit(client: GrpcControllerClient, work: Path, count: int) -> float:
    started = time.perf_counter()
    for offset in range(0, count, BATCH):
        await client.submit_jobs([request(work)] * min(BATCH, count - offset))
    return time.perf_counter() - started


async def nodes(client: GrpcControllerClient) -> list[NodeRegistration]:
    caps = NodeCapabilities(slots=100_000)
    return [await client.register_node(f"bench-{i}", caps) for i in range(PULLERS)]


async def claims_per_second(target: str, work: Path, count: int) -> float:
    clients = [GrpcControllerClient(target, timeout_s=60) for _ in range(4)]
    # The farm is up before the work arrives, as in steady state: jobs submitted to a farm
    # with no nodes would first be marked "no live node", and the refresh that clears those
    # reasons once nodes register would run during the measurement.
    sessions = await nodes(clients[0])
    await submit(clients[0], work, count)
    await asyncio.sleep(1.0)  # the sweeper's reaction to the registrations is over

    async def puller(index: int) -> int:
        client, session, got = clients[index % len(clients)], sessions[index], 0
        while await client.pull_work(session) is not None:
            got += 1
        return got

    started = time.perf_counter()
    claimed = sum(await asyncio.gather(*(puller(i) for i in range(PULLERS))))
    elapsed = time.perf_counter() - started
    for client in clients:
        await client.close()
    assert claimed == count, (claimed, count)
    return count / elapsed


async def latency(target: str, work: Path, samples: int) -> list[float]:
    client = GrpcControllerClient(target, timeout_s=60)
    sessions = await nodes(client)
    submitted: dict[str, float] = {}
    delays: list[float] = []
    done = asyncio.Event()

    async def puller(session: NodeRegistration) -> None:
        while not done.is_set():
            claim = await client.pull_work(session, wait_s=10)
            if claim is not None:
                key = claim.job.idempotency_key or ""
                delays.append(time.perf_counter() - submitted[key])
                if len(delays) >= samples:
                    done.set()

    tasks = [asyncio.create_task(puller(session)) for session in sessions]
    await asyncio.sleep(1.0)  # every puller is waiting
    for _ in range(samples):
        key = uuid.uuid4().hex
        message = job_request_to_pb(dataclasses.replace(request(work), idempotency_key=key))
        submitted[key] = time.perf_counter()
        await client._call("SubmitJob", message)  # SubmitJob only: no read-back
        await asyncio.sleep(0.02)
    await asyncio.wait_for(done.wait(), 30)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await client.close()
    return delays


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def fresh_postgres(admin: str) -> tuple[str, str]:
    name = f"vmafx_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = admin.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    return name, url


def drop_postgres(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def run_backend(
    label: str, stores: list[str], work: Path, args: argparse.Namespace
) -> dict[str, float]:
    """(a) and (b) on `stores[0]`, (c) on the empty `stores[1]` (an idle farm)."""
    figures: dict[str, float] = {}
    process, target = await start(stores[0], work)
    try:
        figures["claims"] = await claims_per_second(target, work, args.claims)
        client = GrpcControllerClient(target, timeout_s=120)
        figures["submit"] = await submit(client, work, args.submit)
        await client.close()
    finally:
        await stop(process)
    process, target = await start(stores[1], work)
    try:
        delays = await latency(target, work, args.samples)
        figures["p50"] = percentile(delays, 0.50) * 1000
        figures["p99"] = percentile(delays, 0.99) * 1000
    finally:
        await stop(process)
    print(f"{label}: {figures}", file=sys.stderr)
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=4000)
    parser.add_argument("--submit", type=int, default=150_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.only != "postgres":
            stores = [f"sqlite:///{work / name}" for name in ("a.db", "b.db")]
            results["SQLite"] = await run_backend("SQLite", stores, work, args)
        if args.only != "sqlite":
            made = [fresh_postgres(args.postgres) for _ in range(2)]
            try:
                stores = [url for _, url in made]
                results["PostgreSQL"] = await run_backend("PostgreSQL", stores, work, args)
            finally:
                for name, _ in made:
                    drop_postgres(args.postgres, name)
    print_table(results, args)


def print_table(results: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    empty = dict.fromkeys(("claims", "submit", "p50", "p99"), float("nan"))
    lite, pg = results.get("SQLite", empty), results.get("PostgreSQL", empty)
    rows = [
        (
            f"(a) claims/s, {PULLERS} pullers, {args.claims:,} jobs",
            f"{lite['claims']:.0f}",
            f"{pg['claims']:.0f}",
            "≥ 500 / ≥ 1,500",
        ),
        (
            f"(b) submit {args.submit:,} jobs (SubmitJobs × {BATCH})",
            f"{lite['submit']:.1f} s",
            f"{pg['submit']:.1f} s",
            "< 60 s",
        ),
        (
            "(b) submitted jobs/s",
            f"{args.submit / lite['submit']:.0f}",
            f"{args.submit / pg['submit']:.0f}",
            "",
        ),
        (
            f"(c) submit→claim p50, {PULLERS} long-polling pullers",
            f"{lite['p50']:.1f} ms",
            f"{pg['p50']:.1f} ms",
            "",
        ),
        (
            f"(c) submit→claim p99 ({args.samples} jobs)",
            f"{lite['p99']:.1f} ms",
            f"{pg['p99']:.1f} ms",
            "≤ 100 ms",
        ),
        ("(a) PostgreSQL / SQLite claims/s", "", f"{pg['claims'] / lite['claims']:.2f}", ""),
    ]
    print("| measurement | SQLite | PostgreSQL | target |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    asyncio.run(main())
