"""Races over real gRPC and a real database: concurrent pullers, cancel against a report."""

from __future__ import annotations

import asyncio

import pytest

from vmafx.client.grpc_client import GrpcControllerClient
from vmafx.core.jobs import JobKind, JobState
from vmafx.core.messages import JobRequest, NodeReport
from vmafx.core.nodes import NodeCapabilities
from vmafx.core.tokens import Role

pytestmark = pytest.mark.anyio


def _client(controller, role):
    return GrpcControllerClient(controller.target, token=controller.tokens[role])


def _request(controller):
    spec = {
        "reference": str(controller.media / "ref.y4m"),
        "distorted": str(controller.media / "dis.y4m"),
    }
    return JobRequest.parse(kind=JobKind.SCORE, spec=spec)


async def test_eight_concurrent_pullers_never_get_the_same_job(controller):
    writer, node = _client(controller, Role.WRITER), _client(controller, Role.NODE)
    submitted = await writer.submit_jobs([_request(controller) for _ in range(48)])
    sessions = [
        await node.register_node(f"puller-{i}", NodeCapabilities(slots=64)) for i in range(8)
    ]

    async def pull_all(session) -> list[str]:
        got: list[str] = []
        while (claim := await node.pull_work(session)) is not None:
            got.append(claim.job.id)
        return got

    claimed = await asyncio.gather(*(pull_all(session) for session in sessions))
    flat = [job_id for got in claimed for job_id in got]
    await writer.close()
    await node.close()
    assert len(flat) == len(set(flat)) == 48
    assert set(flat) == {item.job.id for item in submitted}


async def test_cancel_racing_a_final_report_ends_in_one_terminal_state(controller):
    writer, node = _client(controller, Role.WRITER), _client(controller, Role.NODE)
    session = await node.register_node("racer", NodeCapabilities(slots=64))
    submitted = await writer.submit_jobs([_request(controller) for _ in range(10)])
    claims = [await node.pull_work(session) for _ in submitted]

    async def race(claim) -> None:
        report = NodeReport(job_id=claim.job.id, attempt=claim.job.attempt, result={"score": 1.0})
        await asyncio.gather(writer.cancel_job(claim.job.id), node.report_result(session, report))

    await asyncio.gather(*(race(claim) for claim in claims if claim is not None))
    details = [await writer.get_job(item.job.id) for item in submitted]
    events = [await controller.running.store.list_events(item.job.id) for item in submitted]
    await writer.close()
    await node.close()
    for detail, history in zip(details, events, strict=True):
        assert detail.job.state in (JobState.CANCELLED, JobState.COMPLETED)
        terminal = [e.type for e in history if e.type.value in ("completed", "cancelled")]
        assert len(terminal) == 1, terminal
