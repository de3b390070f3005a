"""One local tuner run from plain arguments: what `vmafx tune crf|ladder` and the MCP server's
`tune_crf`/`tune_ladder` tools both call, so they check, search and answer alike.

`TuneContext` holds ffmpeg, the runner, the state folder's cache and history and the probed
source; `tune_crf` and `tune_ladder` build the search or the ladder on it and report what the
evaluators are doing through `on_activity` ("encode crf 28 (sample)"). Imports of ffmpeg and the
scorer happen inside, so importing this module costs nothing.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vmafx.errors import TargetUnreachableError, UsageError

if TYPE_CHECKING:
    from vmafx.tune.evaluator import Activity
    from vmafx.tune.hull import Gap
    from vmafx.tune.ladder import LadderResult
    from vmafx.tune.session import TuneReport

DEFAULT_HEIGHTS = (1080, 720, 540, 360, 240)


def check_target(value: float) -> float:
    """A VMAF target (or ceiling) on the 0–100 scale, else the CLI's usage error."""
    if not 0 <= value <= 100:
        raise UsageError(
            f"target {value:g} is outside 0–100, the VMAF scale.",
            hint="Pick a target such as 93 (transparent for most viewers) or 85.",
        )
    return value


def parse_size(text: str | None) -> tuple[int, int] | None:
    """`--scale WIDTHxHEIGHT` as a (width, height) pair, else the CLI's usage error."""
    if text is None:
        return None
    match = re.fullmatch(r"(\d{2,5})x(\d{2,5})", text.strip())
    if not match:
        raise UsageError(f"--scale {text!r} is not WIDTHxHEIGHT.", hint="For example 1280x720.")
    return int(match.group(1)), int(match.group(2))


class TuneContext:
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


#: Builds the context for (source, encoder); tests swap in one with a fake evaluator.
MakeContext = Callable[[str, str], Any]


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


def _quiet(_: str) -> None:
    return None


def tune_crf(
    source: str,
    target: float,
    encoder: str = "libx264",
    *,
    preset: str | None = None,
    metric: str = "vmaf",
    crf_step: float = 1.0,
    tolerance: float = 0.0,
    min_crf: float | None = None,
    max_crf: float | None = None,
    size: tuple[int, int] | None = None,
    out: Path | None = None,
    on_activity: Activity = _quiet,
    make_context: MakeContext = TuneContext,
) -> TuneReport:
    """`vmafx tune crf`: check the arguments, search, keep only the answer's encode."""
    from vmafx.tune.plan import metric as check_metric  # noqa: PLC0415
    from vmafx.tune.search import SearchSettings  # noqa: PLC0415
    from vmafx.tune.session import TuneRequest, run_search  # noqa: PLC0415

    check_target(target)
    check_metric(metric)
    ctx = make_context(source, encoder)
    lo = ctx.scale.default_min if min_crf is None else min_crf
    hi = ctx.scale.default_max if max_crf is None else max_crf
    if not ctx.scale.lowest <= lo <= hi <= ctx.scale.highest:
        raise UsageError(
            f"--min-crf {lo:g} / --max-crf {hi:g} must satisfy "
            f"{ctx.scale.lowest} ≤ min ≤ max ≤ {ctx.scale.highest} for {encoder}.",
        )
    settings = SearchSettings(target=target, lo=lo, hi=hi, step=crf_step, tolerance=tolerance)
    request = TuneRequest(encoder, preset, metric, settings, out)
    made: list[Any] = []

    def make(name: str) -> Any:
        made.append(ctx.evaluator(name, preset, metric, size, on_activity))
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
    return report


@dataclasses.dataclass(frozen=True)
class LadderRun:
    """A built ladder, with what writing its plot or HLS rungs needs."""

    context: Any
    result: LadderResult
    evaluators: dict[tuple[int, int], Any]


