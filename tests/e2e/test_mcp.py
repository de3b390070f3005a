"""`vmafx mcp` driven by the SDK's own client, against a real `vmafx controller` (auth on, farm
tokens) and a real `vmafx node` on loopback: over stdio (the server a desktop assistant starts)
and over streamable HTTP with a bearer token."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from tests.e2e.conftest import CONTROLLER_ENV, Farm
from tests.tlskeys import AUDIENCE, ISSUER, JwksServer, jwks_server, mint, rsa_key

from vmafx.client.grpc_client import GrpcControllerClient

pytestmark = pytest.mark.slow
OIDC_KEY = rsa_key()


def create_token(db: Path, role: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "vmafx", "tokens", "create", "--role", role, "--tenant", "acme",
         "--store", f"sqlite:///{db}"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


async def start_farm(farm: Farm, jwks: JwksServer) -> str:
    """A controller with auth on (farm tokens, and OIDC tokens signed by a key of `jwks`) and
    one node; returns a writer farm token."""
    db = farm.tmp / "controller.db"
    writer, node = create_token(db, "writer"), create_token(db, "node")
    args = ["controller", "--grpc-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
            "--store", f"sqlite:///{db}", "--scoring-root", str(farm.media),
            "--oidc-issuer", ISSUER, "--oidc-audience", AUDIENCE, "--oidc-jwks-url", jwks.url]  # fmt: skip
    proc = farm._spawn("controller", args, CONTROLLER_ENV)
    port = proc.wait_for_line(r"gRPC on 127\.0\.0\.1:(\d+)").group(1)
    farm.target = f"127.0.0.1:{port}"
    farm.client = GrpcControllerClient(farm.target, token=writer, timeout_s=10)
    token_file = farm.tmp / "node.token"
    token_file.write_text(node)
    farm.start_node("gpu-box", queues="score", extra=["--token-file", str(token_file)])
    await farm.node_live("gpu-box")
    return writer


def stdio(farm: Farm, token: str) -> Client:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "vmafx", "mcp", "--controller", farm.target],
        env={"VMAFX_TOKEN": token, "XDG_STATE_HOME": str(farm.state)},
    )
    return Client(params, read_timeout_seconds=120)


def text_of(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


def local_vmaf(ref: Path, dis: Path) -> float:
    done = subprocess.run(
        [sys.executable, "-m", "vmafx", "score", str(ref), str(dis), "--format", "json"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return float(json.loads(done.stdout)["results"][0]["pooled"]["vmaf_v0.6.1"]["mean"])


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    yield from jwks_server([OIDC_KEY])


@pytest.fixture
async def authed(farm: Farm, jwks: JwksServer) -> tuple[Farm, str]:
    return farm, await start_farm(farm, jwks)


async def test_stdio_tools_score_wait_cancel_and_refuse_through_a_real_farm(
    authed: tuple[Farm, str],
) -> None:
    farm, writer = authed
    media = farm.media
    async with stdio(farm, writer) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"score", "submit_job", "wait_job", "cancel_job", "explain_pending"} <= names

        # score a pair on the farm: the same VMAF as `vmafx score` on this machine
        result = await client.call_tool(
            "score", {"reference": str(media / "ref.y4m"), "distorted": [str(media / "dis.mp4")]}
        )
        assert not result.is_error, text_of(result)
        body = result.structured_content
        assert body is not None
        assert body["ran_on"] == "farm" and body["state"] == "completed"
        assert body["where"].startswith("gpu-box") or body["where"]
        expected = local_vmaf(media / "ref.y4m", media / "dis.mp4")
        assert body["results"][0]["pooled"]["vmaf_v0.6.1"]["mean"] == pytest.approx(
            expected, abs=1e-4
        )

        # submit, then wait with progress notifications
        long_pair = {
            "reference": str(media / "long_ref.mp4"),
            "distorted": [str(media / "long_dis.mp4")],
        }
        job = (
            await client.call_tool("submit_job", {"kind": "score", "spec": long_pair})
        ).structured_content
        assert job is not None and job["state"] == "pending"
        seen: list[tuple[float, str | None]] = []

        async def progress(done: float, total: float | None, message: str | None) -> None:
            seen.append((done, message))

        waited = await client.call_tool(
            "wait_job", {"job_id": job["id"], "timeout_s": 120}, progress_callback=progress
        )
        assert waited.structured_content is not None, text_of(waited)
        assert waited.structured_content["state"] == "completed"
        assert waited.structured_content["attempts"][0]["node_name"] == "gpu-box"
        assert len(seen) >= 2 and seen[-1][0] == 100.0

        # cancel a job that runs (or is about to)
        job = (
            await client.call_tool("submit_job", {"kind": "score", "spec": long_pair})
        ).structured_content
        assert job is not None
        cancelled = await client.call_tool(
            "cancel_job", {"job_id": job["id"], "reason": "not needed"}
        )
        assert cancelled.structured_content is not None, text_of(cancelled)
        assert cancelled.structured_content["job"]["state"] == "cancelled"

        # a bad path: a tool error naming the fix
        bad = await client.call_tool(
            "score", {"reference": str(media / "ref.y4m"), "distorted": [str(media / "typo.mp4")]}
        )
        assert bad.is_error
        assert f"distorted[0] {media / 'typo.mp4'} does not exist." in text_of(bad)
        assert "check_inputs=false" in text_of(bad)

    # a wrong token: refused, with how to pass a good one
    async with stdio(farm, "not-a-token") as client:
        refused = await client.call_tool("list_jobs", {})
        assert refused.is_error
        assert f"the controller at {farm.target} refused the call" in text_of(refused)
        assert "--token-file" in text_of(refused)


async def test_streamable_http_takes_farm_and_oidc_tokens_and_refuses_others(
    authed: tuple[Farm, str],
) -> None:
    farm, writer = authed
    proc = farm._spawn(
        "mcp-http", ["mcp", "--controller", farm.target, "--http", "127.0.0.1:0"], {}
    )
    url = proc.wait_for_line(r"streamable HTTP on (http://127\.0\.0\.1:\d+/mcp)").group(1)
    headers = {"Authorization": f"Bearer {writer}"}
    http = create_mcp_http_client(headers=headers)
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        # (the SDK leaves a client it was given open: `async with http` closes it)
        nodes = await client.call_tool("list_nodes", {})
        assert nodes.structured_content is not None, text_of(nodes)
        assert [n["name"] for n in nodes.structured_content["nodes"]] == ["gpu-box"]
        pending = await client.call_tool("list_jobs", {"states": ["pending"]})
        assert pending.structured_content == {"jobs": [], "next_cursor": None}

    # an OIDC token the controller accepts works the same way, in its tenant with its role
    oidc = create_mcp_http_client(
        headers={"Authorization": f"Bearer {mint(OIDC_KEY, role='reader')}"}
    )
    async with oidc, Client(streamable_http_client(url, http_client=oidc)) as client:
        nodes = await client.call_tool("list_nodes", {})
        assert nodes.structured_content is not None, text_of(nodes)
        assert [n["name"] for n in nodes.structured_content["nodes"]] == ["gpu-box"]
        refused = await client.call_tool(
            "submit_job", {"kind": "score", "spec": {"reference": "/x", "distorted": ["/y"]}}
        )
        assert refused.is_error
        assert "needs the write permission" in text_of(refused)

    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    accept = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    async with httpx2.AsyncClient(timeout=30) as raw:
        wrong = await raw.post(url, json=ping, headers={**accept, "Authorization": "Bearer wrong"})
        assert wrong.status_code == 401
        missing = await raw.post(url, json=ping, headers=accept)
        assert missing.status_code == 401
        rebound = await raw.post(
            url, json=ping, headers={**accept, **headers, "Host": "evil.example:80"}
        )
        assert rebound.status_code == 421
    assert re.search(r"Traceback", proc.tail()) is None


async def test_stdio_without_a_farm_scores_locally_like_vmafx_score(clips: dict[str, Path]) -> None:
    ref, dis = clips["ref.y4m"], clips["dis.mp4"]
    params = StdioServerParameters(command=sys.executable, args=["-m", "vmafx", "mcp"])
    seen: list[float] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append(done)

    async with Client(params, read_timeout_seconds=120) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert names == {
            "score",
            "list_models",
            "list_features",
            "versions",
            "tune_crf",
            "tune_ladder",
        }
        result = await client.call_tool(
            "score", {"reference": str(ref), "distorted": [str(dis)]}, progress_callback=progress
        )
        assert not result.is_error, text_of(result)
        body = result.structured_content
        assert body is not None and body["ran_on"] == "local"
        expected = local_vmaf(ref, dis)
        assert body["results"][0]["pooled"]["vmaf_v0.6.1"]["mean"] == pytest.approx(
            expected, abs=1e-6
        )
        missing = await client.call_tool(
            "score", {"reference": str(ref), "distorted": [str(ref.parent / "typo.mp4")]}
        )
        assert missing.is_error
        assert f"The input {ref.parent / 'typo.mp4'} does not exist. Check the path" in text_of(
            missing
        )


def test_the_cli_does_not_import_the_mcp_sdk_until_vmafx_mcp_runs() -> None:
    code = "import sys, vmafx.cli.app; print(sorted(m for m in sys.modules if m.split('.')[0] == 'mcp'))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr
