"""`vmafx score REFERENCE DISTORTED...`: the composition root for local scoring."""

from __future__ import annotations

import enum
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from vmafx.cli import output
from vmafx.config import ffmpeg_settings
from vmafx.core.media import RawFormat, parse_fps
from vmafx.core.scores import ScoreReport
from vmafx.errors import UsageError
from vmafx.media.ffmpeg import ffmpeg_info
from vmafx.media.graph import ScoreOptions
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


class Sync(enum.StrEnum):
    none = "none"
    shortest = "shortest"
    fps = "fps"


def _raw_format(width: int | None, height: int | None, pix_fmt: str, fps: str) -> RawFormat | None:
    if width is None and height is None:
        return None
    if width is None or height is None:
        raise UsageError(
            "Raw YUV needs both --width and --height.",
            hint="Give both, e.g. --width 1920 --height 1080.",
        )
    return RawFormat(width, height, pix_fmt, parse_fps(fps))


def score(
    reference: str = typer.Argument(..., help="The reference (original) video."),
    distorted: list[str] = typer.Argument(..., help="One or more distorted (encoded) videos."),
    model: list[str] = typer.Option(
        ["vmaf_v0.6.1"],
        "--model",
        "-m",
        help="libvmaf model: a built-in version (vmaf_v0.6.1, vmaf_v0.6.1neg, vmaf_4k_v0.6.1, "
        "vmaf_v1.0.16_3d0h) or a model JSON file. Repeat for several.",
    ),
    feature: list[str] = typer.Option(
        [],
        "--feature",
        "-f",
        help="Extra libvmaf metric by feature name: psnr, float_psnr, float_ssim, float_ms_ssim, "
        "ciede, cambi, psnr_hvs. Repeat for several.",
    ),
    subsample: int = typer.Option(1, min=1, help="Score every Nth frame (2 is ~1.8x faster)."),
    threads: int = typer.Option(
        0, min=0, help="libvmaf threads; 0 = every core this process may use."
    ),
    width: int | None = typer.Option(None, min=1, help="Width of raw .yuv inputs."),
    height: int | None = typer.Option(None, min=1, help="Height of raw .yuv inputs."),
    pix_fmt: str = typer.Option(
        "yuv420p", help="Pixel format of raw .yuv inputs (yuv420p10le, ...)."
    ),
    fps: str = typer.Option("24", help="Frame rate of raw .yuv inputs (24, 30000/1001, ...)."),
    no_scale: bool = typer.Option(
        False, "--no-scale", help="Refuse inputs of different sizes instead of scaling."
    ),
    sync: Sync = typer.Option(
        Sync.none,
        help="shortest: score only the frames both have; fps: convert the distorted "
        "frame rate to the reference's, then score the frames both have.",
    ),
    no_features: bool = typer.Option(False, "--no-features", help="Skip feature vector v1."),
    per_frame: Path | None = typer.Option(
        None, "--per-frame", help="Write every per-frame value to this CSV."
    ),
    fmt: Format = typer.Option(Format.table, "--format", help="Output: table, json or csv."),
    timeout: float | None = typer.Option(None, min=1, help="Stop ffmpeg after this many seconds."),
) -> None:
    raw = _raw_format(width, height, pix_fmt, fps)
    options = ScoreOptions(
        models=tuple(model),
        features=tuple(dict.fromkeys(feature)),
        subsample=subsample,
        threads=threads or default_threads(),
        scale=not no_scale,
        sync_fps=sync is Sync.fps,
        feature_vector=not no_features,
    )
    request = ScoreRequest(
        reference,
        tuple(distorted),
        options,
        raw=raw,
        shortest=sync is Sync.shortest,
        timeout_s=timeout,
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
