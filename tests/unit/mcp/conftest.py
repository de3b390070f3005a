"""The MCP server in process: the SDK's own in-memory client, an in-memory controller
(`FakeControllerClient`), a scripted node, and a fake local scorer."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from vmafx.core.attempts import Attribution
from vmafx.core.messages import Claim, NodeRegistration, NodeReport
from vmafx.core.nodes import GpuInfo, NodeCapabilities
from vmafx.core.pooling import pool
from vmafx.core.scores import ScoreReport, ScoreResult
from vmafx.mcp.farm import Farm
from vmafx.mcp.local import LocalScoring
from vmafx.mcp.tools import build_server
from vmafx.media.runner import CancelToken
from vmafx.media.scorer import ScoreProgress, ScoreRequest
from vmafx.testing import FakeControllerClient

L4 = GpuInfo(vendor="nvidia", name="L4", uuid="GPU-1", index=0, memory_mb=23034)


class FakeScorer:
    """Scores every distorted input 90 + its index; reports progress frame by frame."""

    def __init__(self) -> None:
        self.requests: list[ScoreRequest] = []

    def score(
        self,
        request: ScoreRequest,
        *,
        on_progress: ScoreProgress | None = None,
        cancel: CancelToken | None = None,
    ) -> ScoreReport:
        self.requests.append(request)
        for frame in (1, 2, 3):
            if on_progress is not None:
                on_progress(frame, 3)
        results = tuple(
            ScoreResult(
                distorted=path,
                frame_count=3,
                scored_frames=3,
                pooled={"vmaf_v0.6.1": pool([90.0 + i] * 3)},
                frames={"vmaf_v0.6.1": [90.0 + i] * 3},
                frame_nums=(0, 1, 2),
                features=None,
            )
            for i, path in enumerate(request.distorted)
        )
        return ScoreReport(request.reference, results, {"ffmpeg": "7.1", "libvmaf": "3.0.0"}, 0.5)


@dataclasses.dataclass
class FakeNode:
    """A node as the controller sees one, driven step by step."""

    client: FakeControllerClient
    name: str = "node-a"
    caps: NodeCapabilities = dataclasses.field(
        default_factory=lambda: NodeCapabilities(host="zampp2", gpu_vendor="nvidia", gpus=(L4,))
    )
    session: NodeRegistration | None = None

    async def register(self) -> NodeRegistration:
        self.session = await self.client.register_node(self.name, self.caps)
        return self.session

    async def claim(self) -> Claim:
        session = self.session or await self.register()
        claim = await self.client.pull_work(session)
        assert claim is not None, "nothing to claim"
        return claim

    async def progress(self, claim: Claim, fraction: float) -> None:
        assert self.session is not None
        report = NodeReport(
            job_id=claim.job.id, attempt=claim.job.attempt, final=False, progress=fraction
        )
        await self.client.report_result(self.session, report)

    async def complete(self, claim: Claim, vmaf: float = 93.5) -> None:
        assert self.session is not None
        result = {
            "reference": claim.job.spec["reference"],
            "results": [
                {
                    "distorted": path,
                    "frame_count": 3,
                    "scored_frames": 3,
                    "pooled": {"vmaf_v0.6.1": pool([vmaf] * 3).as_dict()},
                    "warnings": [],
                    "series": {"frame_nums": [0, 1, 2], "vmaf_v0.6.1": [vmaf] * 3},
                }
                for path in claim.job.spec["distorted"]
            ],
            "versions": {"ffmpeg": "7.1", "libvmaf": "3.0.0"},
        }
        report = NodeReport(
            job_id=claim.job.id,
            attempt=claim.job.attempt,
            result=result,
            attribution=Attribution(gpu=L4),
        )
        assert await self.client.report_result(self.session, report) == ""


@dataclasses.dataclass
class Rig:
    mcp: Client
    controller: FakeControllerClient
    scorer: FakeScorer

    def node(self, name: str = "node-a", **caps: Any) -> FakeNode:
        if not caps:
            return FakeNode(self.controller, name)
        return FakeNode(self.controller, name, NodeCapabilities(**caps))

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """A tool's structured result; fails the test on a tool error."""
        result = await self.mcp.call_tool(tool, arguments)
        assert not result.is_error, result.content
        assert result.structured_content is not None
        return result.structured_content

    async def error(self, tool: str, **arguments: Any) -> str:
        """A tool error's text; fails the test when the call succeeds."""
        result = await self.mcp.call_tool(tool, arguments)
        assert result.is_error, result.structured_content
        texts: Sequence[Any] = result.content
        return " ".join(getattr(block, "text", "") for block in texts)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    controller = FakeControllerClient.in_memory(scoring_roots=[tmp_path])
    scorer = FakeScorer()
    farm = Farm("127.0.0.1:9090", lambda token: controller)
    server = build_server(farm, LocalScoring(lambda: scorer))
    async with Client(server) as client:
        yield Rig(client, controller, scorer)


@pytest.fixture
async def local_rig() -> AsyncIterator[Rig]:
    scorer = FakeScorer()
    server = build_server(None, LocalScoring(lambda: scorer))
    async with Client(server) as client:
        yield Rig(client, FakeControllerClient.in_memory(), scorer)
