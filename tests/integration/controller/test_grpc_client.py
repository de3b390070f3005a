"""`GrpcControllerClient` against a real controller: the node's whole conversation."""

from __future__ import annotations

import asyncio

import pytest

from vmafx.client.grpc_client import GrpcControllerClient
from vmafx.core.jobs import JobKind, JobState
from vmafx.core.messages import JobFilter, JobRef, JobRequest, NodeReport, RunningJob
from vmafx.core.nodes import NodeCapabilities
from vmafx.core.tokens import Role
from vmafx.errors import AuthError, NotFoundError, StaleAttemptError, UnavailableError

pytestmark = pytest.mark.anyio


@pytest.fixture
async def clients(controller):
    made = {
        role: GrpcControllerClient(controller.target, token=controller.tokens[role])
        for role in Role
    }
    yield made
    for client in made.values():
        await client.close()


def _request(controller):
    spec = {
        "reference": str(controller.media / "ref.y4m"),
        "distorted": str(controller.media / "dis.y4m"),
    }
    return JobRequest.parse(kind=JobKind.SCORE, spec=spec)


async def test_a_node_runs_a_job_through_the_client(controller, clients):
    writer, node = clients[Role.WRITER], clients[Role.NODE]
    session = await node.register_node("box", NodeCapabilities(slots=2, host="box"))
    pulling = asyncio.ensure_future(node.pull_work(session, wait_s=5))
    submitted = await writer.submit_job(_request(controller))
    claim = await asyncio.wait_for(pulling, 5)
    assert claim is not None and claim.job.id == submitted.job.id
    assert claim.scoring_roots == (str(controller.media),)
    running = [RunningJob(job_id=claim.job.id, attempt=1, progress=0.5)]
    answer = await node.heartbeat(session, running=running)
    assert answer.ok and answer.cancel_job_ids == ()
    report = NodeReport(job_id=claim.job.id, attempt=1, result={"score": 88.0})
    assert await node.report_result(session, report) == ""
    details = await writer.get_job(claim.job.id)
    assert details.job.state is JobState.COMPLETED
    [view] = await writer.list_nodes()
    assert view.session.name == "box"


async def test_a_stale_report_raises_stale_attempt_error(controller, clients):
    writer, node = clients[Role.WRITER], clients[Role.NODE]
    session = await node.register_node("box", NodeCapabilities())
    await writer.submit_job(_request(controller))
    claim = await node.pull_work(session)
    assert claim is not None
    with pytest.raises(StaleAttemptError) as failure:
        await node.report_result(session, NodeReport(job_id=claim.job.id, attempt=9))
    assert (failure.value.job_id, failure.value.attempt) == (claim.job.id, 9)


async def test_release_and_drain_through_the_client(controller, clients):
    writer, node, admin = clients[Role.WRITER], clients[Role.NODE], clients[Role.ADMIN]
    session = await node.register_node("box", NodeCapabilities(slots=4))
    await writer.submit_jobs([_request(controller) for _ in range(2)])
    first, second = await node.pull_work(session), await node.pull_work(session)
    assert first is not None and second is not None
    released = await node.release_jobs(session, [JobRef(first.job.id, 1)], reason="sigterm")
    drained = await admin.drain_node(session.node_id, release_jobs=True)
    assert released == [first.job.id]
    assert drained.released_job_ids == (second.job.id,)
    assert (await node.heartbeat(session)).drain


async def test_watch_and_list_through_the_client(controller, clients):
    writer, reader = clients[Role.WRITER], clients[Role.READER]
    stream = reader.watch_jobs(JobFilter(states=(JobState.CANCELLED,)))
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.1)
    job = (await writer.submit_job(_request(controller))).job
    assert await writer.cancel_job(job.id) == "cancellation requested"
    seen = await asyncio.wait_for(first, 5)
    await stream.aclose()
    page = await reader.list_jobs(JobFilter(states=(JobState.CANCELLED,)))
    assert seen.id == job.id and [j.id for j in page.jobs] == [job.id]


async def test_client_errors_are_the_controllers_error_classes(controller):
    anonymous = GrpcControllerClient(controller.target)
    with pytest.raises(AuthError):
        await anonymous.get_job("x")
    await anonymous.close()
    reader = GrpcControllerClient(controller.target, token=controller.tokens[Role.READER])
    with pytest.raises(NotFoundError):
        await reader.get_job("no-such-job")
    await reader.close()


async def test_an_unreachable_controller_is_unavailable():
    client = GrpcControllerClient("127.0.0.1:1", timeout_s=2)
    with pytest.raises(UnavailableError):
        await client.get_job("x")
    await client.close()
