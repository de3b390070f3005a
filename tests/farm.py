"""A real controller for tests that drive it from outside its event loop, and a fake node.

`Farm` starts the controller through its composition root (`vmafx.controller.main.start`: gRPC
and HTTP on ephemeral loopback ports, SQLite in a temporary folder) on an event loop of its own
in a background thread, so a test can run CLI commands (which call `asyncio.run`) or a browser
against it; its `models` folder is the controller's `--model-dir` (empty until a test calls
`publish_models`). `FakeNode` is a node as the controller sees one, driven step by step through a real
`GrpcControllerClient`: register (host `zampp2`, one NVIDIA L4), claim, report progress,
complete with a score result, fail.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import math
import shutil
import threading
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from vmafx.ai.figures import Figures
from vmafx.ai.registry import ModelStatus, ModelVersion, Registry, write_registry
from vmafx.client.grpc_client import GrpcControllerClient
from vmafx.controller import main
from vmafx.controller.auth import create_token
from vmafx.controller.settings import ControllerSettings
from vmafx.core.attempts import Attribution
from vmafx.core.frames import attach, pack
from vmafx.core.messages import Claim, NodeRegistration, NodeReport, RunningJob
from vmafx.core.nodes import GpuInfo, NodeCapabilities
from vmafx.core.tokens import Role
from vmafx.store.sql import upgrade

T = TypeVar("T")
WAIT_S = 10.0
L4 = GpuInfo(vendor="nvidia", name="L4", uuid="GPU-6f1c2a3b", index=0, memory_mb=23034)
MEDIA_FILES = ("ref.mp4", "dis.mp4", "crf28.mp4", "master.mov")


#: Why `publish_models` quarantines version 3.
QUARANTINE_REASON = "PLCC 0.9100 is 0.0500 below v2's 0.9600 (allowed drop 0.005)"


def publish_models(folder: Path) -> Registry:
    """A registry as the trainer writes it: v1 and v2 active, v3 quarantined, v4 a candidate."""

    def version(v: int, status: ModelStatus, plcc: float, reason: str = "") -> ModelVersion:
        figures = Figures(plcc=plcc, srocc=plcc - 0.01, rmse=10 * (1 - plcc), n=120)
        return ModelVersion(
            version=v,
            file=f"model_v{v:06d}.onnx",
            sha256=f"{v:064x}",
            status=status,
            created_at=f"2026-01-0{v}T12:00:00+00:00",
            step=100 * v,
            samples=1600 * v,
            figures=None if status is ModelStatus.candidate else figures,
            reason=reason,
        )

    registry = Registry(
        versions=(
            version(1, ModelStatus.active, 0.93),
            version(2, ModelStatus.active, 0.96),
            version(3, ModelStatus.quarantined, 0.91, QUARANTINE_REASON),
            version(4, ModelStatus.candidate, 0.0, "3 held-out samples; 20 needed to judge"),
        ),
        feature_schema="vmafx-features-v1",
        n_features=80,
        updated_at="2026-01-04T12:00:00+00:00",
    )
    write_registry(folder, registry)
    return registry


def migrated_template(folder: Path) -> Path:
    """A migrated SQLite file to copy for each farm (migrating takes longer than starting)."""
    path = folder / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


class Farm:
    """A controller in a thread: `grpc_target`, `http_url`, `media` (its scoring root)."""

    def __init__(
        self,
        folder: Path,
        template: Path,
        *,
        auth_disabled: bool = True,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.media = folder / "media"
        self.media.mkdir(parents=True)
        self.models = folder / "models"
        for name in MEDIA_FILES:
            (self.media / name).write_bytes(b"")
        shutil.copy(template, folder / "controller.db")
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="farm", daemon=True)
        self.thread.start()
        config = ControllerSettings(
            grpc_listen="127.0.0.1:0",
            http_listen="127.0.0.1:0",
            store_url=f"sqlite:///{folder / 'controller.db'}",
            scoring_roots=(str(self.media),),
            auth_disabled=auth_disabled,
            model_dir=self.models,
            sweep_interval_s=0.2,
            pending_refresh_s=0.2,
            # Fake nodes heartbeat only when a test says so: sessions and leases outlast a run.
            session_ttl_s=3600,
            lease_ttl_s=3600,
        )
        if settings:  # e.g. the production sweep periods, for a farm holding 100,000 jobs
            config = dataclasses.replace(config, **settings)
        self.running = self.run(main.start(config))
        self.grpc_target = f"127.0.0.1:{self.running.grpc.port}"
        http = self.running.http
        assert http is not None
        self.http_url = f"http://127.0.0.1:{http.server.servers[0].sockets[0].getsockname()[1]}"

    def run(self, work: Coroutine[Any, Any, T], timeout: float = WAIT_S) -> T:
        """Run `work` on the farm's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    def start(self, work: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run `work` on the farm's loop in the background."""
        return asyncio.run_coroutine_threadsafe(work, self.loop)

    def token(self, role: Role, tenant: str = "acme") -> str:
        clock = self.running.service.clock
        _, secret = self.run(create_token(self.running.store, clock, role=role, tenant=tenant))
        return secret

    def path(self, name: str) -> str:
        return str(self.media / name)

    def node(self, name: str = "zampp2-l4", **caps: Any) -> FakeNode:
        return self.run(FakeNode.create(self, name, **caps))

    def close(self) -> None:
        self.run(self.running.stop(1.0))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(WAIT_S)
        self.loop.close()


def score_result(reference: str, distorted: Sequence[str], frames: int) -> dict[str, Any]:
    """A score job's result as a node reports it: pooled metrics and a per-frame series."""
    results = []
    for index, path in enumerate(distorted):
        series = [round(88 - 6 * index + 6 * math.sin(i / 4), 4) for i in range(frames)]
        pooled = {
            "mean": sum(series) / frames,
            "harmonic_mean": sum(series) / frames - 0.1,
            "min": min(series),
            "max": max(series),
            "p5": min(series) + 0.5,
            "p95": max(series) - 0.5,
        }
        results.append(
            {
                "distorted": path,
                "frame_count": frames,
                "scored_frames": frames,
                "pooled": {"vmaf": pooled},
                "series": {"frame_nums": list(range(frames)), "vmaf": series},
            }
        )
    return {"reference": reference, "results": results, "versions": {"libvmaf": "3.0.0"}}


