"""The farm's cost and its scaling: short score jobs through a real controller and nodes.

    python benchmarks/farm.py [--jobs 200] [--seconds 2] [--size 640x360]

(a) direct: the same jobs scored one after another in this process with `LibvmafScorer`, the
    engine the node runs, built from the very request the node builds (1 libvmaf thread each);
(b) farm, 1 node: `vmafx controller` (SQLite, auth off) + one `vmafx node` with one slot, all
    jobs submitted in one batch, timed from the submission to the last completion;
(c) farm, 2 nodes: the same with two single-slot nodes.

Overhead per job = ((b) − (a)) / jobs; target ≤ 5% of a job or ≤ 50 ms, whichever is larger.
Scaling efficiency = ((b) / (c)) / 2. The nodes write every per-frame series to their results
folder, as in production. Clips are generated into benchmarks/.work/; the controller's store and
the nodes' state live in a temporary folder. Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import imageio_ffmpeg

from vmafx.client.grpc_client import GrpcControllerClient
from vmafx.core.jobs import Job, JobKind, JobState
from vmafx.core.messages import JobFilter, JobRequest
from vmafx.media.ffmpeg import ffmpeg_info
from vmafx.media.runner import SubprocessRunner
from vmafx.media.scorer import LibvmafScorer
from vmafx.node.handlers.score import score_request

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
WORK = Path(__file__).resolve().parent / ".work"
CRFS = (24, 30, 36, 42)


def ff(*args: str) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_clips(seconds: int, size: str) -> tuple[Path, list[Path]]:
    WORK.mkdir(exist_ok=True)
    tag = f"{size}_{seconds}s"
    ref = WORK / f"farm_ref_{tag}.mp4"
    if not ref.exists():
        src = f"testsrc2=size={size}:rate=24:duration={seconds},noise=alls=8:allf=t"
        ff(
            "-f",
            "lavfi",
            "-i",
            src,
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "14",
            str(ref),
        )
    distorted = []
    for crf in CRFS:
        dis = WORK / f"farm_dis_{tag}_crf{crf}.mp4"
        if not dis.exists():
            ff("-i", str(ref), "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), str(dis))
        distorted.append(dis)
    return ref, distorted


def specs(ref: Path, distorted: list[Path], jobs: int) -> list[dict[str, object]]:
    return [
        {"reference": str(ref), "distorted": [str(distorted[i % len(distorted)])], "threads": 1}
        for i in range(jobs)
    ]


def direct(job_specs: list[dict[str, object]]) -> float:
    """Wall time of scoring every job here, one after another."""
    scorer = LibvmafScorer(ffmpeg_info(), SubprocessRunner())
    start = time.perf_counter()
    for spec in job_specs:
        scorer.score(score_request(spec))
    return time.perf_counter() - start


class Processes:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.procs: list[subprocess.Popen[bytes]] = []
        self.env = {**os.environ, "XDG_STATE_HOME": str(folder / "state"), "PYTHONUNBUFFERED": "1"}

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Path:
        out = self.folder / f"{name}.out"
        with out.open("wb") as stdout, (self.folder / f"{name}.err").open("wb") as stderr:
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "vmafx", *args],
                    stdout=stdout,
                    stderr=stderr,
                    env={**self.env, **(env or {})},
                    start_new_session=True,
                )
            )
        return out

    def stop(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def wait_line(path: Path, pattern: str, timeout_s: float = 60) -> re.Match[str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = re.search(pattern, path.read_text(errors="replace"))
        if found:
            return found
        time.sleep(0.05)
    raise SystemExit(f"{path.name} never printed {pattern!r}")


@dataclasses.dataclass(frozen=True)
class Run:
    """A farm run: wall time, and per job the time on a node and inside ffmpeg."""

    wall_s: float
    on_node_s: float
    ffmpeg_s: float


async def farm(job_specs: list[dict[str, object]], nodes: int, media: Path) -> Run:
    """Wall time of the jobs through a controller and `nodes` single-slot nodes."""
    with tempfile.TemporaryDirectory(prefix="vmafx-farm-bench-") as tmp:
        procs = Processes(Path(tmp))
        try:
            out = procs.start("controller", [
                "controller", "--grpc-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
                "--store", f"sqlite:///{tmp}/controller.db", "--auth-disabled",
                "--scoring-root", str(media),
            ])  # fmt: skip
            port = wait_line(out, r"gRPC on 127\.0\.0\.1:(\d+)").group(1)
            target = f"127.0.0.1:{port}"
            client = GrpcControllerClient(target, timeout_s=60)
            try:
                return await _run(client, procs, target, job_specs, nodes)
            finally:
                await client.close()
        finally:
            procs.stop()


async def _run(
    client: GrpcControllerClient,
    procs: Processes,
    target: str,
    job_specs: list[dict[str, object]],
    nodes: int,
) -> Run:
    for index in range(nodes):
        procs.start(f"node{index}", [
            "node", "--controller", target, "--name", f"bench-{index}", "--queues", "score",
            "--slots", "1", "--http-listen", "",
        ], {"VMAFX_NODE_ENCODERS": "libx264"})  # fmt: skip
    while len(await client.list_nodes()) < nodes:
        await asyncio.sleep(0.1)
    requests = [JobRequest.parse(kind=JobKind.SCORE, spec=spec) for spec in job_specs]
    start = time.perf_counter()
    batch = uuid.uuid4().hex
    await client.submit_jobs(requests, batch_id=batch)
    ended = JobFilter(batch_id=batch, states=(JobState.COMPLETED, JobState.FAILED))
    while True:
        done = await _count(client, ended)
        if done >= len(requests):
            elapsed = time.perf_counter() - start
            break
        await asyncio.sleep(0.1)
    jobs = await _jobs(client, JobFilter(batch_id=batch))
    failed = [job for job in jobs if job.state is not JobState.COMPLETED]
    if failed:
        raise SystemExit(f"{len(failed)} jobs failed; see the node logs in {procs.folder}")
    on_node = [(job.finished_at - job.started_at).total_seconds() for job in jobs]  # type: ignore[operator]
    scoring = [float(job.result["elapsed_s"]) for job in jobs if job.result]
    return Run(elapsed, statistics.mean(on_node), statistics.mean(scoring))


async def _count(client: GrpcControllerClient, where: JobFilter) -> int:
    return len(await _jobs(client, where))


async def _jobs(client: GrpcControllerClient, where: JobFilter) -> list[Job]:
    found: list[Job] = []
    cursor = None
    while True:
        page = await client.list_jobs(where, limit=1000, cursor=cursor)
        found += page.jobs
        cursor = page.next_cursor
        if not cursor:
            return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=2)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--rounds", type=int, default=1, help="(a), (b), (c) again; medians")
    args = parser.parse_args()
    ref, distorted = make_clips(args.seconds, args.size)
    job_specs = specs(ref, distorted, args.jobs)
    directs, ones, twos = [], [], []
    for _ in range(args.rounds):  # interleaved, so a noisy neighbour hurts every figure alike
        directs.append(direct(job_specs))
        ones.append(asyncio.run(farm(job_specs, 1, WORK)))
        twos.append(asyncio.run(farm(job_specs, 2, WORK)))
    report(args, statistics.median(directs), _median(ones), _median(twos))


def _median(runs: list[Run]) -> Run:
    return min(runs, key=lambda run: abs(run.wall_s - statistics.median(r.wall_s for r in runs)))


def report(args: argparse.Namespace, t_direct: float, one: Run, two: Run) -> None:
    n = args.jobs
    per_job = t_direct / n
    overhead = (one.wall_s - t_direct) / n
    target = max(0.05 * per_job, 0.050)
    speedup = one.wall_s / two.wall_s
    print(f"\n{n} score jobs, {args.size}, {args.seconds * 24} frames each, 1 libvmaf thread; "
          f"{os.cpu_count()} cores; median of {args.rounds} round(s)\n")  # fmt: skip
    print("| measurement | figure |")
    print("|---|---|")
    print(f"| (a) direct, one after another | {t_direct:.1f} s ({per_job * 1000:.0f} ms a job) |")
    for label, run in (("(b) farm, 1 node × 1 slot", one), ("(c) farm, 2 nodes × 1 slot", two)):
        print(
            f"| {label} | {run.wall_s:.1f} s ({run.wall_s / n * 1000:.0f} ms a job; on a node "
            f"{run.on_node_s * 1000:.0f} ms, of which ffmpeg {run.ffmpeg_s * 1000:.0f} ms) |"
        )
    print(
        f"| overhead per job, ((b) − (a)) / jobs | {overhead * 1000:.1f} ms "
        f"({overhead / per_job:.1%} of a job; target ≤ {target * 1000:.0f} ms) |"
    )
    print(f"| scaling, (b) / (c) | {speedup:.2f}× (efficiency {speedup / 2:.0%} of 2×) |")


if __name__ == "__main__":
    main()
