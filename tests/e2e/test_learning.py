"""The online-learning loop as real processes: controller + trainer + one node.

Score jobs flow; the node sends every scored input's features to the trainer, which (with
test-sized settings) trains, passes the stability gate and publishes an active checkpoint; the
node's watcher picks it up without a restart, and later score results carry its version.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tests.conftest import require
from tests.e2e.conftest import MEDIA, Farm

from vmafx.core.jobs import JobKind, JobState
from vmafx.core.messages import JobRequest

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

#: Distinct clips: the held-out set needs scores that differ for PLCC to be defined.
DISTORTED = ("dis.mp4", "dis.mkv", "dis.mov", "dis.webm", "dis.ivf", "dis_small.mp4")
#: A trainer that checkpoints after a few samples and judges on a held-out set of a few.
TRAINER_ENV = {
    "VMAFX_SIDECAR_CKPT_INTERVAL_S": "0",
    "VMAFX_SIDECAR_MIN_SAMPLES_CKPT": "4",
    "VMAFX_SIDECAR_BATCH_SIZE": "4",
    "VMAFX_SIDECAR_REPLAY_MIX": "0",
    "VMAFX_SIDECAR_HOLDOUT_EVERY": "2",
    "VMAFX_SIDECAR_GATE_MIN_SAMPLES": "3",
    "VMAFX_SIDECAR_GATE_MIN_PLCC": "-1",  # an untrained first model is still servable here
    "VMAFX_SIDECAR_STATUS_PORT": "0",
    "VMAFX_SIDECAR_SEED": "1",
}


@pytest.fixture
async def farm(tmp_path: Path) -> AsyncIterator[Farm]:
    media = tmp_path / "media"
    media.mkdir()
    for name in ("ref.y4m", *DISTORTED):
        shutil.copy(MEDIA / name, media / name)
    farm = Farm(tmp_path, media)
    try:
        yield farm
    finally:
        if farm.client is not None:
            await farm.client.close()
        farm.kill_all()


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short folder for the socket (a Unix socket path must fit in 108 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="vx", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def active_versions(models: Path) -> list[int]:
    try:
        registry = json.loads((models / "registry.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return []
    return [v["version"] for v in registry["versions"] if v["status"] == "active"]


def served_version(http: str) -> float:
    with urllib.request.urlopen(f"http://{http}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    line = next(x for x in text.splitlines() if x.startswith("vmafx_model_checkpoint_version "))
    return float(line.split()[1])


def start_trainer(farm: Farm, sock: Path, models: Path) -> None:
    """`vmafx trainer` with the test-sized settings, once its socket is there."""
    env = {**TRAINER_ENV, "VMAFX_SIDECAR_SOCKET": str(sock),
           "VMAFX_SIDECAR_CHECKPOINT_DIR": str(models)}  # fmt: skip
    trainer = farm._spawn("trainer", ["trainer"], env)
    deadline = time.monotonic() + 30
    while not sock.exists():
        assert trainer.popen.poll() is None and time.monotonic() < deadline, trainer.tail()
        time.sleep(0.05)


async def test_score_feedback_trains_a_checkpoint_the_node_serves_without_restarting(
    farm, short_dir, monkeypatch
):
    require(
        all(importlib.util.find_spec(m) for m in ("torch", "onnx", "onnxruntime")),
        "torch + onnx + onnxruntime (vmafx[train])",
    )
    models, sock = farm.tmp / "models", short_dir / "t.sock"
    farm.start_controller()
    start_trainer(farm, sock, models)
    for name, value in (("FEEDBACK_SOCKET", str(sock)), ("MODEL_DIR", str(models)),
                        ("MODEL_POLL_S", "0.2")):  # fmt: skip
        monkeypatch.setenv(f"VMAFX_NODE_{name}", value)
    node = farm.start_node("learner", queues="score,infer")
    http = farm.http_address(node)
    await farm.node_live("learner")
    assert served_version(http) == 0

    spec = {
        "reference": str(farm.media / "ref.y4m"),
        "distorted": [str(farm.media / name) for name in DISTORTED],
        "per_frame": False,
    }
    request = JobRequest.parse(kind=JobKind.SCORE, spec=spec)

    async def checkpoint_served() -> bool:
        job_id = (await farm.client.submit_job(request)).job.id
        await farm.wait_for(lambda: ended(farm, job_id), f"score job {job_id} to end")
        job = (await farm.client.get_job(job_id)).job
        assert job.state is JobState.COMPLETED, job.error
        return bool(active_versions(models)) and served_version(http) > 0

    await farm.wait_for(checkpoint_served, "an active checkpoint served by the node", 45, 0)
    first = active_versions(models)[0]

    job_id = (await farm.client.submit_job(request)).job.id
    await farm.wait_for(lambda: ended(farm, job_id), f"score job {job_id} to end")
    job = (await farm.client.get_job(job_id)).job
    assert job.state is JobState.COMPLETED, job.error
    result = job.result
    assert result is not None
    prediction = result["prediction"]
    assert prediction["model_version"] >= first
    assert prediction["model_version"] in active_versions(models)
    assert isinstance(prediction["score"], float)
    assert [r["prediction"]["model_version"] for r in result["results"]] == [
        prediction["model_version"]
    ] * len(DISTORTED)
    assert os.stat(sock).st_mode & 0o777 == 0o600
    await infer_on_the_node(farm, [item["features"]["values"] for item in result["results"]])


async def infer_on_the_node(farm: Farm, rows: list[list[float]]) -> None:
    """An `infer` job on the same node: one prediction per row from a servable version."""
    assert farm.client is not None
    spec = {"model": "vmafx-tiny", "rows": rows}
    job_id = (await farm.client.submit_job(JobRequest.parse(kind=JobKind.INFER, spec=spec))).job.id
    await farm.wait_for(lambda: ended(farm, job_id), f"infer job {job_id} to end")
    job = (await farm.client.get_job(job_id)).job
    assert job.state is JobState.COMPLETED, job.error
    assert job.result is not None
    assert len(job.result["predictions"]) == len(rows)
    assert job.result["model_version"] in active_versions(farm.tmp / "models")


async def ended(farm: Farm, job_id: str) -> bool:
    assert farm.client is not None
    return (await farm.client.get_job(job_id)).job.is_terminal
