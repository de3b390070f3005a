"""A farm over TLS, as an operator starts it: `vmafx controller --tls-cert --tls-key` and
`vmafx node --controller https://… --ca` processes, with a private CA made in the test. A node
scores a job over TLS; a node without the CA stops at once (exit 17) saying what to pass."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from tests.tlskeys import make_pki

from vmafx.client.grpc_client import GrpcControllerClient
from vmafx.core.jobs import JobKind, JobState
from vmafx.core.messages import JobRequest

from .conftest import CONTROLLER_ENV, MEDIA, Farm

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


@pytest.fixture
async def tls_farm(tmp_path: Path):
    media = tmp_path / "media"
    media.mkdir()
    for name in ("ref.y4m", "dis.mp4"):
        shutil.copy(MEDIA / name, media / name)
    farm = Farm(tmp_path, media)
    pki = make_pki(tmp_path / "pki")
    args = ["controller", "--grpc-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
            "--store", f"sqlite:///{tmp_path / 'controller.db'}", "--auth-disabled",
            "--scoring-root", str(media), "--tls-cert", str(pki.cert), "--tls-key", str(pki.key)]  # fmt: skip
    proc = farm._spawn("controller", args, CONTROLLER_ENV)
    port = proc.wait_for_line(r"gRPC on 127\.0\.0\.1:(\d+)").group(1)
    farm.target = f"https://127.0.0.1:{port}"
    farm.client = GrpcControllerClient(farm.target, ca=pki.ca, timeout_s=10)
    try:
        yield farm, pki
    finally:
        await farm.client.close()
        farm.kill_all()


async def test_a_node_given_the_ca_scores_a_job_over_tls(tls_farm):
    farm, pki = tls_farm
    farm.start_node("tls-node", queues="score", extra=["--ca", str(pki.ca)])
    await farm.node_live("tls-node")
    spec = {"reference": str(farm.media / "ref.y4m"), "distorted": [str(farm.media / "dis.mp4")]}
    job_id = (await farm.client.submit_job(JobRequest.parse(kind=JobKind.SCORE, spec=spec))).job.id

    async def completed() -> bool:
        job = (await farm.client.get_job(job_id)).job
        assert job.state not in (JobState.FAILED, JobState.CANCELLED), job
        return job.state is JobState.COMPLETED

    await farm.wait_for(completed, f"job {job_id} to complete over TLS")


async def test_a_node_without_the_ca_exits_17_naming_the_controller_and_the_fix(tls_farm):
    farm, _ = tls_farm
    env = {"VMAFX_CONTROLLER_ADDR": farm.target, "VMAFX_NODE_ENCODERS": "libx264"}
    env["VMAFX_CA"] = ""  # not inherited from the machine running the tests
    proc = farm._spawn("no-ca", ["node", "--name", "no-ca", "--http-listen", ""], env)
    code = await asyncio.wait_for(asyncio.to_thread(proc.popen.wait), 60)
    stderr = proc.stderr.read_text()
    said = " ".join(stderr.split())
    assert code == 17, proc.tail()
    assert f"the controller at {farm.target} presented a certificate this client does not" in said
    assert "--ca FILE (or VMAFX_CA)" in said
    assert "Traceback" not in stderr
