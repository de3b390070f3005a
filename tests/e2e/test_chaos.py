"""Chaos: a few hundred small score jobs through real `vmafx node` processes while nodes are
killed with SIGKILL (and restarted under a new name) and the controller is killed once and
restarted on the same store and port, on SQLite and on PostgreSQL.

What must hold: nothing lost (every job ends completed), nothing done twice (each job has one
completed attempt, its current one, and the result was written by that attempt's node; every
job, submitted again with its idempotency key after the controller kill, is answered with the
first job and the store holds no extra one), every attempt recorded (an attempt of a killed node
ends as a lost lease naming that node, and the job it held was finished by a later attempt).

Figures (jobs, kills, lost, duplicated, recovery times) are printed, recorded as the test's
`chaos` property (JUnit XML) and, when VMAFX_CHAOS_REPORT names a folder, written there as
`chaos-<store>.json`: docs/reliability.md quotes them. The kills follow progress (kill i when
i/(kills+2) of the jobs are done), not the clock, so a slow machine sees the same chaos.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import random
import signal
import socket
import statistics
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from tests.contract_helpers import load_contract_conftest

from vmafx.core.attempts import Attempt, AttemptOutcome
from vmafx.core.jobs import JobKind, JobState
from vmafx.core.messages import JobDetails, JobFilter, JobRequest, Submitted
from vmafx.store.sql import upgrade

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.anyio]

JOBS = 400
NODES = 3
NODE_KILLS = 8
SEED = 20261206
#: Wall-clock bound of one store's run, well inside the 300 s per-test timeout.
DEADLINE_S = 240.0
#: A completion the controller records this long after a node's SIGKILL may still be that node's
#: last report, sent before it died and handled late on a loaded machine (less than a lease).
KILL_SLACK_S = 5.0


_contract = load_contract_conftest("vmafx_contract_conftest_chaos")
postgres_server = _contract.postgres_server
fresh_postgres = _contract.fresh_postgres


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str | None:
    """None: the farm's own SQLite file; else a fresh, migrated PostgreSQL database."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("fresh_postgres")()
    upgrade(url)
    return url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclasses.dataclass
class Kill:
    node: str
    at: float
    held: tuple[str, ...]


@dataclasses.dataclass
class Chaos:
    """One run: the farm, its live nodes by slot, and what was killed when."""

    farm: Any
    store: str | None
    rng: random.Random
    port: int = dataclasses.field(default_factory=free_port)
    live: dict[int, str] = dataclasses.field(default_factory=dict)
    generation: dict[int, int] = dataclasses.field(default_factory=dict)
    kills: list[Kill] = dataclasses.field(default_factory=list)
    restarts: list[asyncio.Task[None]] = dataclasses.field(default_factory=list)
    #: Every job's request (each with its idempotency key), sent again after the controller kill.
    requests: Sequence[JobRequest] = ()
    resubmitted: list[Submitted] = dataclasses.field(default_factory=list)
    controller_killed_at: float | None = None
    controller_back_at: float | None = None

    def start_node(self, slot: int) -> None:
        gen = self.generation.get(slot, -1) + 1
        self.generation[slot] = gen
        name = f"chaos{slot}-{gen}"
        self.farm.start_node(name, queues="score", extra=["--concurrency", "score=2"])
        self.live[slot] = name

    def proc(self, name: str) -> Any:
        return next(p for p in reversed(self.farm.procs) if p.name == name)

    async def kill_a_busy_node(self) -> bool:
        """SIGKILL a live node (and its ffmpeg) that holds work no kill has hit yet; its
        successor starts in the background (a new name, so each attempt names the process that
        ran it). A job is hit at most once: the third lost lease fails a job by design
        (DESIGN.md 3.3), and the controller kill may cost it a second."""
        candidates = []
        for view in await self.farm.client.list_nodes():
            if view.running_job_ids and view.session.name in self.live.values():
                held = [await self.farm.client.get_job(job_id) for job_id in view.running_job_ids]
                if not any(a.outcome is AttemptOutcome.EXPIRED for d in held for a in d.attempts):
                    candidates.append((view.session.name, view.running_job_ids))
        if not candidates:
            return False
        name, held_ids = self.rng.choice(sorted(candidates))
        slot = next(slot for slot, live in self.live.items() if live == name)
        del self.live[slot]
        self.proc(name).signal(signal.SIGKILL)
        self.kills.append(Kill(name, time.time(), tuple(held_ids)))
        await asyncio.to_thread(self.proc(name).popen.wait, 10)
        self.restarts.append(asyncio.create_task(asyncio.to_thread(self.start_node, slot)))
        return True

    async def kill_the_controller(self) -> None:
        """SIGKILL the controller and start it again on the same store and port; then submit
        every job again, as a client unsure what reached the dead controller would."""
        assert self.farm.client is not None
        await self.farm.client.close()
        self.proc("controller").signal(signal.SIGKILL)
        self.controller_killed_at = time.time()
        await asyncio.to_thread(self.proc("controller").popen.wait, 10)
        # In this thread: the new client belongs to this event loop.
        self.farm.start_controller(store=self.store, grpc_port=self.port, name="controller-2")
        self.controller_back_at = time.time()
        self.resubmitted = await submit(self.farm, self.requests)


