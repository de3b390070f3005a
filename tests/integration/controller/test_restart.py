"""A real `vmafx controller` process on SQLite: killed mid-run and restarted, it loses no job;
SIGTERM ends it cleanly (exit 0) while a long-poll is in flight."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import pytest

from vmafx.client.grpc_client import GrpcControllerClient
from vmafx.core.jobs import JobKind, JobState
from vmafx.core.messages import JobFilter, JobRequest, NodeReport
from vmafx.core.nodes import NodeCapabilities

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]
READY = re.compile(r"gRPC on (\S+)")


async def _start(store: str, media: Path, tmp_path: Path) -> tuple[asyncio.subprocess.Process, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("VMAFX_")}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    with (tmp_path / "controller.log").open("ab") as log:
        process = await _spawn(store, media, env, log)
    assert process.stdout is not None
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert line, f"the controller exited: {(tmp_path / 'controller.log').read_text()}"
        if found := READY.search(line):
            return process, found.group(1)


async def _spawn(store: str, media: Path, env: dict[str, str], log) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vmafx", "controller",
        "--grpc-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
        "--store", store, "--scoring-root", str(media), "--auth-disabled",
        stdout=asyncio.subprocess.PIPE,
        stderr=log,
        env=env,
    )  # fmt: skip


async def test_a_controller_killed_mid_run_and_restarted_loses_no_job(tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    (media / "ref.y4m").write_bytes(b"")
    store = f"sqlite:///{tmp_path / 'store.db'}"
    spec = {"reference": str(media / "ref.y4m"), "distorted": str(media / "ref.y4m")}
    first, target = await _start(store, media, tmp_path)
    client = GrpcControllerClient(target)
    submitted = await client.submit_jobs([JobRequest.parse(kind=JobKind.SCORE, spec=spec)] * 20)
    session = await client.register_node("survivor", NodeCapabilities(slots=64))
    held = [await client.pull_work(session) for _ in range(5)]
    await client.close()
    first.kill()
    assert await first.wait() == -signal.SIGKILL

    second, target = await _start(store, media, tmp_path)
    client = GrpcControllerClient(target)
    assert (await client.heartbeat(session)).ok  # the session survived the restart
    claims = [claim for claim in held if claim is not None]
    while (claim := await client.pull_work(session)) is not None:
        claims.append(claim)
    for claim in claims:
        report = NodeReport(job_id=claim.job.id, attempt=claim.job.attempt, result={"score": 1.0})
        assert await client.report_result(session, report) == ""
    page = await client.list_jobs(JobFilter(states=(JobState.COMPLETED,)), limit=100)
    await client.close()
    second.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(second.wait(), 20) == 0
    assert {job.id for job in page.jobs} == {item.job.id for item in submitted}
    assert len(claims) == 20


async def test_sigterm_ends_a_long_poll_and_exits_zero(tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    process, target = await _start(f"sqlite:///{tmp_path / 'store.db'}", media, tmp_path)
    client = GrpcControllerClient(target)
    session = await client.register_node("waiter", NodeCapabilities())
    pulling = asyncio.ensure_future(client.pull_work(session, wait_s=25))
    await asyncio.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(pulling, 10) is None
    assert await asyncio.wait_for(process.wait(), 20) == 0
    await client.close()
