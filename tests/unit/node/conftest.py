"""A whole controller in process (FakeControllerClient) and scripted job handlers, to drive the
node agent without ffmpeg, sockets or real hardware.

Async tests are marked `anyio` and run on asyncio. Heartbeats and long-polls are set to a few
milliseconds so a test runs in well under a second.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from vmafx.client.port import ControllerClient
from vmafx.controller.service import ServiceSettings
from vmafx.core.jobs import JobKind, Requirements
from vmafx.core.messages import JobRequest
from vmafx.core.nodes import GpuInfo, NodeCapabilities
from vmafx.errors import FfmpegCancelledError, UnavailableError
from vmafx.node.agent import AgentSettings, NodeAgent
from vmafx.node.handlers.base import Handler, JobContext, JobOutput, JobProgress
from vmafx.node.metrics import NodeMetrics
from vmafx.testing import FakeControllerClient

WAIT_S = 5.0


Work = Callable[[JobContext], JobOutput]


@dataclasses.dataclass
class FakeHandler:
    """A handler that runs `work` (default: succeed at once) and records every job it saw."""

    work: Work = lambda context: JobOutput(result={"ok": True})
    seen: list[str] = dataclasses.field(default_factory=list)
    active: int = 0
    most_active: int = 0
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def run(self, context: JobContext) -> JobOutput:
        with self._lock:
            self.seen.append(context.job.id)
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            return self.work(context)
        finally:
            with self._lock:
                self.active -= 1


def until_cancelled(context: JobContext, limit_s: float = WAIT_S) -> JobOutput:
    """Work that runs until its cancel token is set, then stops as ffmpeg would."""
    for _ in range(int(limit_s / 0.005)):
        context.progress(JobProgress(fraction=0.5, frames=10))
        if context.cancel.cancelled:
            raise FfmpegCancelledError(f"ffmpeg was stopped ({context.cancel.reason}).")
        threading.Event().wait(0.005)
    raise AssertionError("the job was never cancelled")


class FlakyClient:
    """A ControllerClient that raises `error` for the first `failures[method]` calls of a
    method, then passes every call to `inner`; `calls` counts calls per method."""

    def __init__(self, inner: Any, failures: dict[str, int], error: Exception | None = None):
        self.inner = inner
        self.failures = dict(failures)
        self.error = error or UnavailableError("the controller at 127.0.0.1:9 is not reachable.")
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            if self.failures.get(name, 0) > 0:
                self.failures[name] -= 1
                raise self.error
            return await method(*args, **kwargs)

        return call


class Farm:
    """An in-memory controller, files under its scoring root, and agents built against it.

    Tests reach the scripted handler and helpers through it (`farm.Handler`,
    `farm.until_cancelled`), since test modules cannot import this conftest.
    """

    Handler = FakeHandler
    Flaky = FlakyClient
    until_cancelled = staticmethod(until_cancelled)
    WAIT_S = WAIT_S

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "ref.y4m").write_bytes(b"")
        (root / "dis.mp4").write_bytes(b"")
        settings = ServiceSettings(heartbeat_interval_s=0.02, repoll_s=0.01, max_wait_s=0.05)
        self.client = FakeControllerClient.in_memory(scoring_roots=[root], settings=settings)

    def score_request(self, **fields: Any) -> JobRequest:
        spec = {"reference": str(self.root / "ref.y4m"), "distorted": [str(self.root / "dis.mp4")]}
        return JobRequest.parse(kind=JobKind.SCORE, spec=spec, **fields)

    def encode_request(self, **fields: Any) -> JobRequest:
        spec = {"source": str(self.root / "ref.y4m"), "output": str(self.root / "out.mp4")}
        spec["codec"] = "h264"
        return JobRequest.parse(kind=JobKind.ENCODE, spec=spec, **fields)

    async def submit(self, *requests: JobRequest) -> list[str]:
        return [(await self.client.submit_job(request)).job.id for request in requests]

    async def scores(self, count: int, **fields: Any) -> list[str]:
        return await self.submit(*(self.score_request(**fields) for _ in range(count)))

    def agent(
        self,
        handlers: dict[JobKind, Handler] | None = None,
        *,
        client: ControllerClient | None = None,
        gpus: Sequence[GpuInfo] = (),
        concurrency: dict[str, int] | None = None,
        labels: dict[str, str] | None = None,
        encoders: Sequence[str] = (),
        **settings: Any,
    ) -> NodeAgent:
        settings.setdefault("name", "node-a")
        settings.setdefault("burst", True)
        settings.setdefault("poll_wait_s", 0.02)
        settings.setdefault("progress_interval_s", 0.05)
        settings.setdefault("backoff_base_s", 0.001)
        settings.setdefault("backoff_cap_s", 0.01)
        capabilities = NodeCapabilities(
            host="host-a",
            gpus=tuple(gpus),
            gpu_vendor=gpus[0].vendor if gpus else "cpu",
            encoders=tuple(encoders),
            queues=tuple(settings.get("queues", ())),
            slots=settings.get("slots", 1),
            concurrency=concurrency or {},
            labels=labels or {},
        )
        handlers = handlers or {JobKind.SCORE: FakeHandler(), JobKind.ENCODE: FakeHandler()}
        return NodeAgent(
            client or self.client,
            capabilities,
            handlers,
            AgentSettings(**settings),
            metrics=NodeMetrics(),
        )

    async def wait_for(self, predicate: Callable[[], Any], timeout_s: float = WAIT_S) -> None:
        for _ in range(int(timeout_s / 0.005)):
            if await _value(predicate()):
                return
            await asyncio.sleep(0.005)
        raise AssertionError("condition not met in time")


async def _value(value: Any) -> Any:
    return await value if asyncio.iscoroutine(value) else value


@pytest.fixture
async def farm(tmp_path: Path) -> AsyncIterator[Farm]:
    root = tmp_path / "media"
    root.mkdir()
    farm = Farm(root)
    yield farm
    await farm.client.close()


def requirements(**fields: Any) -> Requirements:
    return Requirements(**fields)
