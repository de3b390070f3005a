"""Three `vmafx controller` processes on one PostgreSQL database (issue 15 item 1), one of them
`kill -9`'d mid-run: nothing lost, nothing claimed twice, waiters on the survivors woken.

Light nodes (a real `GrpcControllerClient` per node: register, long-poll PullWork, heartbeat,
report; no ffmpeg) and clients (submitters, StreamJobs watchers) are spread over the three
controllers. The replicas re-read the store only every 30 s (`VMAFX_CONTROLLER_REPOLL_S`), so a
puller woken by a job submitted on another replica was woken by LISTEN/NOTIFY, not by polling.

The run: wake probes (one job at a time, every node idle), then a load of small jobs; when a
third of them is done, the controller holding the sweep lock is killed with SIGKILL. Its nodes
go on with the next controller keeping their sessions (as behind a load balancer), except one
that dies with it: its job's lease runs out, and only a surviving replica's sweeper (which must
have taken the sweep lock over) can requeue it. Its submitter sends its whole share again to a
survivor with the same idempotency keys. Then more wake probes on the survivors.

What must hold (checked in the store, not only in what the clients saw): every job completed,
no extra job (idempotency across replicas), each job has exactly one completed attempt, its
current one, whose node wrote the result; no (job, attempt) was handed to two nodes; the dead
node's job went through an expired attempt; the survivors' watchers saw every job complete. The
figures (wake latencies, sweep take-over time, watcher lag) are printed and recorded as the
test's `replicas` property; timings are reported, not asserted tightly.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests.contract_helpers import load_contract_conftest

from vmafx.client.grpc_client import GrpcControllerClient
from vmafx.core.jobs import JobKind, JobState
from vmafx.core.messages import (
    Claim,
    JobFilter,
    JobRequest,
    NodeRegistration,
    NodeReport,
    RunningJob,
)
from vmafx.core.nodes import NodeCapabilities
from vmafx.errors import ConflictError, VmafxError
from vmafx.store.sql import upgrade

from .conftest import CONTROLLER_ENV, Farm, Proc

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.slow, pytest.mark.anyio]

_contract = load_contract_conftest("vmafx_contract_conftest_replicas")
postgres_server = _contract.postgres_server
fresh_postgres = _contract.fresh_postgres

CONTROLLERS = 3
NODES_PER_CONTROLLER = 2
JOBS = 90
PROBES = 3
WORK_S = 0.05
PULL_WAIT_S = 10.0
REPOLL_S = 30.0
DEADLINE_S = 90.0
TAKEOVER = "this controller now runs the periodic sweeps"
ENV = {**CONTROLLER_ENV, "VMAFX_CONTROLLER_REPOLL_S": str(REPOLL_S)}


@pytest.fixture
def database(fresh_postgres: Any) -> str:
    url: str = fresh_postgres()
    upgrade(url)
    return url


@dataclasses.dataclass
class Controller:
    index: int
    proc: Proc
    target: str
    dead: bool = False


@dataclasses.dataclass
class Run:
    farm: Farm
    controllers: list[Controller]
    media: Path
    #: (job id, attempt) -> node names it was handed to.
    claims: dict[tuple[str, int], list[str]] = dataclasses.field(default_factory=dict)
    claimed_at: dict[str, float] = dataclasses.field(default_factory=dict)
    claimed_via: dict[str, int] = dataclasses.field(default_factory=dict)
    done: set[str] = dataclasses.field(default_factory=set)
    reported_at: dict[str, float] = dataclasses.field(default_factory=dict)
    #: controller index -> job id -> when its watcher saw the job completed.
    watched: dict[int, dict[str, float]] = dataclasses.field(default_factory=dict)
    wake_s: list[tuple[str, float]] = dataclasses.field(default_factory=list)
    dead_node_job: str | None = None
    loading: bool = False
    stop: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    def live(self, after: int) -> Controller:
        """The first live controller from `after` on (round robin): the load balancer."""
        for step in range(CONTROLLERS):
            controller = self.controllers[(after + step) % CONTROLLERS]
            if not controller.dead:
                return controller
        raise AssertionError("no controller left")

    def request(self, key: str, queue: str | None = None) -> JobRequest:
        spec = {"reference": str(self.media / "ref.y4m"), "distorted": str(self.media / "ref.y4m")}
        return JobRequest.parse(kind=JobKind.SCORE, spec=spec, idempotency_key=key, queue=queue)


class NodeDiedError(Exception):
    """The light node that dies with its controller."""


class LightNode:
    """A node as the controller sees one, on one controller until it dies, then the next."""

    def __init__(self, run: Run, name: str, home: int, *, dies_with_home: bool = False) -> None:
        self.run = run
        self.name = name
        self.at = home
        #: The load's queue, and the probes aimed at the nodes of controller `home`.
        self.queues = ["score", probe_queue(home)]
        self.dies_with_home = dies_with_home
        self.client = GrpcControllerClient(run.controllers[home].target, timeout_s=15)
        self.session: NodeRegistration | None = None

    async def _switch(self) -> None:
        await self.client.close()
        self.at = self.run.live(self.at + 1).index
        self.client = GrpcControllerClient(self.run.controllers[self.at].target, timeout_s=15)

    async def _call(self, make: Any) -> Any:
        """One call, moved to the next live controller while this one is dead (a node that
        dies with its controller raises NodeDied instead)."""
        while True:
            try:
                return await make(self.client)
            except ConflictError:
                raise
            except VmafxError:
                home = self.run.controllers[self.at]
                if not home.dead and home.proc.popen.poll() is None:
                    raise
                if self.dies_with_home:
                    raise NodeDiedError from None
                await self._switch()

    async def serve(self) -> None:
        with contextlib.suppress(NodeDiedError):
            await self._serve()

    async def _serve(self) -> None:
        self.session = await self._call(
            lambda c: c.register_node(self.name, NodeCapabilities(host=self.name, slots=1))
        )
        while not self.run.stop.is_set():
            claim: Claim | None = await self._call(
                lambda c: c.pull_work(self.session, queues=self.queues, wait_s=PULL_WAIT_S)
            )
            if claim is None:
                continue
            job = claim.job
            self.run.claims.setdefault((job.id, job.attempt), []).append(self.name)
            self.run.claimed_at.setdefault(job.id, time.monotonic())
            self.run.claimed_via.setdefault(job.id, self.at)
            running = [RunningJob(job_id=job.id, attempt=job.attempt, progress=0.5)]
            if self.dies_with_home and self.run.loading:
                # Holds the job, heartbeating, until its controller dies; then it is gone.
                self.run.dead_node_job = job.id
                while True:
                    await self._call(lambda c, r=running: c.heartbeat(self.session, running=r))
                    await asyncio.sleep(0.5)
            await self._call(lambda c, r=running: c.heartbeat(self.session, running=r))
            await asyncio.sleep(WORK_S)
            report = NodeReport(
                job_id=job.id,
                attempt=job.attempt,
                result={"score": 90.0, "node": self.name, "attempt": job.attempt},
            )
            try:
                await self._call(lambda c, r=report: c.report_result(self.session, r))
            except ConflictError:  # a superseded attempt: someone else has it now
                continue
            self.run.done.add(job.id)
            self.run.reported_at.setdefault(job.id, time.monotonic())

    async def close(self) -> None:
        await self.client.close()


async def watch(run: Run, controller: Controller) -> None:
    seen = run.watched.setdefault(controller.index, {})
    client = GrpcControllerClient(controller.target, timeout_s=15)
    try:
        async for job in client.watch_jobs(JobFilter(states=(JobState.COMPLETED,))):
            seen.setdefault(job.id, time.monotonic())
    except VmafxError:
        if not controller.dead:
            raise
    finally:
        await client.close()


async def submit_share(run: Run, home: int, keys: list[str]) -> None:
    """Submit `keys` through controller `home` in small batches; once it dies, send the whole
    share again through a survivor (a client that cannot tell what got through)."""
    client = GrpcControllerClient(run.controllers[home].target, timeout_s=15)
    try:
        for start in range(0, len(keys), 5):
            try:
                await client.submit_jobs([run.request(key) for key in keys[start : start + 5]])
            except VmafxError:
                if not run.controllers[home].dead:
                    raise
                break
            await asyncio.sleep(0.2)
        else:
            return
    finally:
        await client.close()
    survivor = run.live(home + 1)
    client = GrpcControllerClient(survivor.target, timeout_s=15)
    try:
        await client.submit_jobs([run.request(key) for key in keys])
    finally:
        await client.close()


def probe_queue(home: int) -> str:
    return f"probe-c{home}"


async def probe(run: Run, via: Controller, key: str, target: Controller) -> None:
    """One job submitted on `via` while every node idles, for the nodes long-polling `target`
    (its own queue): how long until one of them holds it."""
    client = GrpcControllerClient(via.target, timeout_s=15)
    try:
        started = time.monotonic()
        job = (await client.submit_job(run.request(key, probe_queue(target.index)))).job
    finally:
        await client.close()
    while job.id not in run.claimed_at:
        assert time.monotonic() - started < PULL_WAIT_S * 3, f"probe {key} never claimed"
        await asyncio.sleep(0.005)
    kind = "same" if run.claimed_via[job.id] == via.index else "cross"
    run.wake_s.append((kind, run.claimed_at[job.id] - started))


async def idle(run: Run) -> None:
    """Until every live node waits in a long-poll (no job in hand)."""
    await asyncio.sleep(0.3)
    while set(run.claimed_at) - run.done - {run.dead_node_job}:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)


def sweep_holder(run: Run) -> Controller:
    holders = [c for c in run.controllers if not c.dead and TAKEOVER in c.proc.stderr.read_text()]
    assert len(holders) == 1, f"{len(holders)} controllers say they sweep"
    return holders[0]


def start_controllers(farm: Farm, database: str) -> list[Controller]:
    procs = []
    for index in range(CONTROLLERS):
        args = ["controller", "--grpc-listen", "127.0.0.1:0", "--http-listen",
                "127.0.0.1:0", "--store", database, "--auth-disabled",
                "--scoring-root", str(farm.media)]  # fmt: skip
        procs.append(farm._spawn(f"controller{index}", args, ENV))
    controllers = []
    for index, proc in enumerate(procs):
        port = proc.wait_for_line(r"gRPC on 127\.0\.0\.1:(\d+)").group(1)
        controllers.append(Controller(index, proc, f"127.0.0.1:{port}"))
    return controllers


@pytest.fixture
def farm(tmp_path: Path) -> Iterator[Farm]:
    media = tmp_path / "media"
    media.mkdir()
    (media / "ref.y4m").write_bytes(b"")
    made = Farm(tmp_path, media)
    yield made
    made.kill_all()


def store_rows(database: str) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    with psycopg.connect(database) as connection:
        jobs = {
            row[0]: row
            for row in connection.execute(
                "SELECT id, state, attempt, result, idempotency_key FROM jobs"
            )
        }
        attempts: dict[str, list[Any]] = {}
        for row in connection.execute(
            "SELECT job_id, number, node_name, outcome FROM attempts ORDER BY job_id, number"
        ):
            attempts.setdefault(row[0], []).append(row)
    return jobs, attempts


def figures(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


async def test_three_controllers_one_killed_mid_run_lose_nothing_and_wake_the_survivors(
    farm: Farm, database: str, record_property: Any
):
    started = time.monotonic()
    controllers = await asyncio.to_thread(start_controllers, farm, database)
    run = Run(farm, controllers, farm.media)
    victim = await asyncio.to_thread(_wait_for_holder, run)
    nodes = [
        LightNode(run, f"n{c.index}-{i}", c.index, dies_with_home=c is victim and i == 0)
        for c in controllers
        for i in range(NODES_PER_CONTROLLER)
    ]
    tasks = [asyncio.create_task(node.serve(), name=node.name) for node in nodes]
    watchers = [asyncio.create_task(watch(run, c)) for c in controllers]
    try:
        await _run(run, nodes, victim, database, record_property, started)
    finally:
        run.stop.set()
        for task in [*tasks, *watchers]:
            task.cancel()
        for task in [*tasks, *watchers]:
            with contextlib.suppress(BaseException):
                await task
        for node in nodes:
            await node.close()


def _wait_for_holder(run: Run) -> Controller:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        live = [c for c in run.controllers if not c.dead]
        if any(TAKEOVER in c.proc.stderr.read_text() for c in live):
            return sweep_holder(run)
        time.sleep(0.05)
    raise AssertionError("no controller took the sweep lock")


async def _run(
    run: Run,
    nodes: list[LightNode],
    victim: Controller,
    database: str,
    record_property: Any,
    started: float,
) -> None:
    while not all(node.session for node in nodes) or len(run.watched) < CONTROLLERS:
        assert time.monotonic() - started < DEADLINE_S, "the nodes never registered"
        await asyncio.sleep(0.02)
    await asyncio.sleep(1.0)  # every node long-polling, every watcher subscribed
    # 1. Wake probes: one job at a time on each controller while every node idles.
    for i in range(PROBES * CONTROLLERS):
        via = run.controllers[i % CONTROLLERS]  # same replica, then another, in turn
        target = via if i % 2 == 0 else run.controllers[(via.index + 1) % CONTROLLERS]
        await probe(run, via, f"probe-a{i}", target)
        await idle(run)

    # 2. Load, spread over the controllers; the sweep holder dies a third of the way in.
    run.loading = True
    keys = [f"job-{i}" for i in range(JOBS)]
    shares = [keys[i::CONTROLLERS] for i in range(CONTROLLERS)]
    submitters = [
        asyncio.create_task(submit_share(run, i, share)) for i, share in enumerate(shares)
    ]
    while len(run.done) < len(run.wake_s) + JOBS // 3:
        assert time.monotonic() - started < DEADLINE_S, "the load never got a third done"
        await asyncio.sleep(0.02)
    victim.proc.signal(signal.SIGKILL)
    killed_at = time.monotonic()
    victim.dead = True
    await asyncio.to_thread(victim.proc.popen.wait, 10)
    survivor = await asyncio.to_thread(_wait_for_holder, run)
    takeover_s = time.monotonic() - killed_at
    await asyncio.gather(*submitters)

    total = JOBS + PROBES * CONTROLLERS
    while len(run.done) < total:  # the dead node's job too, finished by another node
        assert time.monotonic() - started < DEADLINE_S, (
            f"{total - len(run.done)} jobs never finished\n"
            + "\n".join(c.proc.tail() for c in run.controllers)
        )
        await asyncio.sleep(0.05)

    # 3. Wake probes on the survivors.
    await idle(run)
    survivors = [c for c in run.controllers if not c.dead]
    for i in range(PROBES * len(survivors)):
        via = survivors[i % len(survivors)]
        target = via if i % 2 == 0 else survivors[(i + 1) % len(survivors)]
        await probe(run, via, f"probe-b{i}", target)
        await idle(run)
    total += PROBES * len(survivors)

    # --- what the store says ----------------------------------------------------------------
    jobs, attempts = store_rows(database)
    assert len(jobs) == total, f"{len(jobs)} jobs stored for {total} keys"
    assert {row[4] for row in jobs.values()} == {*(f"job-{i}" for i in range(JOBS)),
        *(f"probe-a{i}" for i in range(PROBES * CONTROLLERS)),
        *(f"probe-b{i}" for i in range(PROBES * len(survivors)))}  # fmt: skip
    for job_id, (_, state, attempt, result, _) in jobs.items():
        assert state == "completed", f"job {job_id} is {state}"
        outcomes = [row[3] for row in attempts[job_id]]
        assert outcomes.count("completed") == 1, f"job {job_id}: attempts {outcomes}"
        final = next(row for row in attempts[job_id] if row[3] == "completed")
        assert final[1] == attempt, f"job {job_id}: completed attempt is not the current one"
        assert (result["node"], result["attempt"]) == (final[2], final[1])
    twice = {key: names for key, names in run.claims.items() if len(names) > 1}
    assert not twice, f"claimed twice: {twice}"
    assert run.dead_node_job is not None
    lost = [row[3] for row in attempts[run.dead_node_job]]
    assert lost[0] == "expired" and lost[-1] == "completed", lost

    # --- the survivors' watchers saw every job complete ---------------------------------------
    deadline = time.monotonic() + 15
    missing: dict[int, int] = {}
    while time.monotonic() < deadline:
        missing = {c.index: len(set(jobs) - set(run.watched[c.index])) for c in survivors}
        if not any(missing.values()):
            break
        await asyncio.sleep(0.1)
    assert not any(missing.values()), f"watchers missed completions: {missing}"
    lag = [
        seen - run.reported_at[job_id]
        for c in survivors
        for job_id, seen in run.watched[c.index].items()
        if job_id in run.reported_at and seen >= run.reported_at[job_id]
    ]

    report = {
        "controllers": CONTROLLERS,
        "nodes": len(nodes),
        "jobs": total,
        "killed": f"controller{victim.index} (sweep holder)",
        "sweep_taken_over_by": f"controller{survivor.index}",
        "sweep_takeover_s": round(takeover_s, 2),
        "wake_same_replica": figures([s for kind, s in run.wake_s if kind == "same"]),
        "wake_cross_replica": figures([s for kind, s in run.wake_s if kind == "cross"]),
        "watcher_lag": figures(lag),
        "claims_per_job": round(len(run.claims) / total, 3),
        "wall_s": round(time.monotonic() - started, 1),
    }
    print("replicas:", json.dumps(report))
    record_property("replicas", json.dumps(report))
    if os.environ.get("VMAFX_REPLICAS_REPORT"):
        Path(os.environ["VMAFX_REPLICAS_REPORT"]).write_text(json.dumps(report, indent=2))
    # Loose: polling alone would take up to the 10 s long-poll; woken, well under a second.
    cross = [s for kind, s in run.wake_s if kind == "cross"]
    assert cross, "no probe was claimed through another replica than it was submitted to"
    assert statistics.median(cross) < PULL_WAIT_S / 2, report
