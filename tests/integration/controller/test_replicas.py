"""Two controllers (`main.start`, gRPC and HTTP on loopback) on one PostgreSQL database (issue 15
item 1): what one replica does wakes the long-polling pullers and the watchers of the other
(LISTEN/NOTIFY), `/readyz` says 503 while a replica's LISTEN connection is down and 200 once it
is back, `/healthz` stays 200 throughout, and retention prunes old finished jobs once.

The replicas re-read the store only every 60 s here (`repoll_s`), so a puller that gets its job
well before its 20 s long-poll ends was woken by the other replica's notice, not by polling.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from vmafx.client.grpc_client import GrpcControllerClient
from vmafx.controller import main
from vmafx.controller.settings import controller_settings
from vmafx.controller.sweeper import Retention
from vmafx.core.jobs import Job, JobKind, JobState
from vmafx.core.messages import JobFilter, JobRequest, NodeReport
from vmafx.core.nodes import NodeCapabilities
from vmafx.store.sql.notify import APPLICATION_NAME

from .conftest import _contract, fresh_postgres, migrated_postgres, postgres_server  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.anyio]

WAIT_S = 20.0
REPOLL_S = 60.0


class Replica:
    def __init__(self, running: main.RunningController, media: Path) -> None:
        self.running = running
        self.media = media
        self.client = GrpcControllerClient(f"127.0.0.1:{running.grpc.port}", timeout_s=30)
        assert running.http is not None
        port = running.http.server.servers[0].sockets[0].getsockname()[1]
        self.http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10)

    async def probe(self, path: str) -> tuple[int, str]:
        response = await self.http.get(path)
        body = response.json()
        return response.status_code, body.get("status") or body["error"]["message"]

    async def close(self) -> None:
        await self.client.close()
        await self.http.aclose()
        await self.running.stop(1.0)


@pytest.fixture
async def replicas(migrated_postgres: str, tmp_path: Path) -> AsyncIterator[list[Replica]]:  # noqa: F811
    url = migrated_postgres  # one database for the session, emptied for each test
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"TRUNCATE {_contract.TABLES} RESTART IDENTITY CASCADE")
    media = tmp_path / "media"
    media.mkdir()
    (media / "ref.y4m").write_bytes(b"")
    made: list[Replica] = []
    for _ in range(2):
        settings = controller_settings(
            flags={
                "grpc_listen": "127.0.0.1:0",
                "http_listen": "127.0.0.1:0",
                "store_url": url,
                "scoring_roots": [str(media)],
                "auth_disabled": True,
                "repoll_s": REPOLL_S,
                "sweep_interval_s": 0.2,
            },
            env={},
        )
        made.append(Replica(await main.start(settings), media))
    try:
        yield made
    finally:
        for replica in made:
            await replica.close()


def request(media: Path) -> JobRequest:
    spec = {"reference": str(media / "ref.y4m"), "distorted": str(media / "ref.y4m")}
    return JobRequest.parse(kind=JobKind.SCORE, spec=spec)


def media_of(replica: Replica) -> Path:
    return replica.media


async def test_a_job_submitted_on_one_replica_wakes_a_puller_waiting_on_the_other(replicas):
    a, b = replicas
    session = await b.client.register_node("n1", NodeCapabilities(slots=4))
    pull = asyncio.create_task(b.client.pull_work(session, wait_s=WAIT_S))
    while b.running.service.work.waiting == 0:  # the puller waits on replica B
        await asyncio.sleep(0.01)
    started = time.monotonic()
    submitted = await a.client.submit_job(request(media_of(a)))
    claim = await pull
    waited = time.monotonic() - started
    print(f"cross-replica wake-up: {waited:.3f} s")
    assert claim is not None and claim.job.id == submitted.job.id
    # Unwoken, the puller would claim the job only when its long-poll ends (20 s) and its last
    # claim runs: a wide gap, not a timing bound (woken, it takes well under a second).
    assert waited < WAIT_S / 2, f"the puller on B slept through the job ({waited:.1f} s)"


async def test_watchers_on_one_replica_see_what_another_replica_changes(replicas):
    a, b = replicas
    seen: list[Job] = []

    async def watch() -> None:
        async for job in b.client.watch_jobs(JobFilter()):
            seen.append(job)
            if job.state is JobState.COMPLETED:
                return

    watcher = asyncio.create_task(watch())
    while b.running.service.bus.subscribers == 0:
        await asyncio.sleep(0.01)
    submitted = await a.client.submit_job(request(media_of(a)))
    session = await a.client.register_node("n1", NodeCapabilities(slots=4))
    claim = await a.client.pull_work(session)
    assert claim is not None and claim.job.id == submitted.job.id
    report = NodeReport(job_id=claim.job.id, attempt=claim.job.attempt, result={"score": 91.5})
    assert await a.client.report_result(session, report) == ""
    await asyncio.wait_for(watcher, WAIT_S)
    assert [job.state for job in seen][-1] is JobState.COMPLETED
    assert {job.id for job in seen} == {submitted.job.id}
    assert seen[-1].result == {"score": 91.5}


async def _terminate_feed_listeners(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
            "WHERE application_name = %s AND query LIKE 'LISTEN%%' "
            "AND datname = current_database()",
            (APPLICATION_NAME,),
        ).fetchall()
    return len(rows)


async def test_readyz_is_503_while_the_listen_connection_is_down_and_healthz_stays_200(replicas):
    a, b = replicas
    assert await a.probe("/readyz") == (200, "ready")
    url = a.running.store._url.render_as_string(hide_password=False)  # type: ignore[attr-defined]
    url = url.replace("postgresql+psycopg", "postgresql")
    feed = a.running.crosstalk._feed  # type: ignore[union-attr]
    # Hold the feed down: its reconnects fail while the pause is long.
    feed._reconnect_s = 30.0
    assert await _terminate_feed_listeners(url) == 2  # both replicas' LISTEN connections
    deadline = time.monotonic() + WAIT_S
    while feed.connected and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    status, reason = await a.probe("/readyz")
    assert status == 503
    assert "LISTEN connection is down" in reason
    assert await a.probe("/healthz") == (200, "ok")
    # B comes back after its 1 s pause, and is ready again without a restart.
    deadline = time.monotonic() + WAIT_S
    while await b.probe("/readyz") != (200, "ready"):
        assert time.monotonic() < deadline, "replica B never listened again"
        await asyncio.sleep(0.1)
    assert b.running.crosstalk._feed.reconnects == 1  # type: ignore[union-attr]
    # Shutting down: 503 at once.
    b.running.service.closing = True
    status, reason = await b.probe("/readyz")
    assert (status, reason) == (503, "the controller is shutting down.")
    b.running.service.closing = False


async def test_retention_prunes_old_finished_jobs_on_the_sweeping_replica_only(replicas):
    a, b = replicas
    media = media_of(a)
    submitted = [await a.client.submit_job(request(media)) for _ in range(3)]
    session = await a.client.register_node("n1", NodeCapabilities(slots=4))
    for _ in range(2):
        claim = await a.client.pull_work(session)
        assert claim is not None
        report = NodeReport(job_id=claim.job.id, attempt=claim.job.attempt, result={"score": 1})
        assert await a.client.report_result(session, report) == ""
    # Keep a day, and look ten days ahead: both completed jobs are past it, the pending one not.
    ahead = datetime.now(UTC) + timedelta(days=10)
    for replica in replicas:
        replica.running.sweeper.retention = Retention(days=1.0, every_s=3600)
    # The previous test's replicas may hold the lock a moment after closing: wait for a holder.
    deadline = time.monotonic() + WAIT_S
    while not (holders := [r for r in replicas if await r.running.store.try_sweep_lock()]):
        assert time.monotonic() < deadline, "no replica took the sweep lock"
        await asyncio.sleep(0.1)
    assert len(holders) == 1, "both replicas hold the sweep lock"
    pruned = [await r.running.sweeper.prune_once(now=ahead) for r in holders]
    assert pruned == [2], pruned
    left = await b.client.list_jobs(JobFilter())
    assert [job.id for job in left.jobs] == [submitted[2].job.id]
    assert left.jobs[0].state is JobState.PENDING


def sample(text: str, name: str) -> float:
    (line,) = [line for line in text.splitlines() if line.startswith(f"{name} ")]
    return float(line.split()[1])


async def test_metrics_say_which_replica_sweeps_and_that_each_hears_the_others(replicas):
    a, b = replicas
    await a.client.submit_job(request(media_of(a)))

    async def scrape(replica: Replica) -> str:
        response = await replica.http.get("/metrics")
        assert response.status_code == 200
        return response.text

    deadline = time.monotonic() + WAIT_S
    while sample(await scrape(b), "vmafx_controller_replica_notices_heard_total") == 0:
        assert time.monotonic() < deadline, "B never counted A's notices"
        await asyncio.sleep(0.05)
    # One replica sweeps (once the lock a previous test's replica held is free again).
    while True:
        texts = [await scrape(replica) for replica in replicas]
        sweeping = [sample(text, "vmafx_controller_sweeping") for text in texts]
        if sorted(sweeping) == [0.0, 1.0] or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert sorted(sweeping) == [0.0, 1.0]
    assert [sample(text, "vmafx_controller_replica_feed_connected") for text in texts] == [1, 1]
    assert [sample(text, "vmafx_controller_replica_notices_dropped_total") for text in texts] == [
        0,
        0,
    ]
