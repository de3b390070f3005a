"""A real controller (gRPC on an ephemeral loopback port, auth on) on SQLite and PostgreSQL,
tokens of every role, and a client built from the ORIGINAL platform's .proto.

PostgreSQL comes from the contract suite's throw-away database helper (skips locally when
missing, fails in CI).
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import importlib.util
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import grpc
import psycopg
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message
from grpc_tools import protoc
from tests.contract_helpers import load_contract_conftest

from vmafx.controller import main
from vmafx.controller.auth import create_token
from vmafx.controller.settings import controller_settings
from vmafx.core.tokens import Role
from vmafx.store.sql import upgrade

TESTS = Path(__file__).resolve().parents[2]
PACKAGE = "vmafx.controller.v1"
SERVICE = f"/{PACKAGE}.VmafxController"


_contract = load_contract_conftest("vmafx_contract_conftest")
postgres_server = _contract.postgres_server
fresh_postgres = _contract.fresh_postgres
migrated_postgres = _contract.migrated_postgres


# --- the original API ----------------------------------------------------------------------------
class OriginalApi:
    """Message classes of the original .proto and a stub of its eight RPCs."""

    def __init__(self, pool: descriptor_pool.DescriptorPool) -> None:
        self._pool = pool

    def __getattr__(self, name: str) -> type[Message]:
        descriptor = self._pool.FindMessageTypeByName(f"{PACKAGE}.{name}")
        return message_factory.GetMessageClass(descriptor)

    def enum(self, name: str) -> int:
        return int(
            self._pool.FindEnumTypeByName(f"{PACKAGE}.JobStatus").values_by_name[name].number
        )

    def stub(self, channel: grpc.aio.Channel) -> OriginalStub:
        return OriginalStub(self, channel)


class OriginalStub:
    UNARY: ClassVar[dict[str, tuple[str, str]]] = {
        "SubmitJob": ("SubmitJobRequest", "SubmitJobResponse"),
        "GetJob": ("GetJobRequest", "Job"),
        "CancelJob": ("CancelJobRequest", "CancelJobResponse"),
        "RegisterNode": ("RegisterNodeRequest", "RegisterNodeResponse"),
        "Heartbeat": ("HeartbeatRequest", "HeartbeatResponse"),
        "PullWork": ("PullWorkRequest", "PullWorkResponse"),
        "ReportResult": ("ReportResultRequest", "ReportResultResponse"),
    }

    def __init__(self, api: OriginalApi, channel: grpc.aio.Channel) -> None:
        for name, (request, response) in self.UNARY.items():
            call = channel.unary_unary(
                f"{SERVICE}/{name}",
                request_serializer=getattr(api, request).SerializeToString,
                response_deserializer=getattr(api, response).FromString,
            )
            setattr(self, name, call)
        self.StreamJobs = channel.unary_stream(
            f"{SERVICE}/StreamJobs",
            request_serializer=api.StreamJobsRequest.SerializeToString,
            response_deserializer=api.Job.FromString,
        )


@pytest.fixture(scope="session")
def original(tmp_path_factory: pytest.TempPathFactory) -> OriginalApi:
    out = tmp_path_factory.mktemp("original") / "original.pb"
    include = importlib.resources.files("grpc_tools") / "_proto"
    code = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{TESTS / 'fixtures'}",
            f"-I{include}",
            f"--descriptor_set_out={out}",
            "original_controller.proto",
        ]
    )
    assert code == 0
    pool = descriptor_pool.DescriptorPool()
    for file in descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file:
        pool.Add(file)
    return OriginalApi(pool)


# --- a running controller ------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("controller-template") / "store.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), tmp_path / "store.db")
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("migrated_postgres")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"TRUNCATE {_contract.TABLES} RESTART IDENTITY CASCADE")
    return url


@dataclasses.dataclass
class Controller:
    running: main.RunningController
    target: str
    media: Path
    tokens: dict[Role, str]

    def metadata(self, role: Role | None) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.tokens[role]}"),) if role else ()

    def channel(self) -> grpc.aio.Channel:
        return grpc.aio.insecure_channel(self.target)


MAX_MESSAGE_BYTES = 64 * 1024


@pytest.fixture
async def controller(store_url: str, tmp_path: Path) -> AsyncIterator[Controller]:
    media = tmp_path / "media"
    media.mkdir()
    for name in ("ref.y4m", "dis.y4m"):
        (media / name).write_bytes(b"")
    settings = controller_settings(
        flags={
            "grpc_listen": "127.0.0.1:0",
            "http_listen": "127.0.0.1:0",
            "store_url": store_url,
            "scoring_roots": [str(media)],
            "max_message_bytes": MAX_MESSAGE_BYTES,
        },
        env={},
    )
    running = await main.start(settings)
    tokens: dict[Role, str] = {}
    for role in Role:
        _, tokens[role] = await create_token(
            running.store, running.service.clock, role=role, tenant="acme", name=str(role)
        )
    try:
        yield Controller(running, f"127.0.0.1:{running.grpc.port}", media, tokens)
    finally:
        await running.stop(1.0)
