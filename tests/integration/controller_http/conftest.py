"""The HTTP API in process: a ControllerService on the in-memory store or on SQLite, the app
built by `build_http_app`, and an httpx client over ASGITransport, with a token per role.

`api` runs a test on both stores; `mem` on the in-memory store only, `lite` on SQLite only. Async tests are marked
`anyio` (anyio's pytest plugin) and run on asyncio.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from vmafx.controller.auth import Authenticator, Principal, create_token
from vmafx.controller.http import HttpLimits, build_http_app
from vmafx.controller.inputs import InputPolicy
from vmafx.controller.metrics import ControllerMetrics, MetricsExporter
from vmafx.controller.service import ControllerService, ServiceSettings
from vmafx.controller.settings import ControllerSettings
from vmafx.core.clock import FakeClock
from vmafx.core.messages import Claim, NodeRegistration
from vmafx.core.nodes import GpuInfo, NodeCapabilities
from vmafx.core.tokens import Role
from vmafx.scheduler import Scheduler
from vmafx.store import InMemoryJobStore, JobStore

#: Small enough for tests to see limits; keep-alives frequent enough to be seen too.
LIMITS = HttpLimits(max_body_bytes=64 * 1024, keepalive_s=0.2)
WAIT_S = 10.0


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (migrating takes longer than a test)."""
    from vmafx.store.sql import upgrade

    path = tmp_path_factory.mktemp("template") / "controller.db"
    upgrade(f"sqlite:///{path}")
    return path


@dataclasses.dataclass
class SseEvent:
    event: str
    data: Any
    id: str | None = None


def parse_sse(text: str) -> list[SseEvent]:
    """The events of a text/event-stream body (comments and `retry:` skipped)."""
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            name, _, value = line.partition(": ")
            if name in ("event", "data", "id"):
                fields[name] = value
        if "data" in fields:
            events.append(
                SseEvent(
                    fields.get("event", "message"), json.loads(fields["data"]), fields.get("id")
                )
            )
    return events


class Api:
    """The service, its app and a client; `headers(role)` authenticates as that role in `acme`."""

    def __init__(self, store: JobStore, root: Path, *, auth_disabled: bool = False) -> None:
        self.root = root
        #: The checkpoint folder /v1/models reads (nothing in it until a test writes a registry).
        self.models = root.parent / "models"
        self.store = store
        self.clock = FakeClock()
        self.scheduler = Scheduler()
        self.registry = CollectorRegistry()
        self.service = ControllerService(
            store,
            clock=self.clock,
            scheduler=self.scheduler,
            inputs=InputPolicy([root]),
            settings=ServiceSettings(repoll_s=0.05),
            metrics=ControllerMetrics(self.registry),
        )
        self.auth = Authenticator(store, self.clock, disabled=auth_disabled)
        self.app = build_http_app(
            service=self.service,
            auth=self.auth,
            metrics=MetricsExporter(self.registry, store, self.clock),
            settings=ControllerSettings(model_dir=self.models),
            limits=LIMITS,
        )
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://controller"
        )
        self.secrets: dict[str, str] = {}
        self.node = Principal.of("acme", Role.NODE)
        for name in ("ref.mp4", "dis.mp4", "dis2.mp4"):
            (root / name).write_bytes(b"")

    async def add_tokens(self) -> None:
        for role in (Role.READER, Role.WRITER, Role.ADMIN, Role.NODE):
            _, self.secrets[role.value] = await create_token(
                self.store, self.clock, role=role, tenant="acme"
            )
        _, self.secrets["globex"] = await create_token(
            self.store, self.clock, role=Role.ADMIN, tenant="globex"
        )

    def headers(self, role: str = "writer") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets[role]}"}

    def score_body(self, **fields: Any) -> dict[str, Any]:
        spec = {"reference": str(self.root / "ref.mp4"), "distorted": [str(self.root / "dis.mp4")]}
        spec.update(fields.pop("spec", {}))
        return {"kind": "score", "spec": spec, **fields}

    async def submit(self, **fields: Any) -> str:
        response = await self.client.post(
            "/v1/jobs", json=self.score_body(**fields), headers=self.headers()
        )
        assert response.status_code == 201, response.text
        self.clock.advance(0.001)
        return str(response.json()["id"])

    async def register(self, name: str = "node-a", **caps: Any) -> NodeRegistration:
        caps.setdefault("host", name)
        caps.setdefault("slots", 4)
        return await self.service.register_node(self.node, name, NodeCapabilities(**caps))

    async def claim(self, session: NodeRegistration) -> Claim:
        claim = await self.service.pull_work(self.node, session.node_id, session.session_token)
        assert claim is not None
        return claim

    async def wait_for_subscribers(self, count: int) -> None:
        async with asyncio.timeout(WAIT_S):
            while self.service.bus.subscribers < count:
                await asyncio.sleep(0.005)

    async def close(self) -> None:
        await self.client.aclose()
        await self.service.close()
        await self.store.close()


L4 = GpuInfo(vendor="nvidia", name="L4", uuid="GPU-1", memory_mb=23034)


async def _open(kind: str, tmp_path: Path, template: Path | None) -> JobStore:
    if kind == "memory":
        return InMemoryJobStore(Scheduler())
    from vmafx.store.sql import SqlJobStore

    assert template is not None
    path = tmp_path / "controller.db"
    shutil.copy(template, path)
    return SqlJobStore(f"sqlite:///{path}", Scheduler())


async def _api(kind: str, tmp_path: Path, template: Path | None) -> AsyncIterator[Api]:
    root = tmp_path / "media"
    root.mkdir()
    api = Api(await _open(kind, tmp_path, template), root)
    await api.add_tokens()
    try:
        yield api
    finally:
        await api.close()


@pytest.fixture(params=["memory", "sqlite"])
async def api(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[Api]:
    async for made in _api(request.param, tmp_path, sqlite_template):
        yield made


@pytest.fixture
async def lite(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Api]:
    async for made in _api("sqlite", tmp_path, sqlite_template):
        yield made


@pytest.fixture
async def mem(tmp_path: Path) -> AsyncIterator[Api]:
    async for made in _api("memory", tmp_path, None):
        yield made
