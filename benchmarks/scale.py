"""The farm at scale: many simulated nodes against a deep queue on PostgreSQL, 1–3 controllers.

    python benchmarks/scale.py [--nodes 10000] [--jobs 1000000] [--controllers 1 2 3]
                               [--job-seconds 60] [--window 30] [--procs 4]
                               [--postgres postgresql://postgres@127.0.0.1:5432/test]

For each number of controller processes K (issue 15 item 5):

1. A fresh PostgreSQL database (migrated), `--jobs` queued score jobs: one submitted through
   the API, the rest cloned from its row in SQL (the submit path has its own benchmark,
   benchmarks/controller.py; this one is about claiming from a deep queue).
2. K `vmafx controller` processes on that database (auth off, loopback).
3. `--nodes` simulated node sessions in `--procs` processes (grpc.aio, a few channels each),
   spread round-robin over the controllers, all starting within a few seconds (a storm). Each
   session registers as `vmafx node` does (`SessionKeeper`: it honours the controller's
   retry-after when refused, with jitter), heartbeats at the interval the controller hands out
   (at registration, then in each answer), long-polls PullWork, "runs" a claimed job for
   `--job-seconds` (± 20 %, no work done), reports it completed and pulls again: the demand is
   nodes ÷ job-seconds claims per second. The default job length, 60 s, is the short end of a
   VMAF/encode farm's jobs (a 1080p VMAF pass runs at ~29 fps on 2 cores: 60 s scores a 1-minute
   segment; a per-title encode or ladder rung takes minutes).
4. Once every session has registered (the store counts them; `--register-timeout`) and after a
   warm-up, a `--window`-second measurement:
   claims/s, p50/p99 claim latency (the PullWork call that returned a job, as the node sees it),
   heartbeats/s, and per claim: CPU seconds of the controllers, of the PostgreSQL backends
   serving them, of the simulators; database transactions (pg_stat_database) and SQL statements
   the controllers sent (counted by an SQLAlchemy event hook this script installs in the
   controller processes; nothing in vmafx counts them).
5. First, the same sessions on an empty queue (`--no-idle` skips it): heartbeats and
   long-polls only, so the cost of a heartbeat is measured on its own.

The machine is shared: figures are absolute but noisy; the CPU split per claim is what says
where the cost goes. Prints Markdown tables for docs/benchmarks.md / docs/scale.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import psycopg

from vmafx.store.sql import upgrade

READY = re.compile(r"gRPC on (\S+)")
SAMPLE = re.compile(r"^(vmafx_controller_[a-z_]+)(?:\{([^}]*)\})? (\S+)$", re.M)
LABEL = re.compile(r'(\w+)="([^"]*)"')
#: A controller's samples, summed over controllers and tenants: (name, labels) -> value.
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Installed in each controller process: counts every SQL statement it sends (all engines),
# written to a file on SIGUSR1; and lets the sweeper's slow steps (INFO) into the log.
_CONTROLLER = r"""
import logging, os, signal, sys
logging.getLogger("vmafx.controller.sweeper").setLevel(logging.INFO)
import sqlalchemy
from sqlalchemy import event
count = [0]
@event.listens_for(sqlalchemy.engine.Engine, "before_cursor_execute")
def _count(*_args, **_kw):
    count[0] += 1
def _dump(*_args):
    with open(os.environ["BENCH_SQL_COUNT"], "w") as f:
        f.write(str(count[0]))
signal.signal(signal.SIGUSR1, _dump)
sys.argv = ["vmafx", *sys.argv[1:]]
from vmafx.cli.entry import main
main()
"""


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its threads (children excluded)."""
    return cpu_seconds(pid)


def clone_first_job(url: str, total: int) -> None:
    """Make `total` queued jobs out of the one row the database holds (ids and times fresh),
    in batches of 100,000 SQL-side inserts (`benchmarks/claim_index.py` seeds with it too)."""
    with psycopg.connect(url, autocommit=True) as connection:
        columns = [
            row[0]
            for row in connection.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'jobs' ORDER BY ordinal_position"
            )
        ]
        fresh = {
            "id": "gen_random_uuid()::text",
            "idempotency_key": "NULL",
            "created_at": "t.created_at + make_interval(secs => g / 1e6)",
        }
        select = ", ".join(fresh.get(c, f"t.{c}") for c in columns)
        step = 100_000
        for start in range(1, total, step):
            stop = min(total - 1, start + step - 1)
            connection.execute(
                f"INSERT INTO jobs ({', '.join(columns)}) SELECT {select} FROM "
                f"(SELECT * FROM jobs ORDER BY created_at LIMIT 1) t, "
                f"generate_series({start}, {stop}) g"
            )
        connection.execute("ANALYZE jobs")


