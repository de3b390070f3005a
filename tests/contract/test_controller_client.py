"""The ControllerClient contract: the gRPC client against a real controller on loopback (SQLite,
PostgreSQL) and the in-process `FakeControllerClient` give the same answers.

Each test is one behaviour a caller relies on; `controller` runs it on every implementation. A
client answers what the controller stored: a submitted job equals the job read back, with the
caller's tenant and the controller's times, never one the client made up.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from vmafx.client.grpc_client import GrpcControllerClient
from vmafx.client.port import ControllerClient
from vmafx.controller import main
from vmafx.controller.auth import Principal, create_token
from vmafx.controller.settings import controller_settings
from vmafx.core.jobs import JobKind, JobState
from vmafx.core.messages import JobFilter, JobRequest
from vmafx.core.nodes import NodeCapabilities
from vmafx.core.tokens import Role
from vmafx.errors import NotFoundError
from vmafx.testing import FakeControllerClient

from .conftest import TABLES

TENANT = "acme"


@dataclasses.dataclass
class Controller:
    """A client as an admin of `TENANT` and one as its node; `media` is the scoring root."""

    client: ControllerClient
    node: ControllerClient
    media: Path

    def score(self, **fields: object) -> JobRequest:
        spec = {"reference": str(self.media / "ref.y4m"), "distorted": str(self.media / "dis.y4m")}
        return JobRequest.parse(kind=JobKind.SCORE, spec=spec, **fields)  # type: ignore[arg-type]


def _media(tmp_path: Path) -> Path:
    media = tmp_path / "media"
    media.mkdir()
    for name in ("ref.y4m", "dis.y4m"):
        (media / name).write_bytes(b"")
    return media


async def _fake(tmp_path: Path) -> AsyncIterator[Controller]:
    media = _media(tmp_path)
    client = FakeControllerClient.in_memory(
        scoring_roots=[media], principal=Principal.of(TENANT, Role.ADMIN)
    )
    yield Controller(client, client.as_(Principal.of(TENANT, Role.NODE)), media)
    await client.close()


async def _grpc(store_url: str, tmp_path: Path) -> AsyncIterator[Controller]:
    media = _media(tmp_path)
    settings = controller_settings(
        flags={
            "grpc_listen": "127.0.0.1:0",
            "http_listen": "127.0.0.1:0",
            "store_url": store_url,
            "scoring_roots": [str(media)],
        },
        env={},
    )
    running = await main.start(settings)
    clock = running.service.clock
    _, admin = await create_token(running.store, clock, role=Role.ADMIN, tenant=TENANT, name="a")
    _, node = await create_token(running.store, clock, role=Role.NODE, tenant=TENANT, name="n")
    target = f"127.0.0.1:{running.grpc.port}"
    clients = [GrpcControllerClient(target, token=token) for token in (admin, node)]
    try:
        yield Controller(clients[0], clients[1], media)
    finally:
        for client in clients:
            await client.close()
        await running.stop(1.0)


@pytest.fixture(
    params=["fake", "grpc-sqlite", pytest.param("grpc-postgres", marks=pytest.mark.postgres)]
)
async def controller(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Controller]:
    if request.param == "fake":
        made = _fake(tmp_path)
    elif request.param == "grpc-sqlite":
        template: Path = request.getfixturevalue("migrated_sqlite_template")
        shutil.copy(template, tmp_path / "store.db")
        made = _grpc(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
    else:
        url: str = request.getfixturevalue("migrated_postgres")
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
        made = _grpc(url, tmp_path)
    async for value in made:
        yield value


# --- submit ------------------------------------------------------------------------------------
async def test_submit_answers_the_job_the_controller_stored(controller: Controller) -> None:
    submitted = await controller.client.submit_job(controller.score(priority=3))
    stored = (await controller.client.get_job(submitted.job.id)).job
    assert submitted.job == stored
    assert not submitted.deduplicated
    assert stored.tenant == TENANT and stored.state is JobState.PENDING
    assert stored.priority == 3 and stored.queue == "score"
    assert stored.lease is None and stored.attempt == 0


async def test_a_repeated_idempotency_key_answers_the_first_job(controller: Controller) -> None:
    first = await controller.client.submit_job(controller.score(idempotency_key="k1"))
    again = await controller.client.submit_job(controller.score(idempotency_key="k1"))
    assert again.deduplicated and again.job == first.job


async def test_batch_submit_answers_each_stored_job_in_order(controller: Controller) -> None:
    requests = [controller.score(priority=p) for p in (1, 2, 3)]
    done = await controller.client.submit_jobs(requests, batch_id="b-1")
    assert [item.job.priority for item in done] == [1, 2, 3]
    for item in done:
        assert item.job == (await controller.client.get_job(item.job.id)).job
        assert item.job.batch_id == "b-1" and item.job.tenant == TENANT


async def test_a_batch_without_an_id_gets_one_shared_id(controller: Controller) -> None:
    done = await controller.client.submit_jobs([controller.score(), controller.score()])
    batch_ids = {item.job.batch_id for item in done}
    assert len(batch_ids) == 1 and None not in batch_ids


# --- get, list ---------------------------------------------------------------------------------
async def test_get_of_an_unknown_job_raises_not_found(controller: Controller) -> None:
    with pytest.raises(NotFoundError):
        await controller.client.get_job("0" * 32)


async def test_list_filters_and_pages_newest_first(controller: Controller) -> None:
    client = controller.client
    batch = await client.submit_jobs([controller.score() for _ in range(5)], batch_id="b-2")
    await client.submit_job(controller.score())  # another batch: filtered out
    await client.cancel_job(batch[0].job.id)
    where = JobFilter(states=(JobState.PENDING,), batch_id="b-2", kinds=(JobKind.SCORE,))
    pages, cursor = [], None
    while True:
        page = await client.list_jobs(where, limit=2, cursor=cursor)
        pages.append([job.id for job in page.jobs])
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [len(page) for page in pages[:2]] == [2, 2]
    listed = [job_id for page in pages for job_id in page]
    assert listed == [item.job.id for item in reversed(batch[1:])]


async def test_list_by_node_gives_full_pages_of_the_jobs_it_runs(controller: Controller) -> None:
    node = controller.node
    session = await node.register_node("box", NodeCapabilities(slots=8, host="box"))
    for _ in range(3):
        await controller.client.submit_job(controller.score())
    held = [await node.pull_work(session) for _ in range(3)]
    for _ in range(3):
        await controller.client.submit_job(controller.score())  # newer, pending
    where = JobFilter(node_id=session.node_id)
    first = await controller.client.list_jobs(where, limit=2)
    assert len(first.jobs) == 2 and first.next_cursor is not None
    rest = await controller.client.list_jobs(where, limit=2, cursor=first.next_cursor)
    listed = {job.id for job in first.jobs + rest.jobs}
    assert listed == {claim.job.id for claim in held if claim is not None}


async def test_list_answers_the_stored_jobs(controller: Controller) -> None:
    submitted = await controller.client.submit_job(controller.score())
    page = await controller.client.list_jobs(JobFilter(), limit=10)
    assert page.jobs == [submitted.job] and page.next_cursor is None


# --- cancel ------------------------------------------------------------------------------------
async def test_cancel_is_idempotent_and_says_so(controller: Controller) -> None:
    job = (await controller.client.submit_job(controller.score())).job
    assert await controller.client.cancel_job(job.id, "not needed") == "cancellation requested"
    assert await controller.client.cancel_job(job.id) == "cancellation requested"
    assert (await controller.client.get_job(job.id)).job.state is JobState.CANCELLED


# --- watch -------------------------------------------------------------------------------------
async def test_watch_gives_the_matching_jobs_then_their_changes(controller: Controller) -> None:
    job = (await controller.client.submit_job(controller.score())).job
    await controller.client.submit_job(controller.score())  # not watched
    seen = controller.client.watch_jobs(JobFilter(job_ids=(job.id,)))
    try:
        first = await anext(seen)
        assert first == job
        await controller.client.cancel_job(job.id)
        changed = await anext(seen)
        assert changed.id == job.id and changed.state is JobState.CANCELLED
        assert changed == (await controller.client.get_job(job.id)).job
    finally:
        await seen.aclose()  # type: ignore[attr-defined]


async def test_a_snapshot_watch_ends_after_the_matching_jobs(controller: Controller) -> None:
    jobs = [(await controller.client.submit_job(controller.score())).job for _ in range(2)]
    seen = [job async for job in controller.client.watch_jobs(snapshot_only=True)]
    assert sorted(job.id for job in seen) == sorted(job.id for job in jobs)


# --- nodes: claim, drain -----------------------------------------------------------------------
async def test_a_claim_carries_the_job_as_stored(controller: Controller) -> None:
    node = controller.node
    session = await node.register_node("box", NodeCapabilities(slots=2, host="box"))
    submitted = await controller.client.submit_job(controller.score())
    claim = await node.pull_work(session)
    assert claim is not None and claim.job.id == submitted.job.id
    stored = (await controller.client.get_job(submitted.job.id)).job
    assert claim.job == stored
    assert stored.lease is not None and stored.lease.session_id == session.node_id
    assert stored.lease.expires_at > stored.updated_at
    running = await controller.client.list_jobs(JobFilter(node_id=session.node_id))
    assert running.jobs == [stored]


async def test_drain_releases_the_nodes_jobs_and_stops_its_claims(controller: Controller) -> None:
    node = controller.node
    session = await node.register_node("box", NodeCapabilities(slots=2, host="box"))
    job = (await controller.client.submit_job(controller.score())).job
    assert await node.pull_work(session) is not None
    drained = await controller.client.drain_node(session.node_id, release_jobs=True)
    assert drained.ok and drained.released_job_ids == (job.id,)
    assert (await controller.client.get_job(job.id)).job.state is JobState.PENDING
    assert (await node.heartbeat(session)).drain
    assert await node.pull_work(session) is None


async def test_drain_of_an_unknown_node_raises_not_found(controller: Controller) -> None:
    with pytest.raises(NotFoundError):
        await controller.client.drain_node("0" * 32)
