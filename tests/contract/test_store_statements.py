"""How many SQL statements a claim, a heartbeat and a report send (issue 15 item 5): each is
a round trip and its CPU on both sides, so the hot paths keep to a fixed few, whatever the
batch size. Counted with an SQLAlchemy hook on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from vmafx.errors import NotFoundError
from vmafx.store.port import ClaimRequest, LeaseRenewal, RenewalRequest
from vmafx.store.sql import SqlJobStore


class Statements:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.upper().startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE: as COMMIT
            self.texts.append(statement)

    def take(self) -> list[str]:
        """The verbs of the statements sent since the last take."""
        texts, self.texts = self.texts, []
        return [text.split(None, 1)[0].upper() for text in texts]


@pytest.fixture
def statements(store) -> Iterator[Statements]:
    if not isinstance(store, SqlJobStore):
        pytest.skip("the in-memory store sends no SQL")
    counter = Statements()
    # this store's engine only (its writer shares the listeners): a listener on every Engine
    # also counted the statements of engines other tests of the run left polling
    engine = store._engine
    sa.event.listen(engine, "before_cursor_execute", counter)
    yield counter
    sa.event.remove(engine, "before_cursor_execute", counter)


async def claim_round(farm, nodes) -> list[Any]:
    requests = [ClaimRequest(node.id, None, None) for node in nodes]
    return await farm.store.claim_batch(requests, now=farm.now)


async def test_a_claim_batch_sends_six_statements_however_many_single_slot_nodes_ask(
    farm, statements
):
    nodes = [await farm.node(f"node-{i}", slots=1) for i in range(8)]
    await farm.store.submit_jobs([farm.job() for _ in range(16)])
    first = await claim_round(farm, nodes)
    for job in first:
        await farm.store.complete_job(
            job.id, attempt=1, session_id=job.lease.session_id, now=farm.now, result={}
        )
    statements.take()
    second = await claim_round(farm, nodes)  # every bound is full: each node is counted
    assert all(job is not None and not isinstance(job, Exception) for job in second)
    assert statements.take() == [
        "SELECT",  # the sessions, locked
        "SELECT",  # their running jobs per queue, all of them at once
        "SELECT",  # the candidates
        "UPDATE",  # the jobs claimed
        "INSERT",  # their attempts
        "INSERT",  # their events
    ]  # and no write of the sessions' running bounds: each is what it was, one job


async def test_a_heartbeat_sends_two_writes_and_no_read(farm, statements):
    node = await farm.node(slots=4)
    await farm.store.submit_jobs([farm.job() for _ in range(3)])
    held = [await farm.store.claim_next(node.id, now=farm.now) for _ in range(3)]
    statements.take()
    renewal = await farm.store.renew_leases(
        node.id, now=farm.now, job_ids=[job.id for job in held] + ["gone"]
    )
    assert sorted(renewal.renewed) == sorted(job.id for job in held)
    assert renewal.cancel == ["gone"]
    assert statements.take() == ["UPDATE", "UPDATE"]  # the session seen, the leases renewed


@pytest.mark.parametrize("count", [2, 16])
async def test_a_batch_of_heartbeats_sends_two_writes_however_many(farm, statements, count):
    nodes = [await farm.node(f"node-{i}", slots=1) for i in range(count)]
    await farm.store.submit_jobs([farm.job() for _ in range(count)])
    held = [await farm.store.claim_next(node.id, now=farm.now) for node in nodes]
    statements.take()
    requests = [RenewalRequest(node.id, (job.id,)) for node, job in zip(nodes, held, strict=True)]
    requests[0] = RenewalRequest(nodes[0].id)  # every lease it holds
    answers = await farm.store.renew_batch([*requests, RenewalRequest("nobody")], now=farm.now)
    assert answers[:-1] == [LeaseRenewal(renewed=[job.id], cancel=[]) for job in held]
    assert isinstance(answers[-1], NotFoundError)
    assert statements.take() == ["UPDATE", "UPDATE"]  # the sessions seen, the leases renewed


async def test_a_final_report_reads_its_job_and_attempt_in_one_statement(farm, statements):
    node = await farm.node()
    await farm.submit()
    job = await farm.store.claim_next(node.id, now=farm.now)
    statements.take()
    done = await farm.store.complete_job(
        job.id, attempt=1, session_id=node.id, now=farm.now, result={"vmaf": 90.0}
    )
    assert done.result == {"vmaf": 90.0}
    assert statements.take() == ["SELECT", "UPDATE", "UPDATE", "INSERT"]


async def test_a_report_writes_back_what_it_changed_and_not_the_spec(farm, statements):
    node = await farm.node()
    await farm.submit()
    job = await farm.store.claim_next(node.id, now=farm.now)
    statements.take()
    await farm.store.report_progress(
        job.id, attempt=1, session_id=node.id, now=farm.clock.advance(1), progress=0.5
    )
    [update] = [text for text in statements.texts if text.startswith("UPDATE jobs")]
    assert "progress=" in update
    assert "spec" not in update and "state=" not in update
    assert (await farm.store.get_job(job.id)).progress == 0.5