async def submit(farm: Any, requests: Sequence[JobRequest]) -> list[Submitted]:
    answers: list[Submitted] = []
    for start in range(0, len(requests), 100):
        answers += await farm.client.submit_jobs(requests[start : start + 100])
    return answers


async def count_jobs(farm: Any, states: Sequence[JobState] = ()) -> int:
    count, cursor = 0, None
    while True:
        page = await farm.client.list_jobs(
            JobFilter(states=tuple(states)), limit=500, cursor=cursor
        )
        count += len(page.jobs)
        if (cursor := page.next_cursor) is None:
            return count


async def count_open(farm: Any) -> int:
    """Jobs pending or running (listing those is cheap: no results)."""
    return sum([await count_jobs(farm, (state,)) for state in (JobState.PENDING, JobState.RUNNING)])


async def drive(chaos: Chaos, jobs: int) -> None:
    """Poll progress; kill a node at each step of progress and the controller at half-way.
    Done when nothing is open twice in a row (a job moving between states is seen once)."""
    deadline = time.monotonic() + DEADLINE_S
    quiet = 0
    while time.monotonic() < deadline:
        left = await count_open(chaos.farm)
        quiet = quiet + 1 if left == 0 else 0
        if quiet >= 2:
            await asyncio.gather(*chaos.restarts)
            return
        done = jobs - left
        if chaos.controller_killed_at is None and done >= jobs // 2:
            await chaos.kill_the_controller()
            continue
        due = (len(chaos.kills) + 1) * jobs // (NODE_KILLS + 2)
        if len(chaos.kills) < NODE_KILLS and done >= due and await chaos.kill_a_busy_node():
            continue
        await asyncio.sleep(0.5)
    logs = "\n".join(proc.tail(15) for proc in chaos.farm.procs[-6:])
    raise AssertionError(f"{left} jobs still open after {DEADLINE_S:.0f} s\n{logs}")


def _ts(moment: datetime | None) -> float:
    assert moment is not None
    return moment.timestamp()


def _completed(details: JobDetails) -> list[Attempt]:
    return [a for a in details.attempts if a.outcome is AttemptOutcome.COMPLETED]


def duplicated(details: JobDetails) -> bool:
    """More than one completed attempt, or one that is not the job's current attempt, or a
    result whose per-frame file another node wrote."""
    done = _completed(details)
    if len(done) != 1 or done[0].number != details.job.attempt:
        return True
    result = details.job.result or {}
    paths = [item["per_frame"]["path"] for item in result.get("results", [])]
    written_by = f"results-{done[0].node_name}{os.sep}{details.job.id}{os.sep}"
    return not paths or not all(written_by in path for path in paths)


def check_attempts_of_killed_nodes(kills: Sequence[Kill], jobs: Sequence[JobDetails]) -> int:
    """Every attempt of a killed node ended before the kill, as a lost lease, or released at
    once (the claim of a PullWork in flight when it died, whose caller had hung up); the job was
    then run again; each job the node held has that attempt on record. Returns the lost leases."""
    killed = {kill.node: kill for kill in kills}
    lost = 0
    by_node: dict[str, set[str]] = {}
    for details in jobs:
        for attempt in details.attempts:
            assert attempt.outcome is not None, f"{details.job.id}: attempt still open"
            kill = killed.get(attempt.node_name)
            if kill is None:
                continue
            by_node.setdefault(attempt.node_name, set()).add(details.job.id)
            if attempt.outcome is AttemptOutcome.EXPIRED:
                assert "lease expired" in (attempt.error or ""), attempt
                assert attempt.number < details.job.attempt, "a lost attempt was not retried"
                lost += 1
            elif attempt.outcome is AttemptOutcome.RELEASED:
                assert "hung up" in (attempt.error or ""), attempt
                assert attempt.number < details.job.attempt, "a released attempt was not retried"
            else:
                assert attempt.outcome is AttemptOutcome.COMPLETED, attempt
                assert _ts(attempt.ended_at) <= kill.at + KILL_SLACK_S, attempt
    for kill in kills:
        missing = set(kill.held) - by_node.get(kill.node, set())
        assert not missing, f"{kill.node} held {sorted(missing)} but no attempt records it"
    return lost


