"""Real processes on loopback: `python -m vmafx controller` (SQLite in a temporary folder, auth
off, short leases) and `python -m vmafx node` processes with their own queues, labels and
declared GPUs, started through the CLI exactly as an operator would.

Every process runs in its own process group (its ffmpeg children with it) and is killed in
teardown; every wait is bounded. Ports are ephemeral: the controller and each node print the
address they bound. GPUs are fakes (a fake `nvidia-smi` on PATH printing a recorded output, or
VMAFX_NODE_FAKE_GPUS), and NVENC is declared without a trial (VMAFX_NODE_DECLARED_ENCODERS): on
this GPU-less machine it fails at encode time, which is how the fallback is exercised.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from vmafx.api.pb import controller_pb2 as pb
from vmafx.api.pb import controller_pb2_grpc as pb_grpc
from vmafx.client.grpc_client import GrpcControllerClient
from vmafx.media.ffmpeg import locate
from vmafx.media.runner import SubprocessRunner, check_returncode

TESTS = Path(__file__).resolve().parents[1]
MEDIA = TESTS / "fixtures" / "media"
GPU_SAMPLES = TESTS / "fixtures" / "gpu"
START_S = 45.0
#: Controller timings for tests: heartbeats twice a second, leases lost after 6 s (ten missed
#: heartbeats: a loaded 2-core CI machine must not lose a lease by accident).
CONTROLLER_ENV = {
    "VMAFX_CONTROLLER_HEARTBEAT_INTERVAL_S": "0.5",
    "VMAFX_CONTROLLER_LEASE_TTL_S": "6",
    "VMAFX_CONTROLLER_SWEEP_INTERVAL_S": "0.25",
    "VMAFX_CONTROLLER_BACKOFF_BASE_S": "0.2",
    "VMAFX_CONTROLLER_BACKOFF_MAX_S": "1",
    "VMAFX_CONTROLLER_PENDING_REFRESH_S": "0.5",
}


@dataclasses.dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text(errors="replace")

    def tail(self, lines: int = 40) -> str:
        text = self.stderr.read_text(errors="replace").splitlines()[-lines:]
        return f"--- {self.name} (exit {self.popen.poll()}) ---\n" + "\n".join(text)

    def signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def wait_for_line(self, pattern: str, timeout_s: float = START_S) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = re.search(pattern, self.output())
            if found:
                return found
            if self.popen.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{self.name} never printed {pattern!r}\n{self.tail()}")


class Farm:
    """The processes of one test, the media folder they share, and a client of the controller."""

    def __init__(self, tmp: Path, media: Path) -> None:
        self.tmp = tmp
        self.media = media
        self.procs: list[Proc] = []
        self.target = ""
        self.client: GrpcControllerClient | None = None
        self.state = tmp / "state"  # shared: nodes reuse one encoder-probe cache

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> Proc:
        out, err = self.tmp / f"{name}.out", self.tmp / f"{name}.err"
        full_env = {**os.environ, "XDG_STATE_HOME": str(self.state), "PYTHONUNBUFFERED": "1"}
        full_env.update(env)
        with out.open("wb") as stdout, err.open("wb") as stderr:
            popen = subprocess.Popen(
                [sys.executable, "-m", "vmafx", *args],
                stdout=stdout,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
                env=full_env,
                start_new_session=True,
            )
        proc = Proc(name, popen, out, err)
        self.procs.append(proc)
        return proc

    def start_controller(
        self,
        *,
        store: str | None = None,
        grpc_port: int = 0,
        name: str = "controller",
        env: dict[str, str] | None = None,
    ) -> Proc:
        """The controller on SQLite in the farm's folder unless `store` names another; a fixed
        `grpc_port` lets a restarted controller keep the address its nodes know."""
        store = store or f"sqlite:///{self.tmp / 'controller.db'}"
        args = ["controller", "--grpc-listen", f"127.0.0.1:{grpc_port}",
                "--http-listen", "127.0.0.1:0", "--store", store, "--auth-disabled",
                "--scoring-root", str(self.media)]  # fmt: skip
        proc = self._spawn(name, args, {**CONTROLLER_ENV, **(env or {})})
        port = proc.wait_for_line(r"gRPC on 127\.0\.0\.1:(\d+)").group(1)
        self.target = f"127.0.0.1:{port}"
        self.client = GrpcControllerClient(self.target, timeout_s=10)
        return proc

    def start_node(
        self,
        name: str,
        *,
        queues: str,
        labels: str = "",
        gpus: list[dict[str, Any]] | None = None,
        nvidia_smi_pin: str | None = None,
        declared: str = "",
        extra: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> Proc:
        more = env or {}
        env = {
            "VMAFX_CONTROLLER_ADDR": self.target,
            "VMAFX_NODE_QUEUES": queues,
            "VMAFX_NODE_LABELS": labels,
            "VMAFX_NODE_ENCODERS": "libx264",  # probe only what the tests use: start fast
            "VMAFX_NODE_DECLARED_ENCODERS": declared,
            "VMAFX_NODE_POLL_WAIT_S": "1",
            "VMAFX_NODE_RESULTS_DIR": str(self.tmp / f"results-{name}"),
            **more,
        }
        if gpus is not None:
            path = self.tmp / f"gpus-{name}.json"
            path.write_text(json.dumps(gpus))
            env["VMAFX_NODE_FAKE_GPUS"] = str(path)
        if nvidia_smi_pin is not None:
            env["PATH"] = f"{self.fake_nvidia_smi()}{os.pathsep}{os.environ['PATH']}"
            env["VMAFX_NODE_GPU"] = nvidia_smi_pin
        args = ["node", "--name", name, "--http-listen", "127.0.0.1:0", *(extra or [])]
        proc = self._spawn(name, args, env)
        proc.wait_for_line(rf"vmafx node {re.escape(name)}: ")
        return proc

    def fake_nvidia_smi(self) -> Path:
        folder = self.tmp / "bin"
        folder.mkdir(exist_ok=True)
        tool = folder / "nvidia-smi"
        tool.write_text(f"#!/bin/sh\nexec cat '{GPU_SAMPLES / 'nvidia-smi_p4_l4.csv'}'\n")
        tool.chmod(0o755)
        return folder

    def http_address(self, proc: Proc) -> str:
        return proc.wait_for_line(r"http (127\.0\.0\.1:\d+);").group(1)

    async def wait_for(
        self, probe: Callable[[], Any], what: str, timeout_s: float = 60.0, every_s: float = 0.1
    ) -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = await probe()
            if value:
                return value
            await asyncio.sleep(every_s)
        logs = "\n".join(proc.tail() for proc in self.procs)
        raise AssertionError(f"timed out waiting for {what}\n{logs}")

    async def node_live(self, name: str) -> None:
        async def live() -> bool:
            assert self.client is not None
            return any(view.session.name == name for view in await self.client.list_nodes())

        await self.wait_for(live, f"node {name} to register")

    async def raw_job(self, job_id: str) -> pb.Job:
        """GetJob as the wire gives it (with every attempt and its attribution)."""
        async with grpc.aio.insecure_channel(self.target) as channel:
            stub = pb_grpc.VmafxControllerStub(channel)
            return await stub.GetJob(pb.GetJobRequest(job_id=job_id), timeout=10)

    def kill_all(self) -> None:
        for proc in self.procs:
            proc.signal(signal.SIGKILL)
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=10)


@pytest.fixture
async def farm(tmp_path: Path, clips: dict[str, Path]) -> AsyncIterator[Farm]:
    media = tmp_path / "media"
    media.mkdir()
    for name, path in clips.items():  # not symlinks: they would resolve outside the root
        try:
            os.link(path, media / name)
        except OSError:
            shutil.copy(path, media / name)
    farm = Farm(tmp_path, media)
    try:
        yield farm
    finally:
        if farm.client is not None:
            await farm.client.close()
        farm.kill_all()


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny fixtures, plus a pair slow enough to kill a node in the middle of scoring it
    (1080p, 8 s: ~10 s of single-threaded libvmaf on this machine)."""
    folder = tmp_path_factory.mktemp("e2e-media")
    ffmpeg = locate()
    runner = SubprocessRunner()
    ref, dis = folder / "long_ref.mp4", folder / "long_dis.mp4"
    make = [ffmpeg, "-hide_banner", "-v", "error", "-y", "-f", "lavfi",
            "-i", "testsrc2=size=1920x1080:rate=24:duration=8",
            "-c:v", "libx264", "-preset", "ultrafast", "-crf", "14", str(ref)]  # fmt: skip
    check_returncode(runner.run(make, timeout_s=120), "making the long reference")
    worse = [ffmpeg, "-hide_banner", "-v", "error", "-y", "-i", str(ref),
             "-c:v", "libx264", "-preset", "ultrafast", "-crf", "36", str(dis)]  # fmt: skip
    check_returncode(runner.run(worse, timeout_s=120), "making the long distorted clip")
    return {
        "ref.y4m": MEDIA / "ref.y4m",
        "dis.mp4": MEDIA / "dis.mp4",
        "long_ref.mp4": ref,
        "long_dis.mp4": dis,
    }