class Database:
    def __init__(self, admin: str) -> None:
        self.admin = admin
        self.name = f"vmafx_scale_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.name}"')
        self.url = admin.rsplit("/", 1)[0] + "/" + self.name
        upgrade(self.url)

    def drop(self) -> None:
        with psycopg.connect(self.admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def clone_jobs(self, total: int) -> None:
        """Make `total` queued jobs out of the one row there is (ids and times fresh)."""
        clone_first_job(self.url, total)

    def wait_for_sessions(self, count: int, started: float, timeout: float) -> float:
        """Seconds from `started` until `count` node sessions are in the store (NaN after
        `timeout`: the measurement goes on with those that did register)."""
        with psycopg.connect(self.url, autocommit=True) as connection:
            while True:
                (have,) = connection.execute("SELECT count(*) FROM node_sessions").fetchone() or (
                    0,
                )
                if have >= count:
                    return time.time() - started
                if time.time() - started > timeout:
                    print(f"only {have:,} of {count:,} sessions registered in {timeout:g} s",
                          file=sys.stderr)  # fmt: skip
                    return float("nan")
                time.sleep(0.5)

    def stats(self) -> dict[str, float]:
        """Transactions so far on this database, and CPU seconds of every PostgreSQL process on
        the machine (backends come and go with the controllers' pools, so they are not summed
        one by one; the other databases here are idle)."""
        with psycopg.connect(self.admin, autocommit=True) as connection:
            (commits,) = connection.execute(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                (self.name,),
            ).fetchone() or (0,)
        with psycopg.connect(self.url, autocommit=True) as connection:
            (scans, rows) = connection.execute(
                "SELECT seq_scan, seq_tup_read FROM pg_stat_user_tables WHERE relname = 'jobs'"
            ).fetchone() or (0, 0)
        return {
            "xacts": float(commits), "cpu": postgres_cpu(),
            "jobs_scans": float(scans), "jobs_scanned": float(rows),
        }  # fmt: skip


def postgres_cpu() -> float:
    """CPU seconds of every process named postgres, the exited backends' included (a
    process's children's times count once they are reaped, so the postmaster's cutime holds
    the backends that ended)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        if not name.startswith("postgres"):
            continue
        fields = text.rsplit(")", 1)[1].split()
        # utime stime cutime cstime
        total += sum(int(x) for x in fields[11:15]) / CLK_TCK
    return total


class Controllers:
    def __init__(self, count: int, store: str, work: Path, repoll_s: float | None) -> None:
        self.count, self.store, self.work = count, store, work
        self.repoll_s = repoll_s
        self.processes: list[subprocess.Popen[bytes]] = []
        self.targets: list[str] = []
        self.http_ports: list[int] = []
        #: VMAFX_CONTROLLER_* settings for the controllers (`--controller-env`).
        self.extra_env: dict[str, str] = {}

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VMAFX_")}
        if self.repoll_s is not None:
            env["VMAFX_CONTROLLER_REPOLL_S"] = str(self.repoll_s)
        env.update(self.extra_env)
        for index in range(self.count):
            env_i = {
                **env,
                "XDG_STATE_HOME": str(self.work / f"state{index}"),
                "BENCH_SQL_COUNT": str(self.work / f"sql{index}"),
            }
            log = (self.work / f"controller{index}.log").open("ab")
            with socket.socket() as probe:  # a free port for /metrics
                probe.bind(("127.0.0.1", 0))
                http_port = probe.getsockname()[1]
            self.http_ports.append(http_port)
            process = subprocess.Popen(
                [sys.executable, "-c", _CONTROLLER, "controller", "--grpc-listen",
                 "127.0.0.1:0", "--http-listen", f"127.0.0.1:{http_port}", "--store", self.store,
                 "--scoring-root", str(self.work), "--auth-disabled"],
                stdout=subprocess.PIPE, stderr=log, env=env_i,
            )  # fmt: skip
            assert process.stdout is not None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                line = process.stdout.readline().decode()
                if not line:
                    break
                if found := READY.search(line):
                    self.targets.append(found.group(1))
                    break
            else:
                raise SystemExit(f"controller {index} did not start")
            if len(self.targets) != index + 1:
                raise SystemExit((self.work / f"controller{index}.log").read_text()[-3000:])
            self.processes.append(process)

    def cpu(self) -> float:
        return sum(tree_cpu(p.pid) for p in self.processes)

    def scrape(self) -> Samples:
        """Every controller's `vmafx_controller_*` samples, summed over controllers and tenants
        (empty where a controller has none). A scrape also reads the queue gauges (a count of
        the live jobs), as Prometheus's would."""
        total: Samples = {}
        for port in self.http_ports:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                    text = r.read().decode()
            except OSError:
                continue
            for found in SAMPLE.finditer(text):
                labels = tuple(
                    sorted((k, v) for k, v in LABEL.findall(found.group(2) or "") if k != "tenant")
                )
                key = (found.group(1), labels)
                total[key] = total.get(key, 0.0) + float(found.group(3))
        return total

    def statements(self) -> int:
        total = 0
        for index, process in enumerate(self.processes):
            path = self.work / f"sql{index}"
            path.unlink(missing_ok=True)
            process.send_signal(signal.SIGUSR1)
            for _ in range(100):
                if path.exists() and path.read_text():
                    total += int(path.read_text())
                    break
                time.sleep(0.02)
        return total

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()


# --- the simulator (one process of many) -------------------------------------------------------


async def simulate(config: dict[str, Any]) -> dict[str, Any]:
    from vmafx.client.grpc_client import GrpcControllerClient  # noqa: PLC0415
    from vmafx.core.messages import NodeReport  # noqa: PLC0415
    from vmafx.core.nodes import NodeCapabilities  # noqa: PLC0415
    from vmafx.errors import NotFoundError, OverloadedError  # noqa: PLC0415
    from vmafx.node.backoff import Backoff  # noqa: PLC0415
    from vmafx.node.session import SessionKeeper  # noqa: PLC0415

    targets: list[str] = config["targets"]
    channels = [
        GrpcControllerClient(target, timeout_s=120)
        for target in targets
        for _ in range(config["channels"])
    ]
    per_target = config["channels"]
    caps = NodeCapabilities(host="sim", slots=1)
    claims: list[tuple[float, float]] = []  # (end time, latency)
    heartbeats: list[float] = []
    pulls: list[float] = []  # PullWork calls made (start times)
    errors: list[tuple[float, str]] = []
    lost: list[float] = []  # sessions the controller forgot (expired): registered again
    stop_file = Path(config["stop_file"])
    job_s = config["job_seconds"]
    registered = 0
    refused = 0
    running = [True]

    async def watch_stop() -> None:
        while not stop_file.exists():
            await asyncio.sleep(0.5)
        running[0] = False

    class Counting:  # counts the refusals a SessionKeeper sleeps through
        def __init__(self, client: GrpcControllerClient) -> None:
            self.client = client

        async def register_node(self, name: str, capabilities: NodeCapabilities) -> Any:
            nonlocal refused
            try:
                return await self.client.register_node(name, capabilities)
            except OverloadedError:
                refused += 1
                raise

    async def node(index: int) -> None:
        nonlocal registered
        target = (config["first"] + index) % len(targets)
        client = channels[target * per_target + index % per_target]
        await asyncio.sleep(random.random() * config["ramp_s"])
        keeper = SessionKeeper(Counting(client), f"sim-{config['proc']}-{index}", caps)  # type: ignore[arg-type]
        try:
            session = await keeper.session()
        except Exception as error:
            errors.append((time.time(), f"register: {error}"))
            return
        registered += 1
        interval = [max(1.0, session.heartbeat_interval_s or 10.0)]

        async def beat() -> None:
            await asyncio.sleep(random.random() * interval[0])
            while running[0]:
                current = await keeper.session()
                try:
                    answer = await client.heartbeat(current)
                    heartbeats.append(time.time())
                    if answer.session_unknown:  # as `vmafx node`: register again at once
                        lost.append(time.time())
                        keeper.forget(current)
                        continue
                    if answer.heartbeat_interval_s:
                        interval[0] = answer.heartbeat_interval_s
                except Exception as error:
                    errors.append((time.time(), f"heartbeat: {error}"))
                await asyncio.sleep(interval[0])

        beating = asyncio.create_task(beat())
        backoff = Backoff()  # as `vmafx node`'s slots: jittered, 0.5 s doubling to 30 s
        try:
            while running[0]:
                started = time.time()
                pulls.append(started)
                current = await keeper.session()
                try:
                    claim = await client.pull_work(current, wait_s=20)
                except NotFoundError:  # the session expired: register again
                    lost.append(time.time())
                    keeper.forget(current)
                    continue
                except Exception as error:
                    errors.append((time.time(), f"pull: {error}"))
                    await asyncio.sleep(backoff.next_delay())
                    continue
                backoff.reset()
                if claim is None:
                    continue
                ended = time.time()
                claims.append((ended, ended - started))
                await asyncio.sleep(job_s * random.uniform(0.8, 1.2))
                try:
                    report = NodeReport(
                        job_id=claim.job.id, attempt=claim.job.attempt, result={"score": 90.0}
                    )
                    await client.report_result(current, report)
                except Exception as error:
                    errors.append((time.time(), f"report: {error}"))
        finally:
            beating.cancel()

    nodes = [asyncio.create_task(node(i)) for i in range(config["nodes"])]
    await watch_stop()
    for task in nodes:  # those "running" a job would otherwise sleep out its length first
        task.cancel()
    await asyncio.gather(*nodes, return_exceptions=True)
    for client in channels:
        await client.close()
    return {
        "claims": claims,
        "heartbeats": heartbeats,
        "pulls": pulls,
        "errors": [text for _, text in errors[:20]],
        "error_times": [at for at, _ in errors],
        "lost": lost,
        "registered": registered,
        "refused": refused,
    }


def simulator_main() -> None:
    config = json.loads(sys.stdin.read())
    result = asyncio.run(simulate(config))
    result["cpu"] = cpu_seconds(os.getpid())
    sys.stdout.write(json.dumps(result))


# --- one configuration ---------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def buckets(samples: Samples, name: str, **labels: str) -> dict[float, float]:
    """A histogram's cumulative count per bucket bound, from scraped samples."""
    found: dict[float, float] = {}
    for (sample, sample_labels), value in samples.items():
        if sample != f"{name}_bucket":
            continue
        rest = dict(sample_labels)
        bound = float(rest.pop("le"))
        if rest == labels:
            found[bound] = found.get(bound, 0.0) + value
    return found


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def controller_figures(h0: Samples, h1: Samples) -> dict[str, float]:
    """What the controllers' own histograms say of the window: the claim time, the claim
    batches' transactions, the sweep's steps and how long the event loop was held."""
    claim0, claim1 = (buckets(h, "vmafx_controller_claim_seconds") for h in (h0, h1))
    lag0, lag1 = (buckets(h, "vmafx_controller_event_loop_lag_seconds") for h in (h0, h1))
    batch0, batch1 = (buckets(h, "vmafx_controller_batch_seconds", kind="claim") for h in (h0, h1))
    lags = lag1.get(math.inf, 0.0) - lag0.get(math.inf, 0.0)
    held = {b: lag1[b] - lag0.get(b, 0.0) for b in lag1}
    batches = delta(h0, h1, "vmafx_controller_batch_seconds_count", kind="claim")
    figures = {
        "server_p50_ms": bucket_quantile(claim0, claim1, 0.5) * 1000,
        "server_p99_ms": bucket_quantile(claim0, claim1, 0.99) * 1000,
        "loop_lag_p99_ms": bucket_quantile(lag0, lag1, 0.99) * 1000,
        "loop_held_over_100ms": lags - held.get(0.1, lags),
        "loop_held_over_250ms": lags - held.get(0.25, lags),
        # The worst lag lies at or under this bucket bound (inf: over the last bound).
        "loop_worst_under_s": min((b for b in held if held[b] >= lags), default=math.nan),
        "claim_batches": batches,
        "claim_batch_mean": delta(h0, h1, "vmafx_controller_batch_requests_total", kind="claim")
        / max(1.0, batches),
        "claim_batch_ms": delta(h0, h1, "vmafx_controller_batch_seconds_sum", kind="claim")
        * 1000
        / max(1.0, batches),
        "claim_batch_p99_ms": bucket_quantile(batch0, batch1, 0.99) * 1000,
    }
    for step in ("lock", "expire", "refresh", "prune", "vacuum"):
        name = "vmafx_controller_sweep_step_seconds"
        figures[f"sweep_{step}_s"] = delta(h0, h1, f"{name}_sum", step=step)
        figures[f"sweep_{step}_n"] = delta(h0, h1, f"{name}_count", step=step)
    name = "vmafx_controller_gc_pause_seconds"
    if not any(sample.startswith(name) for sample, _ in h1):  # a controller from before it
        return (
            figures
            | {f"gc{g}_{k}": math.nan for g in "012" for k in ("n", "ms")}
            | {"gc2_worst_under_s": math.nan}
        )
    for generation in "012":
        figures[f"gc{generation}_n"] = delta(h0, h1, f"{name}_count", generation=generation)
        figures[f"gc{generation}_ms"] = (
            delta(h0, h1, f"{name}_sum", generation=generation)
            * 1000
            / max(1.0, figures[f"gc{generation}_n"])
        )
    full0, full1 = (buckets(h, name, generation="2") for h in (h0, h1))
    fulls = {b: full1[b] - full0.get(b, 0.0) for b in full1}
    # The longest full collection lies at or under this bucket bound (NaN: none in the window).
    figures["gc2_worst_under_s"] = min(
        (b for b in fulls if fulls[b] >= figures["gc2_n"] > 0), default=math.nan
    )
    return figures


def bucket_quantile(before: dict[float, float], after: dict[float, float], q: float) -> float:
    """The q-quantile of a histogram's observations between two scrapes, interpolated within
    its bucket as Prometheus's `histogram_quantile` does (NaN without observations)."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return float("nan")
    rank = q * counts[-1]
    lower, below = 0.0, 0.0
    for bound, count in zip(bounds, counts, strict=True):
        if count >= rank:
            if math.isinf(bound):
                return lower
            return lower + (bound - lower) * (rank - below) / max(count - below, 1e-9)
        lower, below = bound, count
    return lower


def seed_template(target: str, work: Path) -> None:
    from vmafx.client.grpc_client import GrpcControllerClient  # noqa: PLC0415
    from vmafx.core.jobs import JobKind  # noqa: PLC0415
    from vmafx.core.messages import JobRequest  # noqa: PLC0415

    async def one() -> None:
        client = GrpcControllerClient(target, timeout_s=60)
        spec = {"reference": str(work / "ref.y4m"), "distorted": str(work / "dis.y4m")}
        await client.submit_job(JobRequest.parse(kind=JobKind.SCORE, spec=spec))
        await client.close()

    asyncio.run(one())


def scrape_until(controllers: Controllers, stop_file: Path, every_s: float) -> None:
    """Scrape /metrics every `every_s` seconds until `stop_file` exists (a Prometheus)."""
    while not stop_file.exists():
        time.sleep(every_s)
        controllers.scrape()


def run_one(k: int, args: argparse.Namespace, work: Path, jobs: int) -> dict[str, float]:
    """One measurement: K controllers, `jobs` queued (0: an idle farm, heartbeats and
    long-polls only)."""
    db = Database(args.postgres)
    controllers = Controllers(k, db.url, work, args.repoll)
    controllers.extra_env = dict(item.split("=", 1) for item in args.controller_env)
    sims: list[subprocess.Popen[str]] = []
    try:
        controllers.start()
        if jobs:
            print(f"[K={k}] seeding {jobs:,} jobs", file=sys.stderr)
            seed_template(controllers.targets[0], work)
            t = time.monotonic()
            db.clone_jobs(jobs)
            print(f"[K={k}] seeded in {time.monotonic() - t:.0f} s", file=sys.stderr)
        ramp = args.ramp
        stop_file = work / f"stop-{k}-{jobs}"
        stop_file.unlink(missing_ok=True)
        per_proc = args.nodes // args.procs
        started = time.time()
        if args.scrape_every > 0:
            threading.Thread(
                target=scrape_until, args=(controllers, stop_file, args.scrape_every), daemon=True
            ).start()
        for proc in range(args.procs):
            config = {
                "targets": controllers.targets, "channels": args.channels, "proc": proc,
                "first": proc, "nodes": per_proc, "stop_file": str(stop_file),
                "job_seconds": args.job_seconds, "ramp_s": ramp,
            }  # fmt: skip
            sim = subprocess.Popen(
                [sys.executable, __file__, "--simulator"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert sim.stdin is not None
            sim.stdin.write(json.dumps(config))
            sim.stdin.close()
            sims.append(sim)
        registered_s = db.wait_for_sessions(per_proc * args.procs, started, args.register_timeout)
        print(f"[K={k}] sessions registered after {registered_s:.0f} s", file=sys.stderr)
        # Busy: one job length after the last registration, every node is in its steady
        # claim-run-report cycle (the first claims came in the storm).
        # Idle or busy: one heartbeat interval (as the controller stretches it, at its default
        # cap of 100/s) after the last registration, every node beats at the interval it got.
        settle = max(args.warmup, args.nodes / 100, args.job_seconds if jobs else 0.0)
        if args.settle is not None:
            settle = args.settle
        begin = time.time() + settle
        stop_at = begin + args.window
        time.sleep(max(0.0, begin - time.time()))
        load = os.getloadavg()[0]
        c0, d0, s0 = controllers.cpu(), db.stats(), controllers.statements()
        h0 = controllers.scrape()
        sim_cpu0 = sum(cpu_seconds(s.pid) for s in sims)
        time.sleep(max(0.0, stop_at - time.time()))
        c1, d1, s1 = controllers.cpu(), db.stats(), controllers.statements()
        h1 = controllers.scrape()
        sim_cpu1 = sum(cpu_seconds(s.pid) for s in sims)
        stop_file.touch()
        results = [json.loads(s.stdout.read()) for s in sims if s.stdout is not None]
    finally:
        for sim in sims:
            if sim.poll() is None:
                sim.kill()
        controllers.stop()
        db.drop()
    claims = [(t, lat) for r in results for t, lat in r["claims"] if begin <= t < stop_at]
    beats = [t for r in results for t in r["heartbeats"] if begin <= t < stop_at]
    pulls = [t for r in results for t in r["pulls"] if begin <= t < stop_at]
    n = max(1, len(claims))
    b = max(1, len(beats))
    figures = {
        "controller_cpu_per_beat_ms": (c1 - c0) * 1000 / b,
        "db_cpu_per_beat_ms": (d1["cpu"] - d0["cpu"]) * 1000 / b,
        "xacts_per_beat": (d1["xacts"] - d0["xacts"]) / b,
        "statements_per_beat": (s1 - s0) / b,
        "registered": sum(r["registered"] for r in results),
        "registered_s": registered_s,
        "load1": load,
        "refused": sum(r["refused"] for r in results),
        "pulls_s": len(pulls) / args.window,
        "errors": sum(len(r["error_times"]) for r in results),
        "errors_window": sum(begin <= t < stop_at for r in results for t in r["error_times"]),
        "lost_window": sum(begin <= t < stop_at for r in results for t in r["lost"]),
        "claims_s": len(claims) / args.window,
        "demand_s": args.nodes / args.job_seconds,
        "p50_ms": percentile([lat for _, lat in claims], 0.5) * 1000,
        "p99_ms": percentile([lat for _, lat in claims], 0.99) * 1000,
        **controller_figures(h0, h1),
        "heartbeats_s": len(beats) / args.window,
        "controller_cpu_ms": (c1 - c0) * 1000 / n,
        "db_cpu_ms": (d1["cpu"] - d0["cpu"]) * 1000 / n,
        "sim_cpu_ms": (sim_cpu1 - sim_cpu0) * 1000 / n,
        "xacts": (d1["xacts"] - d0["xacts"]) / n,
        "statements": (s1 - s0) / n,
        "jobs_scans": d1["jobs_scans"] - d0["jobs_scans"],
        "jobs_scanned_per_claim": (d1["jobs_scanned"] - d0["jobs_scanned"]) / n,
        "controller_cores": (c1 - c0) / args.window,
        "db_cores": (d1["cpu"] - d0["cpu"]) / args.window,
    }
    if args.timeline and jobs:
        print_timeline(results, started, stop_at, begin, said=controller_said(work))
    sample = [e for r in results for e in r["errors"]][:3]
    print(f"[K={k} jobs={jobs}] {json.dumps(figures)} {sample}", file=sys.stderr)
    return figures


STALL_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) \w+ [\w.]+: "
    r"(?:sweep step (\w+) took ([\d.]+) s|the event loop was held ([\d.]+) s)"
)


def controller_said(work: Path) -> list[tuple[float, str]]:
    """The controllers' slow sweep steps and event-loop holds, from their logs: (time, what)."""
    said: list[tuple[float, str]] = []
    for path in sorted(work.glob("controller*.log")):
        for line in path.read_text(errors="replace").splitlines():
            found = STALL_LINE.match(line)
            if found is None:
                continue
            at = time.mktime(time.strptime(found.group(1), "%Y-%m-%d %H:%M:%S"))
            at += int(found.group(2)) / 1000
            what = (
                f"{found.group(3)} {found.group(4)} s"
                if found.group(3)
                else f"loop held {found.group(5)} s"
            )
            said.append((at, what))
    return sorted(said)


def print_timeline(
    results: list[dict[str, Any]],
    started: float,
    stop_at: float,
    begin: float,
    step: float = 10.0,
    said: list[tuple[float, str]] | None = None,
) -> None:
    """Claims per `step` seconds from the first start to the window's end: whether the storm's
    backlog had drained (p99 near the long-poll's own cost) when the window began; and what
    the controllers logged of slow sweep steps and a held event loop in each step."""
    claims = sorted((t, lat) for r in results for t, lat in r["claims"])
    print("\n| from start | claims/s | p50 | p99 | in window | controller said |", file=sys.stderr)
    print("|---|---|---|---|---|---|", file=sys.stderr)
    at = started
    while at < stop_at:
        lats = [lat for t, lat in claims if at <= t < at + step]
        words = "; ".join(what for t, what in said or [] if at <= t < at + step)
        if lats:
            print(
                f"| {at - started:.0f}-{at - started + step:.0f} s | {len(lats) / step:,.0f} | "
                f"{percentile(lats, 0.5) * 1000:,.0f} ms | {percentile(lats, 0.99) * 1000:,.0f} ms"
                f" | {'yes' if at >= begin else ''} | {words} |",
                file=sys.stderr,
            )
        at += step


def print_tables(
    busy: dict[int, dict[str, float]], idle: dict[int, dict[str, float]], args: argparse.Namespace
) -> None:
    keys = sorted(busy or idle)
    head = "| | " + " | ".join(f"{k} controller{'s' if k > 1 else ''}" for k in keys) + " |"
    rule = "|---" * (len(keys) + 1) + "|"

    def table(results: dict[int, dict[str, float]], rows: list[tuple[str, str, str]]) -> None:
        print(head)
        print(rule)
        for label, key, fmt in rows:
            # A row may name several figures ("a b"): one cell each, "a / b".
            cells = " | ".join(
                " / ".join(fmt.format(results[k][name]) for name in key.split()) for k in keys
            )
            print(f"| {label} | {cells} |")

    if idle:
        print(f"\nIdle farm: {args.nodes:,} simulated nodes long-polling an empty queue and "
              f"heartbeating, {args.window:g} s window\n")  # fmt: skip
        table(idle, [
            ("sessions registered", "registered", "{:,.0f}"),
            ("seconds until all registered", "registered_s", "{:.0f} s"),
            ("registrations refused (retried later)", "refused", "{:,.0f}"),
            ("heartbeats/s", "heartbeats_s", "{:,.0f}"),
            ("PullWork calls/s", "pulls_s", "{:,.0f}"),
            ("controller cores busy", "controller_cores", "{:.2f}"),
            ("PostgreSQL cores busy", "db_cores", "{:.2f}"),
            ("controller CPU per heartbeat", "controller_cpu_per_beat_ms", "{:.2f} ms"),
            ("PostgreSQL CPU per heartbeat", "db_cpu_per_beat_ms", "{:.2f} ms"),
            ("transactions per heartbeat", "xacts_per_beat", "{:.2f}"),
            ("SQL statements per heartbeat", "statements_per_beat", "{:.2f}"),
            ("calls failed in the window", "errors_window", "{:,.0f}"),
            ("calls failed over the whole run (storm included)", "errors", "{:,.0f}"),
            ("sessions lost in the window (registered again)", "lost_window", "{:,.0f}"),
            ("machine load (1 min) at window start", "load1", "{:.1f}"),
        ])  # fmt: skip
    if busy:
        print(f"\nBusy farm: {args.nodes:,} simulated nodes, {args.jobs:,} queued jobs, jobs of "
              f"{args.job_seconds:g} s (demand {args.nodes / args.job_seconds:,.0f} claims/s), "
              f"{args.window:g} s window; per claim = everything in the window (heartbeats "
              f"included) ÷ claims\n")  # fmt: skip
        table(busy, [
            ("sessions registered", "registered", "{:,.0f}"),
            ("claims/s", "claims_s", "{:,.0f}"),
            ("claim latency p50", "p50_ms", "{:.0f} ms"),
            ("claim latency p99", "p99_ms", "{:.0f} ms"),
            ("claim time in the controller p50 (its histogram)", "server_p50_ms", "{:.1f} ms"),
            ("claim time in the controller p99 (its histogram)", "server_p99_ms", "{:.0f} ms"),
            ("claim batches: mean claims each", "claim_batch_mean", "{:.1f}"),
            ("claim batches: mean / p99 transaction", "claim_batch_ms claim_batch_p99_ms",
             "{:.1f} ms"),
            ("event loop held > 100 ms / > 250 ms (times)",
             "loop_held_over_100ms loop_held_over_250ms", "{:,.0f}"),
            ("longest hold of the event loop, at most", "loop_worst_under_s", "{:g} s"),
            ("sweep: expire / refresh / prune / vacuum, seconds in all",
             "sweep_expire_s sweep_refresh_s sweep_prune_s sweep_vacuum_s", "{:.2f}"),
            ("garbage collections of generation 0 / 1 / 2 (full), times", "gc0_n gc1_n gc2_n",
             "{:,.0f}"),
            ("garbage collections' mean pause, generation 0 / 1 / 2", "gc0_ms gc1_ms gc2_ms",
             "{:.1f} ms"),
            ("longest full garbage collection, at most", "gc2_worst_under_s", "{:g} s"),
            ("seconds until all registered", "registered_s", "{:.0f} s"),
            ("registrations refused (retried later)", "refused", "{:,.0f}"),
            ("heartbeats/s", "heartbeats_s", "{:,.0f}"),
            ("PullWork calls/s", "pulls_s", "{:,.0f}"),
            ("controller cores busy", "controller_cores", "{:.2f}"),
            ("PostgreSQL cores busy", "db_cores", "{:.2f}"),
            ("controller CPU per claim", "controller_cpu_ms", "{:.2f} ms"),
            ("PostgreSQL CPU per claim", "db_cpu_ms", "{:.2f} ms"),
            ("simulator CPU per claim", "sim_cpu_ms", "{:.2f} ms"),
            ("transactions per claim", "xacts", "{:.1f}"),
            ("SQL statements per claim", "statements", "{:.1f}"),
            ("full scans of `jobs` in the window", "jobs_scans", "{:,.0f}"),
            ("rows those scans read, per claim", "jobs_scanned_per_claim", "{:,.0f}"),
            ("calls failed in the window", "errors_window", "{:,.0f}"),
            ("calls failed over the whole run (storm included)", "errors", "{:,.0f}"),
            ("sessions lost in the window (registered again)", "lost_window", "{:,.0f}"),
            ("machine load (1 min) at window start", "load1", "{:.1f}"),
        ])  # fmt: skip


def main() -> None:
    if "--simulator" in sys.argv:
        simulator_main()
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--controllers", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument(
        "--job-seconds", type=float, default=60.0, help="simulated job length (± 20 %%)"
    )
    parser.add_argument(
        "--ramp", type=float, default=5.0, help="seconds over which the nodes start (a storm)"
    )
    parser.add_argument("--register-timeout", type=float, default=300.0)
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument(
        "--settle", type=float,
        help="seconds from the last registration to the window (default: the longest of "
        "--warmup, one heartbeat interval and, busy, one job length)",
    )  # fmt: skip
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument(
        "--channels",
        type=int,
        help="gRPC channels per controller and simulator process (default: one per 100 "
        "sessions; thousands of calls on a few channels have gRPC drop some)",
    )
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-idle", action="store_true", help="skip the idle-farm phase")
    parser.add_argument(
        "--timeline", action="store_true",
        help="print claims/s and p50/p99 per 10 s from the first start (has the storm drained?)",
    )  # fmt: skip
    parser.add_argument(
        "--scrape-every", type=float, default=0.0, metavar="S",
        help="scrape every controller's /metrics every S seconds from the first start, as "
        "Prometheus would (0: only at the window's edges)",
    )  # fmt: skip
    parser.add_argument(
        "--controller-env", nargs="*", default=[], metavar="KEY=VALUE",
        help="settings for the controllers, e.g. VMAFX_CONTROLLER_PENDING_REFRESH_S=60",
    )  # fmt: skip
    parser.add_argument(
        "--repoll", type=float, help="VMAFX_CONTROLLER_REPOLL_S: each puller group's store re-read"
    )
    args = parser.parse_args()
    if args.channels is None:
        per_channel = args.nodes / args.procs / min(args.controllers)
        args.channels = max(1, math.ceil(per_channel / 100))
    busy: dict[int, dict[str, float]] = {}
    idle: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in args.controllers:
            if not args.no_idle:
                idle[k] = run_one(k, args, Path(tmp), 0)
            if args.jobs:
                busy[k] = run_one(k, args, Path(tmp), args.jobs)
    print_tables(busy, idle, args)


if __name__ == "__main__":
    main()
