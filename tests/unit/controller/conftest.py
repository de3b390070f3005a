"""A controller service on the in-memory store and a fake clock, with callers of every role.

Async tests are marked `anyio` (anyio's pytest plugin) and run on asyncio.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from vmafx.controller.auth import Principal
from vmafx.controller.inputs import InputPolicy
from vmafx.controller.observing import NO_METRICS, JobMetrics
from vmafx.controller.service import ControllerService, ServiceSettings
from vmafx.core.clock import FakeClock
from vmafx.core.jobs import JobKind
from vmafx.core.messages import JobRequest, NodeRegistration
from vmafx.core.nodes import NodeCapabilities
from vmafx.core.tokens import Role
from vmafx.errors import UnavailableError
from vmafx.scheduler import Scheduler
from vmafx.store import InMemoryJobStore


class Farm:
    """The service plus callers of each role in tenant `acme`, and files under a scoring root."""

    def __init__(self, root: Path, metrics: JobMetrics = NO_METRICS) -> None:
        self.root = root
        self.clock = FakeClock()
        self.scheduler = Scheduler()
        self.store = InMemoryJobStore(self.scheduler)
        self.service = ControllerService(
            self.store,
            clock=self.clock,
            scheduler=self.scheduler,
            inputs=InputPolicy([root]),
            settings=ServiceSettings(repoll_s=0.05),
            metrics=metrics,
        )
        self.writer = Principal.of("acme", Role.WRITER, name="ci")
        self.reader = Principal.of("acme", Role.READER)
        self.admin = Principal.of("acme", Role.ADMIN)
        self.node = Principal.of("acme", Role.NODE)
        for name in ("ref.mp4", "dis.mp4", "dis2.mp4"):
            (root / name).write_bytes(b"")

    def score(self, **fields: Any) -> JobRequest:
        spec = {"reference": str(self.root / "ref.mp4"), "distorted": str(self.root / "dis.mp4")}
        spec.update(fields.pop("spec", {}))
        return JobRequest.parse(kind=JobKind.SCORE, spec=spec, **fields)

    async def submit(self, **fields: Any) -> str:
        submitted = await self.service.submit_job(self.writer, self.score(**fields))
        self.clock.advance(0.001)
        return submitted.job.id

    async def register(
        self, name: str = "node-a", principal: Principal | None = None, **caps: Any
    ) -> NodeRegistration:
        caps.setdefault("host", name)
        caps.setdefault("slots", 4)
        return await self.service.register_node(
            principal or self.node, name, NodeCapabilities(**caps)
        )

    async def pull(self, session: NodeRegistration, **options: Any) -> str | None:
        claim = await self.service.pull_work(
            self.node, session.node_id, session.session_token, **options
        )
        return claim.job.id if claim else None


@pytest.fixture
def farm(tmp_path: Path) -> Farm:
    root = tmp_path / "media"
    root.mkdir()
    return Farm(root)


async def until(condition: Callable[[], bool], *, turns: int = 10_000) -> None:
    """Let the other tasks run until `condition` holds: event-loop turns, never a timed sleep,
    so a loaded machine cannot make it flaky (AssertionError after `turns` turns)."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)  # one turn of the loop
    raise AssertionError("the condition never held")


class SpyStore:
    """Delegates to a store; records the size of each batch its method `batch` is called with
    (a batcher's transaction), and can hold one there (`gate`) or fail it (`fail_next`)."""

    def __init__(self, store: Any, batch: str = "claim_batch") -> None:
        self._store = store
        self._batch_name = batch
        self.batches: list[int] = []
        self.gate: asyncio.Event | None = None
        self.fail_next = False

    def __getattr__(self, name: str) -> Any:
        if name == self._batch_name:
            return self._batch
        return getattr(self._store, name)

    async def _batch(self, requests: Sequence[Any], *, now: datetime) -> list[Any]:
        self.batches.append(len(requests))
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise UnavailableError("job store is unavailable: connection refused")
        result: list[Any] = await getattr(self._store, self._batch_name)(requests, now=now)
        return result