def ship_frames(result: dict[str, Any], frames_n: int) -> dict[str, Any]:
    """`result` with each input's full per-frame series shipped as a real node ships them
    (`vmafx.core.frames`): the model under its name, ffmpeg's `psnr_y`, a libvmaf feature."""
    shipped: dict[int, bytes] = {}
    items = result.get("results") or [result["score_after"]]
    for index, item in enumerate(items):
        vmaf = [round(90 - 5 * math.cos(i / 3) - index, 6) for i in range(frames_n)]
        body = {
            "distorted": item.get("distorted", "output"),
            "frame_nums": list(range(frames_n)),
            "series": {
                "integer_adm2": [round(0.9 + i / 10_000, 6) for i in range(frames_n)],
                "vmaf_v0.6.1": vmaf,
                "psnr_y": [round(40 + i / 100, 6) for i in range(frames_n)],
            },
        }
        item["pooled"] = {"vmaf_v0.6.1": {"mean": sum(vmaf) / frames_n}, "psnr_y": {"mean": 40.0}}
        item["per_frame"] = {"frames": frames_n, "path": f"/node/results/frames-{index}.json.gz"}
        shipped[index] = pack(body)
    attach(result, shipped)
    return result


class FakeNode:
    """A node the test moves step by step; `queues` limits what it claims."""

    def __init__(self, client: GrpcControllerClient, session: NodeRegistration) -> None:
        self.client = client
        self.session = session

    @classmethod
    async def create(
        cls, farm: Farm, name: str, *, token: str | None = None, **caps: Any
    ) -> FakeNode:
        caps.setdefault("host", "zampp2")
        caps.setdefault("gpu_vendor", "nvidia")
        caps.setdefault("gpus", (L4,))
        caps.setdefault("encoders", ("libx264", "h264_nvenc", "hevc_nvenc"))
        caps.setdefault("backends", ("cpu", "cuda"))
        caps.setdefault("slots", 4)
        client = GrpcControllerClient(farm.grpc_target, token=token)
        session = await client.register_node(name, NodeCapabilities(**caps))
        return cls(client, session)

    async def claim(self, queue: str) -> Claim:
        claim = await self.client.pull_work(self.session, queues=[queue], wait_s=5)
        assert claim is not None, f"nothing to claim in queue {queue}"
        return claim

    async def progress(self, claim: Claim, fraction: float) -> None:
        running = RunningJob(
            job_id=claim.job.id, attempt=claim.job.attempt, progress=fraction, fps=48.0, eta_s=12.0
        )
        answer = await self.client.heartbeat(self.session, running=[running])
        assert answer.ok

    async def beat(self, claim: Claim, **progress: Any) -> None:
        """A heartbeat naming the claimed job with `progress` (RunningJob's fields)."""
        running = RunningJob(job_id=claim.job.id, attempt=claim.job.attempt, **progress)
        answer = await self.client.heartbeat(self.session, running=[running])
        assert answer.ok

    async def complete(self, claim: Claim, frames: int = 48, *, shipped: bool = False) -> None:
        spec = claim.job.spec
        result = score_result(spec["reference"], spec["distorted"], frames)
        report = NodeReport(
            job_id=claim.job.id,
            attempt=claim.job.attempt,
            result=ship_frames(result, frames) if shipped else result,
            attribution=Attribution(gpu=L4),
        )
        assert await self.client.report_result(self.session, report) == ""

    async def complete_with(self, claim: Claim, result: dict[str, Any]) -> None:
        """Complete the claimed job with `result` as its node's JSON."""
        report = NodeReport(job_id=claim.job.id, attempt=claim.job.attempt, result=result)
        assert await self.client.report_result(self.session, report) == ""

    async def fail(self, claim: Claim, error: str) -> None:
        report = NodeReport(job_id=claim.job.id, attempt=claim.job.attempt, error=error)
        assert await self.client.report_result(self.session, report) == ""

    async def close(self) -> None:
        await self.client.close()