def tune_ladder(
    source: str,
    encoder: str = "libx264",
    *,
    preset: str | None = None,
    heights: tuple[int, ...] = DEFAULT_HEIGHTS,
    rungs: int | None = None,
    targets: tuple[float, ...] = (),
    max_kbps: float | None = None,
    top_vmaf: float | None = None,
    min_gap: str | None = None,
    points: int = 6,
    min_crf: float | None = None,
    max_crf: float | None = None,
    on_activity: Activity = _quiet,
    make_context: MakeContext = TuneContext,
) -> LadderRun:
    """`vmafx tune ladder`: check the arguments, measure points per resolution, pick rungs.
    `on_activity` gets "720p: encode crf 28 (full)"."""
    from vmafx.tune import ladder as ladders  # noqa: PLC0415

    if rungs is not None and targets:
        raise UsageError("--rungs and --targets both pick rungs; give one of them.")
    for value in targets:
        check_target(value)
    if top_vmaf is not None:
        check_target(top_vmaf)
    gap = parse_gap(min_gap)
    ctx = make_context(source, encoder)
    lo = ctx.scale.default_min + 8 if min_crf is None else min_crf
    hi = ctx.scale.default_max if max_crf is None else max_crf
    request = ladders.LadderRequest(
        heights, ladders.crf_grid(lo, hi, points), rungs, targets, max_kbps, top_vmaf, gap
    )
    evaluators: dict[tuple[int, int], Any] = {}

    def at(width: int, height: int, crf: float) -> Any:
        def on(activity: str) -> None:
            on_activity(f"{height}p: {activity}")

        key = (width, height)
        if key not in evaluators:
            size = None if key == (ctx.source.width, ctx.source.height) else key
            evaluators[key] = ctx.evaluator(encoder, preset, "vmaf", size, on)
        return evaluators[key](crf, "full")

    try:
        result = ladders.build_ladder(request, ctx.source.width, ctx.source.height, at)
    except KeyboardInterrupt:
        raise ctx.interrupted() from None
    return LadderRun(ctx, result, evaluators)


def parse_gap(text: str | None) -> Gap | None:
    from vmafx.tune.hull import Gap  # noqa: PLC0415

    if not text:
        return None
    try:
        return Gap.parse(text)
    except ValueError as error:
        raise UsageError(f"--min-gap {text!r}: {error}.") from None


def ladder_outputs(
    run: LadderRun, encoder: str, *, plot: Path | None = None, hls: Path | None = None
) -> dict[str, Any]:
    """Write the SVG (and PNG) plot and the HLS rungs with their master playlist, if asked."""
    from vmafx.tune.evaluator import package_hls, render_png  # noqa: PLC0415
    from vmafx.tune.hls import Rendition  # noqa: PLC0415
    from vmafx.tune.plot import ladder_svg  # noqa: PLC0415

    ctx, result = run.context, run.result
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
            folder = hls / rendition_folder(rung.height, rung.crf)
            evaluator = run.evaluators[(rung.width, rung.height)]
            _, average, peak = package_hls(evaluator, rung.crf, folder)
            uri = f"{folder.name}/index.m3u8"
            renditions.append(Rendition(uri, rung.width, rung.height, average, peak))
        extra["hls"] = str(write_master(hls, renditions))
    return extra


def rendition_folder(height: int, crf: float) -> str:
    """The folder of one rung's HLS rendition inside the --hls folder (`360p_crf27`)."""
    return f"{height}p_crf{crf:g}"


def write_master(hls: Path, renditions: list[Any]) -> Path:
    from vmafx.tune.hls import master_playlist  # noqa: PLC0415

    hls.mkdir(parents=True, exist_ok=True)
    master = hls / "master.m3u8"
    master.write_text(master_playlist(renditions))
    return master


def farm_hls(rungs: list[dict[str, Any]], hls: Path) -> str:
    """`--hls` for a ladder the farm built, run where the CLI runs: each rung's encode (a
    node's file in the `--out` folder) remuxed into an HLS rendition under `hls`, then the
    master playlist, exactly as the local ladder writes them. The controller never touches
    files, so this needs the `--out` folder on storage this machine sees."""
    from vmafx.config import ffmpeg_settings  # noqa: PLC0415
    from vmafx.errors import InputNotFoundError  # noqa: PLC0415
    from vmafx.media.ffmpeg import ffmpeg_info  # noqa: PLC0415
    from vmafx.media.runner import SubprocessRunner  # noqa: PLC0415
    from vmafx.tune.evaluator import package_rendition  # noqa: PLC0415
    from vmafx.tune.hls import Rendition  # noqa: PLC0415

    missing = [r["output"] for r in rungs if not r.get("output") or not Path(r["output"]).is_file()]
    if missing:
        raise InputNotFoundError(
            f"--hls: the rung encode(s) {', '.join(map(str, missing))} written by the nodes "
            "are not visible on this machine, so no HLS can be packaged here.",
            path=str(missing[0]),
            hint="Give --out a folder on storage both the nodes and this machine mount, or "
            "run `vmafx tune ladder` with --hls on a machine that sees the --out folder.",
        )
    ffmpeg = ffmpeg_info(ffmpeg_settings().path).path
    runner = SubprocessRunner()
    renditions = []
    for rung in rungs:
        folder = hls / rendition_folder(rung["height"], rung["crf"])
        _, average, peak = package_rendition(ffmpeg, runner, Path(rung["output"]), folder)
        uri = f"{folder.name}/index.m3u8"
        renditions.append(Rendition(uri, rung["width"], rung["height"], average, peak))
    return str(write_master(hls, renditions))
