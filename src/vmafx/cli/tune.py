"""`vmafx tune crf|ladder`: the composition root of the local tuner.

Imports of the tuner, ffmpeg and the scorer happen inside the commands, so registering this app
costs `vmafx` nothing at start-up (and `vmafx score` never imports it).
"""

from __future__ import annotations

import enum
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from vmafx.errors import UsageError

if TYPE_CHECKING:
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
resolution), take the upper convex hull of (log bitrate, VMAF) and pick rungs on it. The
encodes go where the hull would move most: each resolution's ends and middle CRF first, then
the CRFs predicted to lie on the hull's knees and crossovers (--points per resolution in all).

    vmafx tune ladder master.mp4 --encoder libx264 --resolutions 1080,720,540,360,240 \\
        --targets 95,90,85,75 --plot ladder.svg --hls out/
"""


class Format(enum.StrEnum):
    table = "table"
    json = "json"


FARM = typer.Option(
    None,
    "--controller",
    help="Run the search as a tune job on this farm (HOST:PORT): probes on its nodes.",
)
TOKEN_FILE = typer.Option(
    None, "--token-file", envvar="VMAFX_TOKEN_FILE", help="File holding the API token (farm)."
)
CA = typer.Option(None, "--ca", envvar="VMAFX_CA", help="CA certificate for https:// (farm).")


def _on_farm(
    controller: str, token_file: Path | None, ca: Path | None, source: str, fields: dict[str, Any]
) -> dict[str, Any]:
    from vmafx.cli.remote import Format as RemoteFormat  # noqa: PLC0415
    from vmafx.cli.remote import Remote  # noqa: PLC0415
    from vmafx.cli.tune_farm import run_tune, tune_request  # noqa: PLC0415

    remote = Remote.of(controller, os.environ.get("VMAFX_TOKEN"), token_file, ca)
    return run_tune(remote, tune_request(source, fields), RemoteFormat.table)


def _target(value: float) -> float:
    from vmafx.tune.run import check_target  # noqa: PLC0415

    return check_target(value)


def _size(text: str | None) -> tuple[int, int] | None:
    from vmafx.tune.run import parse_size  # noqa: PLC0415

    return parse_size(text)


def _numbers(text: str, what: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise UsageError(f"{what} {text!r} must be numbers separated by commas.") from None
    if not values:
        raise UsageError(f"{what} is empty.")
    return values


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
    controller: str | None = FARM,
    token_file: Path | None = TOKEN_FILE,
    ca: Path | None = CA,
) -> None:
    from vmafx.tune.run import tune_crf  # noqa: PLC0415

    size = _size(scale)
    if controller is not None:
        from vmafx.cli.remote import Format as RemoteFormat  # noqa: PLC0415
        from vmafx.cli.tune_farm import print_target  # noqa: PLC0415
        from vmafx.tune.farm import encoder_family  # noqa: PLC0415
        from vmafx.tune.plan import metric as check_metric  # noqa: PLC0415

        check_metric(metric)  # the local tuner's message, before anything is submitted
        codec, _ = encoder_family(encoder)
        fields = {"codec": codec, "encoder": encoder, "target_vmaf": target, "preset": preset,
                  "metric": metric, "crf_step": crf_step, "tolerance": tolerance,
                  "min_crf": _whole(min_crf), "max_crf": _whole(max_crf),
                  "scale": {"width": size[0], "height": size[1]} if size else None,
                  "output": str(out) if out else None}  # fmt: skip
        result = _on_farm(controller, token_file, ca, source, fields)
        print_target(result, RemoteFormat(fmt.value))
        return
    with _progress() as bar:
        task = bar.add_task("starting", total=None)

        def on(activity: str) -> None:
            bar.update(task, description=activity)

        report = tune_crf(
            source, target, encoder, preset=preset, metric=metric, crf_step=crf_step,
            tolerance=tolerance, min_crf=min_crf, max_crf=max_crf, size=size, out=out,
            on_activity=on,
        )  # fmt: skip
    _print_crf(report, fmt)


def _whole(value: float | None) -> int | None:
    if value is None:
        return None
    if value != int(value):
        raise UsageError(f"--min-crf/--max-crf {value:g} must be whole with --controller.")
    return int(value)


def _print_crf(report: TuneReport, fmt: Format) -> None:
    data = report.as_dict()
    if fmt is Format.json:
        typer.echo(json.dumps(data, indent=2))
        return
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    from vmafx.tune.plan import metric_label  # noqa: PLC0415

    console = Console(highlight=False)
    label = metric_label(data["metric"])
    table = Table(title="probes")
    for column in (data["parameter"], label, "kind", "frames encoded", "frames scored", "s"):
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
        f"{data['encoder']} {data['parameter']} {data['crf']:g}: {label} {data['vmaf']:.2f}, "
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
    points: int = typer.Option(6, "--points", min=2, max=30, help="Encodes per resolution."),
    min_crf: float | None = typer.Option(None, "--min-crf", help="Lowest CRF measured."),
    max_crf: float | None = typer.Option(None, "--max-crf", help="Highest CRF measured."),
    plot: Path | None = typer.Option(None, "--plot", help="Write the SVG plot (and a .png)."),
    hls: Path | None = typer.Option(None, "--hls", help="Write the rungs and a master playlist."),
    fmt: Format = typer.Option(Format.table, "--format", help="table or json."),
    out: Path | None = typer.Option(
        None, "--out", help="With --controller: the folder the nodes write the rungs in."
    ),
    controller: str | None = FARM,
    token_file: Path | None = TOKEN_FILE,
    ca: Path | None = CA,
) -> None:
    from vmafx.tune.run import ladder_outputs, tune_ladder  # noqa: PLC0415

    target_values = tuple(_target(t) for t in _numbers(targets, "--targets")) if targets else ()
    heights = tuple(int(h) for h in _numbers(resolutions, "--resolutions"))
    if controller is not None:
        from vmafx.tune.farm import encoder_family  # noqa: PLC0415

        if out is None:
            raise UsageError("--controller needs --out FOLDER for the rung encodes.")
        fields = {"mode": "ladder", "codec": encoder_family(encoder)[0], "encoder": encoder,
                  "preset": preset, "resolutions": [str(h) for h in heights], "rungs": rungs,
                  "targets": list(target_values) or None, "max_kbps": max_kbps,
                  "top_vmaf": top_vmaf, "min_gap": min_gap, "points": points,
                  "min_crf": _whole(min_crf), "max_crf": _whole(max_crf),
                  "output": str(out)}  # fmt: skip
        data = _on_farm(controller, token_file, ca, source, fields)
        if plot is not None:
            from vmafx.tune.hull import Point  # noqa: PLC0415
            from vmafx.tune.plot import ladder_svg  # noqa: PLC0415

            def points_of(name: str) -> list[Point]:
                keys = ("width", "height", "crf", "kbps", "vmaf")
                return [Point(*(p[k] for k in keys)) for p in data[name]]

            title = f"{Path(source).name}: {encoder} ladder (farm)"
            plot.parent.mkdir(parents=True, exist_ok=True)
            plot.write_text(
                ladder_svg(points_of("points"), points_of("hull"), points_of("rungs"), title)
            )
            data["plot"] = str(plot)
        if hls is not None:  # here, not on the controller: it never touches files
            from vmafx.tune.run import farm_hls  # noqa: PLC0415

            data["hls"] = farm_hls(data["rungs"], hls)
        _print_ladder(data, fmt)
        return
    with _progress() as bar:
        task = bar.add_task("starting", total=None)

        def on(activity: str) -> None:
            bar.update(task, description=activity)

        run = tune_ladder(
            source, encoder, preset=preset, heights=heights, rungs=rungs,
            targets=target_values, max_kbps=max_kbps, top_vmaf=top_vmaf, min_gap=min_gap,
            points=points, min_crf=min_crf, max_crf=max_crf, on_activity=on,
        )  # fmt: skip
        try:
            extra = ladder_outputs(run, encoder, plot=plot, hls=hls)
        except KeyboardInterrupt:
            raise run.context.interrupted() from None
    _print_ladder(run.result.as_dict() | extra, fmt)


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
