"""`vmafx tune crf|ladder`: the composition root of the local tuner.

Imports of the tuner, ffmpeg and the scorer happen inside the commands, so registering this app
costs `vmafx` nothing at start-up (and `vmafx score` never imports it).
"""

from __future__ import annotations

import enum
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from vmafx.errors import TargetUnreachableError, UsageError

if TYPE_CHECKING:
    from vmafx.tune.evaluator import Activity
    from vmafx.tune.session import TuneReport

app = typer.Typer(
    help="Find the cheapest encode that reaches a VMAF target, or a per-title ladder.",
    no_args_is_help=True,
)

CRF_HELP = """Find the highest CRF (CQ/QP for hardware encoders) whose VMAF over the whole SOURCE
is at least --target, with as few full encodes as possible.

Cheap probes come first (sample segments spread over the input, or for short inputs the whole
input scored on every n-th frame), then full encodes scored on every frame; the confirming full
encode is the deliverable (--out). Probe results are cached by content in the state folder:
running the same search again (or after Ctrl-C) encodes nothing it already measured.

    vmafx tune crf master.mp4 --target 93 --encoder libx265 --preset slow --out best.mkv
"""

LADDER_HELP = """Measure points per resolution (each scored after upscaling to the source's
resolution), take the upper convex hull of (log bitrate, VMAF) and pick rungs on it.

    vmafx tune ladder master.mp4 --encoder libx264 --resolutions 1080,720,540,360,240 \\
        --targets 95,90,85,75 --plot ladder.svg --hls out/
"""


class Format(enum.StrEnum):
    table = "table"
    json = "json"


def _target(value: float) -> float:
    if not 0 <= value <= 100:
        raise UsageError(
            f"target {value:g} is outside 0–100, the VMAF scale.",
            hint="Pick a target such as 93 (transparent for most viewers) or 85.",
        )
    return value


def _size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    match = re.fullmatch(r"(\d{2,5})x(\d{2,5})", text.strip())
    if not match:
        raise UsageError(f"--scale {text!r} is not WIDTHxHEIGHT.", hint="For example 1280x720.")
    return int(match.group(1)), int(match.group(2))


