"""`vmafx demo`: short clips → a per-title ladder per clip, built by the farm's tuner (a `tune`
job in ladder mode: its probes are encode jobs with score-after on the nodes) → a table."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vmafx.cli.farm import FarmSettings, LocalFarm, free_port
from vmafx.cli.remote import CONTROLLER, Remote
from vmafx.cli.tables import fit_notes
from vmafx.client.port import ControllerClient
from vmafx.core.jobs import Job, JobKind, JobState
from vmafx.core.messages import JobRequest
from vmafx.media.ffmpeg import locate

HELP = """Make a few short clips with ffmpeg and have the farm's tuner build a per-title ladder
for each (180p to 360p, x264 or hardware where a node has it): it measures a few CRFs per
resolution through encode jobs with VMAF scored after each (at the source's resolution), takes
the upper convex hull of bitrate and VMAF, and picks the rungs on it. Prints bitrate and VMAF
per rung. Uses the farm at --controller when one answers; otherwise starts one on this machine
for the run (like `vmafx up`) and stops it afterwards.
"""

#: (name, lavfi source) — a few kinds of content: synthetic, fractal detail, cellular motion.
CONTENT = (
    ("testsrc", "testsrc2=size=640x360:rate=24"),
    ("mandelbrot", "mandelbrot=size=640x360:rate=24"),
    (
        "life",
        "life=size=320x180:rate=24:mold=10:ratio=0.1:life_color=#8fd0ff,scale=640:360:flags=neighbor",
    ),
)
#: The ladder the tuner builds per clip: heights, CRFs measured per height, rungs picked.
HEIGHTS = ("360", "270", "180")
POINTS = 3
RUNGS = 3


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
    """One ladder tune job per clip; the rung encodes go in `out/<clip>/`."""
    from vmafx.cli.tune_farm import source_facts  # noqa: PLC0415

    out.mkdir(parents=True, exist_ok=True)
    requests = []
    for clip in clips:
        spec = {
            "source": str(clip),
            "output": str(out / clip.stem),
            "codec": "h264",
            "hw": "prefer",
            "mode": "ladder",
            "preset": "veryfast",
            "resolutions": list(HEIGHTS),
            "points": POINTS,
            "rungs": RUNGS,
            "min_crf": 20,
            "max_crf": 36,
            **source_facts(str(clip)),
        }
        requests.append(JobRequest.parse(kind=JobKind.TUNE, spec=spec))
    return requests


async def run_ladder(
    client: ControllerClient, requests: list[JobRequest], console: Console
) -> list[Job]:
    from vmafx.cli.tune_farm import follow_tune  # noqa: PLC0415

    batch = f"demo-{int(time.time())}"
    submitted = await client.submit_jobs(requests, batch_id=batch)
    final: list[Job] = []
    with console.status("the tuner is building the ladders…") as status:
        for index, item in enumerate(submitted, 1):
            name = Path(item.job.spec["source"]).stem

            def show(text: str, name: str = name, index: int = index) -> None:
                status.update(f"ladder {index}/{len(submitted)} ({name}): {text}")

            final.append(await follow_tune(client, item.job.id, show))
    return final


def _rows(job: Job) -> list[list[str]]:
    name = Path(job.spec["source"]).stem
    result: dict[str, Any] = dict(job.result or {})
    if job.state is not JobState.COMPLETED or not result.get("rungs"):
        return [[name, "-", "-", "-", "-", job.state.value, job.error or "no rungs"]]
    return [
        [
            name,
            f"{rung['width']}x{rung['height']}",
            f"{rung['crf']:g}",
            f"{rung['kbps']:.0f}",
            f"{rung['vmaf']:.2f}",
            result.get("encoder", ""),
            str(rung.get("node") or ""),
        ]
        for rung in sorted(result["rungs"], key=lambda r: r["kbps"])
    ]


def print_table(jobs: list[Job], console: Console) -> None:
    table = Table(
        title="per-title ladder (rungs on the convex hull, VMAF at the source's size)",
        header_style="bold",
    )
    # The last column: the node that encoded each rung; "note" (beside or under the table, as
    # `fit_notes` places notes) when a ladder failed and its row says why.
    failed = any(
        job.state is not JobState.COMPLETED or not (job.result or {}).get("rungs") for job in jobs
    )
    for name in ("clip", "size", "CRF", "kbit/s", "VMAF", "encoder", "note" if failed else "node"):
        table.add_column(name, justify="right" if name in ("CRF", "kbit/s", "VMAF") else "left")
    for job in jobs:
        for row in _rows(job):
            table.add_row(*(Text(cell) for cell in row))  # clip names as typed, not markup
    console.print(fit_notes(table))
    for job in jobs:
        result = job.result or {}
        if result.get("points"):
            console.print(
                Text(
                    f"{Path(job.spec['source']).stem}: {len(result['points'])} points measured, "
                    f"{len(result['hull'])} on the hull (tune job {job.id})"
                )
            )


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
