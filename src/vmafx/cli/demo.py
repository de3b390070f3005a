"""`vmafx demo`: short clips → an encode ladder with score-after through the farm → a table."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from vmafx.cli.farm import FarmSettings, LocalFarm, free_port
from vmafx.cli.remote import CONTROLLER, Remote
from vmafx.cli.tables import fit_notes
from vmafx.client.port import ControllerClient
from vmafx.core.jobs import Job, JobKind, JobState
from vmafx.core.messages import JobFilter, JobRequest
from vmafx.media.ffmpeg import locate

HELP = """Make a few short clips with ffmpeg, encode each as a small ladder (240p to 720p, x264,
hardware first where a node has it) with VMAF scored after each encode, through the farm, and
print bitrate and VMAF per rung. Uses the farm at --controller when one answers; otherwise starts
one on this machine for the run (like `vmafx up`) and stops it afterwards.
"""

#: (name, lavfi source) — a few kinds of content: synthetic, fractal detail, cellular motion.
CONTENT = (
    ("testsrc", "testsrc2=size=1280x720:rate=24"),
    ("mandelbrot", "mandelbrot=size=1280x720:rate=24"),
    (
        "life",
        "life=size=320x180:rate=24:mold=10:ratio=0.1:life_color=#8fd0ff,scale=1280:720:flags=neighbor",
    ),
)
#: (width, height, CRF) per rung.
RUNGS = ((426, 240, 30), (640, 360, 27), (960, 540, 25), (1280, 720, 23))


def make_clips(folder: Path, count: int, seconds: float) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    ffmpeg = locate()
    clips = []
    for name, source in CONTENT[:count]:
        clip = folder / f"{name}.mp4"
        if not clip.exists():
            subprocess.run(
                [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", source,
                 "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-crf", "12",
                 "-pix_fmt", "yuv420p", str(clip)],
                check=True,
            )  # fmt: skip
        clips.append(clip)
    return clips


def ladder(clips: list[Path], out: Path) -> list[JobRequest]:
    out.mkdir(parents=True, exist_ok=True)
    requests = []
    for clip in clips:
        for width, height, crf in RUNGS:
            spec = {
                "source": str(clip),
                "output": str(out / f"{clip.stem}_{height}p_crf{crf}.mp4"),
                "codec": "h264",
                "hw": "prefer",
                "rate_control": {"mode": "crf", "value": crf},
                "preset": "veryfast",
                "resolution": {"width": width, "height": height},
                "audio": "none",
                "score_after": True,
            }
            requests.append(JobRequest.parse(kind=JobKind.ENCODE, spec=spec))
    return requests


async def run_ladder(
    client: ControllerClient, requests: list[JobRequest], console: Console
) -> list[Job]:
    batch = f"demo-{int(time.time())}"
    submitted = await client.submit_jobs(requests, batch_id=batch)
    ids = {s.job.id for s in submitted}
    final: dict[str, Job] = {}
    columns = (TextColumn("encode + score"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("ladder", total=len(ids))
        async for job in client.watch_jobs(JobFilter(batch_id=batch)):
            if job.id in ids and job.state.is_terminal and job.id not in final:
                final[job.id] = job
                bar.update(task, completed=len(final))
            if len(final) == len(ids):
                break
    order = [s.job.id for s in submitted]
    return [final[i] for i in order]


def _row(job: Job) -> list[str]:
    spec: dict[str, Any] = dict(job.spec)
    size = spec.get("resolution", {})
    result: dict[str, Any] = dict(job.result or {})
    after = result.get("score_after") or {}
    vmaf = after.get("vmaf")
    where = "fell back" if result.get("fallback") else result.get("encoder", "")
    return [
        Path(spec["source"]).stem,
        f"{size.get('width')}x{size.get('height')}",
        f"{spec['rate_control']['value']:g}",
        f"{result['bitrate_kbps']:.0f}" if result.get("bitrate_kbps") else "-",
        f"{vmaf:.2f}" if isinstance(vmaf, float) else "-",
        where if job.state is JobState.COMPLETED else job.state.value,
        job.error or after.get("error") or "",  # a note: beside or under the table, cut short
    ]


def print_table(jobs: list[Job], console: Console) -> None:
    table = Table(title="encode ladder: bitrate and VMAF per rung", header_style="bold")
    for name in ("clip", "size", "CRF", "kbit/s", "VMAF", "encoder", "note"):
        table.add_column(name, justify="right" if name in ("CRF", "kbit/s", "VMAF") else "left")
    for job in jobs:
        table.add_row(*(Text(cell) for cell in _row(job)))  # clip names as typed, not markup
    console.print(fit_notes(table))


def _answers(target: str) -> bool:
    """Does anything accept connections at HOST:PORT? (Checked before gRPC is loaded, so the
    farm's processes can be started without forking a process that runs gRPC threads.)"""
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except (OSError, ValueError):
        return False


def demo(
    controller: str = CONTROLLER,
    clips: int = typer.Option(
        2, min=1, max=len(CONTENT), help="How many clips (kinds of content)."
    ),
    seconds: float = typer.Option(3.0, min=0.5, max=30, help="Length of each clip."),
    folder: Path = typer.Option(Path("vmafx-demo"), help="Where clips and encodes go."),
) -> None:
    console = Console()
    folder = folder.resolve()
    with console.status("making clips with ffmpeg…"):
        sources = make_clips(folder / "sources", clips, seconds)
    requests = ladder(sources, folder / "encodes")
    remote = Remote.of(controller, None, None)
    farm: LocalFarm | None = None
    try:
        if not _answers(remote.target):
            console.print(f"no farm answered at {controller}; starting one here for the demo…")
            http = f"127.0.0.1:{free_port()}"
            node_port = free_port()
            farm = LocalFarm(
                FarmSettings(
                    grpc_listen=controller,
                    http_listen=http,
                    scoring_roots=(folder,),
                    node_http_base_port=node_port,
                )
            )
            with console.status("starting a controller and a node…"):
                farm.start()
        jobs = remote.call(lambda c: run_ladder(c, requests, console))
    finally:
        if farm is not None:
            farm.stop()
    print_table(jobs, console)
    console.print(Text(f"encodes are in {folder / 'encodes'}"))
