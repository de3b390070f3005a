"""`vmafx jobs …` and `vmafx nodes list` in process (Typer's CliRunner) against a real controller:
gRPC on a loopback port, auth on, SQLite, and a fake node driven through the gRPC client."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import socket
from pathlib import Path

import httpx
import pytest
from rich.console import Console
from tests.farm import Farm
from typer.testing import CliRunner

from vmafx.cli.app import app
from vmafx.cli.entry import report_error
from vmafx.core.tokens import Role
from vmafx.errors import VmafxError

pytestmark = pytest.mark.integration


@dataclasses.dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str

    def json(self) -> object:
        return json.loads(self.stdout)


def run(farm: Farm, token: str | None, *args: str) -> Outcome:
    """`vmafx ARGS` as `main()` runs it: a VmafxError becomes its message and exit code."""
    env = {"VMAFX_CONTROLLER_ADDR": farm.grpc_target, "VMAFX_TOKEN": token, "COLUMNS": "200"}
    result = CliRunner().invoke(app, list(args), env=env)
    if isinstance(result.exception, VmafxError):
        buffer = io.StringIO()
        code = report_error(result.exception, Console(file=buffer, width=200))
        return Outcome(code, result.stdout, result.stderr + buffer.getvalue())
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr)


def submit(farm: Farm, token: str, queue: str, *extra: str) -> str:
    ref, dis = farm.path("ref.mp4"), farm.path("dis.mp4")
    out = run(farm, token, "jobs", "submit", "score", ref, dis, "--queue", queue, *extra)
    assert out.code == 0, out.stderr
    return out.stdout.split()[3]  # "submitted score job ID"


# --- submitting and reading -----------------------------------------------------------------
def test_submit_makes_paths_absolute_and_json_is_the_job_object(farm, writer, monkeypatch):
    monkeypatch.chdir(farm.media)
    out = run(farm, writer, "jobs", "submit", "score", "ref.mp4", "dis.mp4", "crf28.mp4",
              "--queue", "t-json", "-f", "float_ssim", "--format", "json")  # fmt: skip
    assert out.code == 0, out.stderr
    job = out.json()
    assert isinstance(job, dict)
    assert job["state"] == "pending" and len(job["id"]) == 36
    assert job["spec"]["reference"] == farm.path("ref.mp4")
    assert job["spec"]["distorted"] == [farm.path("dis.mp4"), farm.path("crf28.mp4")]
    assert job["spec"]["metrics"] == ["vmaf", "float_ssim"]


def test_a_completed_job_lists_with_host_gpu_and_score_and_gets_in_full(farm, writer, node):
    job_id = submit(farm, writer, "t-done")
    claim = farm.run(node.claim("t-done"))
    farm.run(node.complete(claim, frames=24))
    listed = run(farm, writer, "jobs", "list", "--queue", "t-done")
    assert listed.code == 0, listed.stderr
    assert job_id[:8] in listed.stdout and "completed" in listed.stdout
    assert "zampp2 / L4" in listed.stdout and "88." in listed.stdout
    [item] = run(farm, writer, "jobs", "list", "--queue", "t-done", "--format", "json").json()
    assert (item["id"], item["state"], item["where"]) == (job_id, "completed", "zampp2 / L4")
    shown = run(farm, writer, "jobs", "get", job_id[:8])
    assert shown.code == 0, shown.stderr
    assert "harmonic mean" in shown.stdout and "zampp2-l4" in shown.stdout
    details = run(farm, writer, "jobs", "get", job_id, "--format", "json").json()
    assert details["attempts"][0]["gpu"]["name"] == "L4"
    assert details["attempts"][0]["outcome"] == "completed"


def test_list_filters_by_state_and_kind(farm, writer, node):
    done, waiting = submit(farm, writer, "t-filter"), submit(farm, writer, "t-filter")
    claim = farm.run(node.claim("t-filter"))
    assert claim.job.id == done
    farm.run(node.complete(claim))
    out = run(farm, writer, "jobs", "list", "--queue", "t-filter", "--state", "pending",
              "--kind", "score", "--format", "json")  # fmt: skip
    assert [job["id"] for job in out.json()] == [waiting]


def test_watch_shows_live_progress_and_exits_0_when_the_job_completes(farm, writer, node):
    job_id = submit(farm, writer, "t-watch")

    async def node_runs_it() -> None:
        claim = await node.claim("t-watch")
        while farm.running.service.bus.subscribers == 0:  # the watch is listening
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        await node.progress(claim, 0.5)
        await asyncio.sleep(0.3)
        await node.complete(claim)

    running = farm.start(node_runs_it())
    out = run(farm, writer, "jobs", "watch", job_id)
    running.result(10)
    assert out.code == 0, out.stderr
    assert "running on zampp2 / L4  50 % 48 fps ETA 0:12" in out.stderr
    assert "completed on zampp2 / L4" in out.stderr
    assert "harmonic mean" in out.stdout


def test_watch_exits_1_with_the_error_when_the_job_fails(farm, writer, node):
    job_id = submit(farm, writer, "t-fail")
    claim = farm.run(node.claim("t-fail"))
    farm.run(node.fail(claim, "ffmpeg failed (exit 1)\nffmpeg said (last lines):\nbad MB"))
    out = run(farm, writer, "jobs", "watch", job_id, "--format", "json")
    assert out.code == 1
    assert f"job {job_id} failed: ffmpeg failed (exit 1)" in out.stderr
    assert json.loads(out.stdout.splitlines()[-1])["state"] == "failed"


def test_cancel_cancels_a_pending_job_and_repeating_it_is_harmless(farm, writer):
    job_id = submit(farm, writer, "t-cancel")
    first = run(farm, writer, "jobs", "cancel", job_id)
    assert first.code == 0, first.stderr
    assert "now cancelled" in first.stdout
    again = run(farm, writer, "jobs", "cancel", job_id, "--format", "json")
    assert again.code == 0 and again.json()["state"] == "cancelled"


def test_nodes_list_shows_host_gpu_encoders_and_slots(farm, writer, node):
    table = run(farm, writer, "nodes", "list")
    assert table.code == 0, table.stderr
    assert "zampp2-l4" in table.stdout and "L4 (22 GB)" in table.stdout
    assert "h264_nvenc" in table.stdout
    [item] = run(farm, writer, "nodes", "list", "--format", "json").json()
    assert (item["name"], item["host"], item["gpus"][0]["name"]) == ("zampp2-l4", "zampp2", "L4")


# --- bad input: a message a person can act on, and the exit code of the table ----------------
def test_a_missing_input_file_is_exit_3_and_says_which(farm, writer, tmp_path):
    out = run(farm, writer, "jobs", "submit", "score", farm.path("ref.mp4"),
              str(tmp_path / "nope.mp4"))  # fmt: skip
    assert out.code == 3
    assert f"distorted[0] {tmp_path / 'nope.mp4'} does not exist" in out.stderr
    assert "--no-check-inputs" in out.stderr


def test_an_unknown_encoder_is_exit_2_and_lists_the_known_ones(farm, writer):
    out = run(farm, writer, "jobs", "submit", "encode", farm.path("master.mov"),
              "--out", farm.path("out.mp4"), "--encoder", "x265")  # fmt: skip
    assert out.code == 2
    assert "encoder 'x265' is not one vmafx can drive" in out.stderr
    assert "libx265" in out.stderr


@pytest.mark.parametrize(
    ("flags", "code", "says"),
    [
        (["--codec", "h265"], 2, "'encode spec.codec' must be one of h264, hevc, av1, vp9"),
        (["--width", "1280"], 2, "--width and --height go together"),
        (["--crf", "23", "--bitrate", "4000"], 2, "give only one of them"),
        (["--duration", "-1"], 2, "'encode spec.trim.duration_s' must lie in"),
    ],
)
def test_a_wrong_encode_spec_is_refused_before_the_controller_is_called(
    farm, writer, flags, code, says
):
    out = run(farm, writer, "jobs", "submit", "encode", farm.path("master.mov"),
              "--out", farm.path("out.mp4"), *flags)  # fmt: skip
    assert out.code == code
    assert says in out.stderr


def test_an_unknown_feature_is_exit_8(farm, writer):
    out = run(farm, writer, "jobs", "submit", "score", farm.path("ref.mp4"), farm.path("dis.mp4"),
              "-f", "vif")  # fmt: skip
    assert out.code == 8 and "cannot compute the feature 'vif'" in out.stderr


def test_an_input_outside_the_scoring_roots_is_exit_13_from_the_controller(farm, writer, tmp_path):
    outside = tmp_path / "elsewhere.mp4"
    outside.write_bytes(b"")
    out = run(farm, writer, "jobs", "submit", "score", str(outside), farm.path("dis.mp4"))
    assert out.code == 13
    assert "outside the scoring roots" in out.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_no_controller_answering_is_exit_17_and_says_how_to_start_one(farm, writer):
    address = f"127.0.0.1:{_free_port()}"
    out = run(farm, writer, "jobs", "list", "--controller", address)
    assert out.code == 17
    assert f"no working controller answered at {address}" in out.stderr
    assert "vmafx controller" in out.stderr and "vmafx up" in out.stderr


def test_a_missing_or_wrong_token_is_exit_16_and_says_what_to_do(farm, tmp_path):
    missing = run(farm, None, "jobs", "list")
    assert missing.code == 16
    assert "--token-file" in missing.stderr
    token_file = tmp_path / "token"
    token_file.write_text("vmafx_not-a-real-token\n")
    wrong = run(farm, None, "jobs", "list", "--token-file", str(token_file))
    assert wrong.code == 16
    assert "unknown, expired or revoked" in wrong.stderr


def test_an_unknown_job_id_is_exit_14(farm, writer):
    out = run(farm, writer, "jobs", "get", "00000000-0000-4000-8000-000000000000")
    assert out.code == 14


def test_a_reader_token_may_not_submit_and_is_told_so(farm):
    out = run(farm, farm.token(Role.READER), "jobs", "submit", "score", farm.path("ref.mp4"),
              farm.path("dis.mp4"))  # fmt: skip
    assert out.code == 16
    assert "role" in out.stderr


def test_the_token_file_must_be_readable(farm, tmp_path: Path):
    out = run(farm, None, "nodes", "list", "--token-file", str(tmp_path / "absent"))
    assert out.code == 2 and "cannot be read" in out.stderr


def test_submit_with_watch_writes_one_json_object_per_change_until_the_end(farm, writer, node):
    async def node_runs_it() -> None:
        claim = await node.claim("t-submit-watch")
        await node.progress(claim, 0.4)
        await node.complete(claim)

    running = farm.start(node_runs_it())
    out = run(farm, writer, "jobs", "submit", "score", farm.path("ref.mp4"), farm.path("dis.mp4"),
              "--queue", "t-submit-watch", "--watch", "--format", "json")  # fmt: skip
    running.result(10)
    assert out.code == 0, out.stderr
    changes = [json.loads(line) for line in out.stdout.splitlines()]
    assert len({change["id"] for change in changes}) == 1
    assert changes[-1]["state"] == "completed" and changes[-1]["where"] == "zampp2 / L4"


def test_list_by_node_name_shows_what_that_node_runs(farm, writer, node):
    job_id = submit(farm, writer, "t-node")
    claim = farm.run(node.claim("t-node"))
    out = run(farm, writer, "jobs", "list", "--node", "zampp2-l4", "--format", "json")
    assert job_id in [job["id"] for job in out.json()]
    farm.run(node.complete(claim))
    unknown = run(farm, writer, "jobs", "list", "--node", "nowhere")
    assert unknown.code == 14 and "no node is named 'nowhere'" in unknown.stderr


def test_the_json_of_a_job_is_the_same_from_the_cli_and_the_http_api(farm, writer, node):
    """One codec (`vmafx.core.job_json`): `jobs get --format json`, read over gRPC, equals
    `GET /v1/jobs/ID` of the same controller, key for key and value for value."""
    done = submit(farm, writer, "t-same")
    farm.run(node.complete(farm.run(node.claim("t-same")), frames=24))
    running = submit(farm, writer, "t-same")
    claim = farm.run(node.claim("t-same"))
    farm.run(node.progress(claim, 0.5))
    auth = {"Authorization": f"Bearer {writer}"}
    for job_id in (done, running):
        cli = run(farm, writer, "jobs", "get", job_id, "--format", "json").json()
        http = httpx.get(f"{farm.http_url}/v1/jobs/{job_id}", headers=auth, timeout=30)
        assert http.status_code == 200, http.text
        assert cli == http.json()
    farm.run(node.complete(claim))
