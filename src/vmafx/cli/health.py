"""`vmafx health FILE…` (here) and `vmafx jobs submit health FILE` (on the farm): decode every
frame, list decode errors with their times (`vmafx.media.health`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from vmafx.cli import jobspecs
from vmafx.cli.jobs import GPU_VENDOR, LABELS, NO_CHECK, PRIORITY, QUEUE, WATCH, _submit
from vmafx.cli.jobspecs import Placement
from vmafx.cli.remote import CA, CONTROLLER, FORMAT, TOKEN, TOKEN_FILE, Format, Remote
from vmafx.core import specs
from vmafx.core.messages import JobRequest

HELP = """Decode every frame of each FILE and report decode errors with their timestamps.

A "thorough health check" (Tdarr's term): every packet of the video stream and of each audio
stream goes through the decoder; each error is pinned to its frame number and time, and frames
decoded are compared with frames expected (a truncated file misses some). Exit code 0 when
every file is healthy, 1 when one is not.

    vmafx health /media/master.mov

    vmafx health /media/*.mkv --format json

On a farm: `vmafx jobs submit health /media/master.mov --watch`.
"""

MAX_ERRORS = typer.Option(100, "--max-errors", min=1, max=10000, help="Errors listed per file.")
#: Errors printed per file in the table view (JSON has them all, up to --max-errors).
SHOWN = 10


def health(
    files: list[Path] = typer.Argument(..., help="Video files to check."),
    max_errors: int = MAX_ERRORS,
    fmt: Format = FORMAT,
) -> None:
    from vmafx.media.health import check_health  # noqa: PLC0415 (PyAV only when used)

    console = Console(highlight=False, soft_wrap=True)
    healthy = True
    for path in files:
        report = check_health(str(path), max_errors=max_errors)
        healthy = healthy and report.ok
        if fmt is Format.json:
            sys.stdout.write(json.dumps(report.to_json()) + "\n")
            continue
        mark = "[green]ok[/]" if report.ok else "[red]BROKEN[/]"
        console.print(f"{mark}  {escape(str(path))}  {escape(report.summary())}")
        for error in report.errors[:SHOWN]:
            console.print(f"    {escape(_where(error.frame, error.time_s, error.stream))}  "
                          f"{escape(error.message)}")  # fmt: skip
        if report.error_count > SHOWN:
            console.print(f"    … {report.error_count - SHOWN} more (--format json lists them)")
    if not healthy:
        raise typer.Exit(1)


def _where(frame: int | None, time_s: float | None, stream: str) -> str:
    bits = [stream]
    if time_s is not None:
        bits.append(f"{time_s:.3f} s")
    if frame is not None:
        bits.append(f"frame {frame}")
    return " · ".join(bits)


def health_request(
    source: str, *, max_errors: int, placement: Placement, check_inputs: bool
) -> JobRequest:
    spec = specs.HealthSpec(source=jobspecs.absolute(source), max_errors=max_errors)
    if check_inputs:
        jobspecs.check_exists("source", spec.source)
    return JobRequest(
        spec=spec,
        queue=placement.queue,
        priority=placement.priority,
        requirements=placement.requirements(),
    )


def submit_health(
    source: str = typer.Argument(..., help="The video to check (a path the nodes can read)."),
    max_errors: int = MAX_ERRORS,
    queue: str | None = QUEUE,
    priority: int = PRIORITY,
    require_label: list[str] = LABELS,
    gpu_vendor: str | None = GPU_VENDOR,
    no_check_inputs: bool = NO_CHECK,
    watch: bool = WATCH,
    controller: str = CONTROLLER,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    ca: Path | None = CA,
    fmt: Format = FORMAT,
) -> None:
    """Health-check SOURCE on the farm: decode every frame, list errors with their times."""
    placement = Placement(
        queue=queue, priority=priority, labels=require_label, gpu_vendor=gpu_vendor
    )
    request = health_request(
        source, max_errors=max_errors, placement=placement, check_inputs=not no_check_inputs
    )
    _submit(Remote.of(controller, token, token_file, ca), request, fmt, watch)
