"""`vmafx score REFERENCE DISTORTED...`: the composition root for local scoring."""

from __future__ import annotations

import enum
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from vmafx.cli import options as opts
from vmafx.cli import output
from vmafx.cli.options import Sync
from vmafx.config import ffmpeg_settings
from vmafx.core.scores import ScoreReport
from vmafx.media.ffmpeg import ffmpeg_info
from vmafx.media.runner import SubprocessRunner
from vmafx.media.scorer import LibvmafScorer, ScoreRequest, default_threads

HELP = """Score one or more DISTORTED videos against a REFERENCE with the real libvmaf.

The reference comes first, as in libvmaf's own CLI. All metrics and all distorted inputs are
computed in ONE ffmpeg run: the reference is decoded once.

Examples:

    vmafx score ref.mp4 enc_crf23.mp4 enc_crf28.mp4

    vmafx score ref.y4m dis.mkv --model vmaf_v0.6.1 --model vmaf_v0.6.1neg --feature float_ssim

    vmafx score ref.yuv dis.yuv --width 1920 --height 1080 --pix-fmt yuv420p10le --fps 24

    vmafx score ref.mp4 dis.mp4 --format json --per-frame frames.csv

A distorted input of another size is scaled to the reference (bicubic) unless --no-scale;
inputs whose frame rates or frame counts differ are refused unless you pass --sync.
"""


class Format(enum.StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def score(
    reference: str = typer.Argument(..., help="The reference (original) video."),
    distorted: list[str] = typer.Argument(..., help="One or more distorted (encoded) videos."),
    model: list[str] = opts.MODEL,
    feature: list[str] = opts.FEATURE,
    subsample: int = opts.SUBSAMPLE,
    threads: int = typer.Option(
        0, min=0, help="libvmaf threads; 0 = every core this process may use."
    ),
    width: int | None = opts.WIDTH,
    height: int | None = opts.HEIGHT,
    pix_fmt: str = opts.PIX_FMT,
    fps: str = opts.FPS,
    no_scale: bool = opts.NO_SCALE,
    sync: Sync = opts.SYNC,
    no_features: bool = opts.NO_FEATURES,
    per_frame: Path | None = typer.Option(
        None, "--per-frame", help="Write every per-frame value to this CSV."
    ),
    fmt: Format = typer.Option(Format.table, "--format", help="Output: table, json or csv."),
    timeout: float | None = opts.TIMEOUT,
    no_swap_check: bool = opts.NO_SWAP_CHECK,
) -> None:
    raw = opts.raw_format(width, height, pix_fmt, fps)
    threads = threads or default_threads()
    options = opts.score_options(model, feature, subsample, threads, no_scale, sync, no_features)
    request = ScoreRequest(
        reference,
        tuple(distorted),
        options,
        raw=raw,
        shortest=sync is Sync.shortest,
        timeout_s=timeout,
        swap_check=not no_swap_check,
    )
    settings = ffmpeg_settings()
    scorer = LibvmafScorer(ffmpeg_info(settings.path), SubprocessRunner())
    report = _score_with_progress(scorer, request)
    if per_frame is not None:
        output.write_per_frame(report, per_frame)
    if fmt is Format.json:
        sys.stdout.write(output.to_json(report) + "\n")
    elif fmt is Format.csv:
        sys.stdout.write(output.to_csv(report))
        for line in output.warning_lines(report):
            sys.stderr.write(line + "\n")
    else:
        output.print_table(report, Console())


def _score_with_progress(scorer: LibvmafScorer, request: ScoreRequest) -> ScoreReport:
    """Show a progress bar on stderr once scoring has taken more than a second."""
    console = Console(stderr=True)
    started = time.monotonic()
    with Progress(
        TextColumn("scoring"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} frames"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        auto_refresh=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task("score", total=None, visible=False)

        def on_progress(done: int, total: int) -> None:
            visible = time.monotonic() - started > 1.0
            bar.update(task, completed=done, total=total or None, visible=visible)

        return scorer.score(request, on_progress=on_progress)