def figures(chaos: Chaos, jobs: Sequence[JobDetails], wall_s: float) -> dict[str, Any]:
    completions = sorted(_ts(d.job.finished_at) for d in jobs if d.job.finished_at)
    killed_at = chaos.controller_killed_at or 0.0
    after_kill = [t for t in completions if t > killed_at]
    kills = {kill.node: kill.at for kill in chaos.kills}
    requeue, finish = [], []
    for details in jobs:
        for attempt in details.attempts:
            if attempt.outcome is AttemptOutcome.EXPIRED and attempt.node_name in kills:
                requeue.append(_ts(attempt.ended_at) - kills[attempt.node_name])
                finish.append(_ts(details.job.finished_at) - kills[attempt.node_name])
    expired = sum(a.outcome is AttemptOutcome.EXPIRED for d in jobs for a in d.attempts)
    released = sum(a.outcome is AttemptOutcome.RELEASED for d in jobs for a in d.attempts)

    def spread(values: list[float]) -> dict[str, float]:
        if not values:
            return {}
        return {"median": round(statistics.median(values), 1), "max": round(max(values), 1)}

    return {
        "jobs": len(jobs),
        "completed": sum(d.job.state is JobState.COMPLETED for d in jobs),
        "lost": sum(d.job.state is not JobState.COMPLETED for d in jobs),
        "duplicated": sum(duplicated(d) for d in jobs),
        "attempts": sum(len(d.attempts) for d in jobs),
        "lost_leases": expired,
        "lost_leases_of_killed_nodes": len(requeue),
        "claims_released_on_hang_up": released,
        "node_kills": len(chaos.kills),
        "controller_kills": int(chaos.controller_killed_at is not None),
        "controller_restart_s": round((chaos.controller_back_at or 0.0) - killed_at, 1),
        "controller_recovery_s": round(after_kill[0] - killed_at, 1) if after_kill else None,
        "node_kill_to_requeue_s": spread(requeue),
        "node_kill_to_completion_s": spread(finish),
        "wall_s": round(wall_s, 1),
    }


def record(name: str, found: dict[str, Any], record_property: Any) -> None:
    record_property("chaos", json.dumps(found))
    print(f"\nchaos {name}: {json.dumps(found)}")
    folder = os.environ.get("VMAFX_CHAOS_REPORT")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"chaos-{name}.json").write_text(json.dumps(found, indent=2) + "\n")


async def test_killed_nodes_and_a_killed_controller_lose_nothing_and_finish_nothing_twice(
    farm, store_url, record_property
):
    started = time.monotonic()
    chaos = Chaos(farm, store_url, random.Random(SEED))
    farm.start_controller(store=store_url, grpc_port=chaos.port)
    for slot in range(NODES):
        chaos.start_node(slot)
    spec = {
        "reference": str(farm.media / "ref.y4m"),
        "distorted": [str(farm.media / "dis.mp4")],
        "threads": 1,
    }
    chaos.requests = [
        JobRequest.parse(kind=JobKind.SCORE, spec=spec, idempotency_key=f"chaos-{i}")
        for i in range(JOBS)
    ]
    job_ids = [item.job.id for item in await submit(farm, chaos.requests)]

    await drive(chaos, len(job_ids))
    jobs = [await farm.client.get_job(job_id) for job_id in job_ids]
    found = figures(chaos, jobs, time.monotonic() - started)
    found["resubmitted_after_controller_kill"] = len(chaos.resubmitted)
    found["resubmits_answered_with_the_first_job"] = sum(
        item.deduplicated and item.job.id == job_id
        for item, job_id in zip(chaos.resubmitted, job_ids, strict=True)
    )
    found["jobs_in_store"] = await count_jobs(farm)
    record("postgres" if store_url else "sqlite", found, record_property)

    failed = [(d.job.id, d.job.error) for d in jobs if d.job.state is not JobState.COMPLETED]
    assert not failed, f"jobs lost: {failed[:5]}"
    assert found["duplicated"] == 0, [d.job.id for d in jobs if duplicated(d)][:5]
    assert (found["node_kills"], found["controller_kills"]) == (NODE_KILLS, 1)
    assert found["resubmits_answered_with_the_first_job"] == JOBS
    assert found["jobs_in_store"] == JOBS
    assert check_attempts_of_killed_nodes(chaos.kills, jobs) >= 1
    assert found["controller_recovery_s"] is not None
