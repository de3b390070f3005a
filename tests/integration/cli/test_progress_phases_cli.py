"""Encode progress labelled by phase (issue 18 item 7): what a node reports in its heartbeat
(phase, fps, ETA, encoder) is kept on the job (SQLite through the real controller), answered by
the HTTP API and gRPC, printed by `vmafx jobs get` and cleared when the job ends."""

from __future__ import annotations

import httpx
import pytest
from tests.farm import FakeNode, Farm, migrated_template
from typer.testing import CliRunner

from vmafx.cli.app import app
from vmafx.core.messages import RunningJob
from vmafx.core.tokens import Role

pytestmark = pytest.mark.integration


@pytest.fixture
def farm(tmp_path):
    made = Farm(tmp_path / "farm", migrated_template(tmp_path), auth_disabled=False)
    try:
        yield made
    finally:
        made.close()


def cli(farm: Farm, token: str, *args: str) -> str:
    env = {"VMAFX_CONTROLLER_ADDR": farm.grpc_target, "VMAFX_TOKEN": token, "COLUMNS": "200"}
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stdout


async def beat(node: FakeNode, job_id: str, attempt: int, **progress: object) -> None:
    running = RunningJob(job_id=job_id, attempt=attempt, **progress)  # type: ignore[arg-type]
    assert (await node.client.heartbeat(node.session, running=[running])).ok


def test_a_running_encode_says_its_phase_speed_eta_and_encoder_everywhere(farm):
    writer = farm.token(Role.WRITER)
    node = farm.node(token=farm.token(Role.NODE))
    source, output = farm.path("master.mov"), farm.path("out.mkv")
    out = cli(farm, writer, "jobs", "submit", "encode", source, "-o", output, "--codec", "av1")
    job_id = out.split()[3]  # "submitted encode job ID"
    claim = farm.run(node.claim("encode"))
    attempt = claim.job.attempt

    # libaom's first seconds: no frame written yet, but the encoder and phase are known.
    farm.run(beat(node, job_id, attempt, progress=0.0, phase="encoding", encoder="libaom-av1"))
    shown = cli(farm, writer, "jobs", "get", job_id)
    assert "encoding 0 % (libaom-av1)" in shown, shown

    farm.run(beat(node, job_id, attempt, progress=0.42, frames=420, fps=87.0, eta_s=12.4,
                  phase="encoding", encoder="libaom-av1"))  # fmt: skip
    shown = cli(farm, writer, "jobs", "get", job_id)
    assert "encoding 42 % 87 fps ETA 0:12 (libaom-av1)" in shown, shown
    headers = {"Authorization": f"Bearer {writer}"}
    body = httpx.get(f"{farm.http_url}/v1/jobs/{job_id}", headers=headers, timeout=10).json()
    assert body["progress_detail"] == {
        "phase": "encoding", "frames": 420, "fps": 87.0, "eta_s": 12.4, "encoder": "libaom-av1",
    }  # fmt: skip

    farm.run(beat(node, job_id, attempt, progress=0.9, frames=12, fps=3.5, phase="scoring"))
    shown = cli(farm, writer, "jobs", "get", job_id)
    assert "scoring 90 % 3.5 fps" in shown and "libaom" not in shown, shown

    farm.run(node.fail(claim, "libaom-av1 ran out of memory"))
    body = httpx.get(f"{farm.http_url}/v1/jobs/{job_id}", headers=headers, timeout=10).json()
    assert body["state"] == "failed"
    assert body["progress_detail"] is None  # what a node did last is not kept once it ended
    farm.run(node.close())