def _numbers(text: str, what: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise UsageError(f"{what} {text!r} must be numbers separated by commas.") from None
    if not values:
        raise UsageError(f"{what} is empty.")
    return values


class _Context:
    """ffmpeg, the runner, the state folder's cache and history, one source."""

    def __init__(self, source: str, encoder: str) -> None:
        from vmafx.config import ffmpeg_settings, state_dir  # noqa: PLC0415
        from vmafx.media.encoders import encoder_info, trial_argv  # noqa: PLC0415
        from vmafx.media.ffmpeg import ffmpeg_info  # noqa: PLC0415
        from vmafx.media.runner import SubprocessRunner  # noqa: PLC0415
        from vmafx.tune.cache import ProbeCache  # noqa: PLC0415
        from vmafx.tune.evaluator import open_source  # noqa: PLC0415
        from vmafx.tune.history import History  # noqa: PLC0415
        from vmafx.tune.plan import quality_scale  # noqa: PLC0415

        info = encoder_info(encoder)
        self.scale = quality_scale(info.family, info.codec)
        self.ffmpeg = ffmpeg_info(ffmpeg_settings().path)
        self.runner = SubprocessRunner()
        _check_encoder_works(self.runner.run(trial_argv(self.ffmpeg.path, encoder)), encoder)
        self.source = open_source(source)
        folder = state_dir() / "tune"
        self.folder = folder
        self.cache = ProbeCache(folder / "probes.jsonl")
        self.history = History(folder / "history.json")

    def evaluator(
        self,
        encoder: str,
        preset: str | None,
        metric: str,
        size: tuple[int, int] | None,
        on: Activity,
    ) -> Any:
        from vmafx.tune.evaluator import EvaluatorSettings, FfmpegEvaluator  # noqa: PLC0415

        return FfmpegEvaluator(
            ffmpeg=self.ffmpeg,
            runner=self.runner,
            source=self.source,
            settings=EvaluatorSettings(encoder, preset, metric, size),
            cache=self.cache,
            work=self.folder / "work",
            on_activity=on,
        )

    def interrupted(self) -> Exception:
        from vmafx.errors import RunInterruptedError  # noqa: PLC0415

        return RunInterruptedError(
            f"stopped; every probe measured so far is cached in {self.cache.path}.",
            hint="Run the same command again to continue: finished probes are not encoded again.",
        )


def _check_encoder_works(result: Any, encoder: str) -> None:
    if result.returncode == 0:
        return
    from vmafx.errors import FfmpegCapabilityError  # noqa: PLC0415

    raise FfmpegCapabilityError(
        f"encoder {encoder} does not work on this machine (a one-frame trial encode failed).",
        argv=result.argv,
        returncode=result.returncode,
        stderr_tail=result.tail(3),
        hint="Use a software encoder (libx264, libx265, libsvtav1, libaom-av1, libvpx-vp9), or "
        "run on a node that has this hardware.",
    )


def _progress() -> Any:
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def crf(
    source: str = typer.Argument(..., help="The input to encode (the reference for VMAF)."),
    target: float = typer.Option(..., "--target", help="VMAF to reach (0–100).", callback=_target),
    encoder: str = typer.Option("libx264", "--encoder", help="ffmpeg encoder name."),
    preset: str | None = typer.Option(None, "--preset", help="Encoder preset."),
    metric: str = typer.Option("vmaf", "--metric", help="vmaf | vmaf_neg | vmaf_4k | p5."),
    crf_step: float = typer.Option(1.0, "--crf-step", min=0.01, help="Grid step of the answer."),
    tolerance: float = typer.Option(
        0.0, "--tolerance", min=0, help="Stop at VMAF in [target, target+T] without proving more."
    ),
    min_crf: float | None = typer.Option(None, "--min-crf", help="Lowest CRF (best quality)."),
    max_crf: float | None = typer.Option(None, "--max-crf", help="Highest CRF (smallest file)."),
    scale: str | None = typer.Option(
        None, "--scale", help="Encode at WxH (scored at the source's)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Write the chosen encode here."),
    fmt: Format = typer.Option(Format.table, "--format", help="table or json."),
) -> None:
    from vmafx.tune.plan import metric as check_metric  # noqa: PLC0415
    from vmafx.tune.search import SearchSettings  # noqa: PLC0415
    from vmafx.tune.session import TuneRequest, run_search  # noqa: PLC0415

    check_metric(metric)
    size = _size(scale)
    ctx = _Context(source, encoder)
    lo = ctx.scale.default_min if min_crf is None else min_crf
    hi = ctx.scale.default_max if max_crf is None else max_crf
    if not ctx.scale.lowest <= lo <= hi <= ctx.scale.highest:
        raise UsageError(
            f"--min-crf {lo:g} / --max-crf {hi:g} must satisfy "
            f"{ctx.scale.lowest} ≤ min ≤ max ≤ {ctx.scale.highest} for {encoder}.",
        )
    settings = SearchSettings(target=target, lo=lo, hi=hi, step=crf_step, tolerance=tolerance)
    request = TuneRequest(encoder, preset, metric, settings, out)
    with _progress() as bar:
        task = bar.add_task("starting", total=None)

        def on(activity: str) -> None:
            bar.update(task, description=activity)

        made: list[Any] = []

        def make(name: str) -> Any:
            made.append(ctx.evaluator(name, preset, metric, size, on))
            return made[-1]

        try:
            report = run_search(
                request, make, ctx.history, ctx.source.frames, lambda _: ctx.scale.parameter
            )
        except KeyboardInterrupt:
            raise ctx.interrupted() from None  # the kept encodes serve the re-run
        except TargetUnreachableError:
            for evaluator in made:
                evaluator.forget_encodes()
            raise
        for evaluator in made:
            same = evaluator.settings.encoder == report.encoder
            evaluator.forget_encodes(keep=report.result.crf if same else None)
    _print_crf(report, fmt)


def _print_crf(report: TuneReport, fmt: Format) -> None:
    data = report.as_dict()
    if fmt is Format.json:
        typer.echo(json.dumps(data, indent=2))
        return
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    console = Console(highlight=False)
    table = Table(title="probes")
    for column in (data["parameter"], "VMAF", "kind", "frames encoded", "frames scored", "s"):
        table.add_column(column, justify="right")
    for p in data["probes"]:
        table.add_row(
            f"{p['crf']:g}",
            f"{p['vmaf']:.2f}",
            p["kind"] + (" (cached)" if p["cached"] else ""),
            str(p["frames_encoded"]),
            str(p["frames_scored"]),
            f"{p['seconds']:.1f}",
        )
    console.print(table)
    if data["fallback"]:
        fb = data["fallback"]
        console.print(
            f"{fb['encoder']} failed mid-search ({fb['reason']}); fell back to {fb['to']}."
        )
    console.print(
        f"{data['encoder']} {data['parameter']} {data['crf']:g}: VMAF {data['vmaf']:.2f}, "
        f"{data['kbps']} kbit/s, {data['size_bytes']} bytes; {data['full_encodes']} full "
        f"encode(s), cost {data['cost']:.2f}× the input's frames ({data['reason']})."
        + (f" Written to {data['output']}." if data["output"] else "")
    )


def ladder(
    source: str = typer.Argument(..., help="The input (the reference for VMAF)."),
    encoder: str = typer.Option("libx264", "--encoder", help="ffmpeg encoder name."),
    preset: str | None = typer.Option(None, "--preset", help="Encoder preset."),
    resolutions: str = typer.Option("1080,720,540,360,240", "--resolutions", help="Heights."),
    rungs: int | None = typer.Option(None, "--rungs", min=1, max=20, help="Rungs to pick."),
    targets: str | None = typer.Option(None, "--targets", help="VMAF per rung, e.g. 95,90,85,75."),
    max_kbps: float | None = typer.Option(None, "--max-kbps", min=1, help="Top bitrate."),
    top_vmaf: float | None = typer.Option(None, "--top-vmaf", help="Spend no bits above this."),
    min_gap: str | None = typer.Option(None, "--min-gap", help="Between rungs: 1.5x or 6 (VMAF)."),
    points: int = typer.Option(6, "--points", min=2, max=30, help="CRFs measured per resolution."),
    min_crf: float | None = typer.Option(None, "--min-crf", help="Lowest CRF measured."),
    max_crf: float | None = typer.Option(None, "--max-crf", help="Highest CRF measured."),
    plot: Path | None = typer.Option(None, "--plot", help="Write the SVG plot (and a .png)."),
    hls: Path | None = typer.Option(None, "--hls", help="Write the rungs and a master playlist."),
    fmt: Format = typer.Option(Format.table, "--format", help="table or json."),
) -> None:
    from vmafx.tune import ladder as ladders  # noqa: PLC0415
    from vmafx.tune.hull import Gap  # noqa: PLC0415

    if rungs is not None and targets is not None:
        raise UsageError("--rungs and --targets both pick rungs; give one of them.")
    target_values = tuple(_target(t) for t in _numbers(targets, "--targets")) if targets else ()
    if top_vmaf is not None:
        _target(top_vmaf)
    heights = tuple(int(h) for h in _numbers(resolutions, "--resolutions"))
    try:
        gap = Gap.parse(min_gap) if min_gap else None
    except ValueError as error:
        raise UsageError(f"--min-gap {min_gap!r}: {error}.") from None
    ctx = _Context(source, encoder)
    lo = ctx.scale.default_min + 8 if min_crf is None else min_crf
    hi = ctx.scale.default_max if max_crf is None else max_crf
    request = ladders.LadderRequest(
        heights, ladders.crf_grid(lo, hi, points), rungs, target_values, max_kbps, top_vmaf, gap
    )
    evaluators: dict[tuple[int, int], Any] = {}
    with _progress() as bar:
        task = bar.add_task("starting", total=None)

        def at(width: int, height: int, crf: float) -> Any:
            def on(activity: str) -> None:
                bar.update(task, description=f"{height}p: {activity}")

            key = (width, height)
            if key not in evaluators:
                size = None if key == (ctx.source.width, ctx.source.height) else key
                evaluators[key] = ctx.evaluator(encoder, preset, "vmaf", size, on)
            return evaluators[key](crf, "full")

        try:
            result = ladders.build_ladder(request, ctx.source.width, ctx.source.height, at)
            extra = _ladder_outputs(ctx, result, evaluators, plot, hls, encoder)
        except KeyboardInterrupt:
            raise ctx.interrupted() from None
    _print_ladder(result.as_dict() | extra, fmt)


def _ladder_outputs(
    ctx: _Context, result: Any, evaluators: dict[tuple[int, int], Any], plot: Path | None,
    hls: Path | None, encoder: str,
) -> dict[str, Any]:  # fmt: skip
    from vmafx.tune.evaluator import package_hls, render_png  # noqa: PLC0415
    from vmafx.tune.hls import Rendition, master_playlist  # noqa: PLC0415
    from vmafx.tune.plot import ladder_svg  # noqa: PLC0415

    extra: dict[str, Any] = {}
    if plot is not None:
        plot.parent.mkdir(parents=True, exist_ok=True)
        title = f"{Path(ctx.source.path).name}: {encoder} ladder"
        plot.write_text(ladder_svg(result.points, result.hull, result.rungs, title))
        png = plot.with_suffix(".png")
        extra["plot"] = str(plot)
        extra["png"] = str(png) if render_png(ctx.ffmpeg, ctx.runner, plot, png) else None
    if hls is not None:
        renditions = []
        for rung in result.rungs:
            folder = hls / f"{rung.height}p_crf{rung.crf:g}"
            evaluator = evaluators[(rung.width, rung.height)]
            _, average, peak = package_hls(evaluator, rung.crf, folder)
            uri = f"{folder.name}/index.m3u8"
            renditions.append(Rendition(uri, rung.width, rung.height, average, peak))
        (hls / "master.m3u8").write_text(master_playlist(renditions))
        extra["hls"] = str(hls / "master.m3u8")
    return extra


def _print_ladder(data: dict[str, Any], fmt: Format) -> None:
    if fmt is Format.json:
        typer.echo(json.dumps(data, indent=2))
        return
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    console = Console(highlight=False)
    rung_set = {(r["height"], r["crf"]) for r in data["rungs"]}
    hull_set = {(r["height"], r["crf"]) for r in data["hull"]}
    table = Table(title="points (VMAF scored at the source's resolution, bicubic upscale)")
    for column in ("resolution", "crf", "kbit/s", "VMAF", "hull", "rung"):
        table.add_column(column, justify="right")
    for p in sorted(data["points"], key=lambda p: p["kbps"]):
        key = (p["height"], p["crf"])
        table.add_row(
            f"{p['width']}x{p['height']}", f"{p['crf']:g}", f"{p['kbps']:.0f}",
            f"{p['vmaf']:.2f}", "•" if key in hull_set else "", "◆" if key in rung_set else "",
        )  # fmt: skip
    console.print(table)
    for note in data["skipped"]:
        console.print(f"skipped: {note}")
    for name in ("plot", "png", "hls"):
        if data.get(name):
            console.print(f"{name}: {data[name]}")
    if "png" in data and not data["png"]:
        console.print("png: not written (this ffmpeg has no librsvg decoder); the SVG is.")


app.command("crf", help=CRF_HELP, no_args_is_help=True)(crf)
app.command("ladder", help=LADDER_HELP, no_args_is_help=True)(ladder)
