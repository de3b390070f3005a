"""`vmafx score` without Typer: what the command does, and the fast path that reaches ffmpeg.

`vmafx score` is the command people time against bare ffmpeg, and on a 2 s clip the Python
start-up used to be as long as the scoring itself (issue 13). So a well-formed `vmafx score`
command line is parsed here, by a table of the command's options (`OPTIONS`, kept equal to the
Typer command's by a test), and nothing heavier than the scoring path is imported before ffmpeg
starts: no Typer (which imports pydantic), no rich, no numpy, no PyAV. Anything this parser does
not take as it is (`--help`, a misspelt option, a bad value, a path that starts with `-`)
goes to the Typer command, which prints the usual help or usage error; so the fast path never
changes what a command means, only how fast a correct one starts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from vmafx.core.media import RawFormat, parse_fps
from vmafx.core.metrics import libvmaf_feature
from vmafx.core.remote import is_object_url, is_remote
from vmafx.errors import UsageError

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from vmafx.core.scores import ScoreReport
    from vmafx.media.scorer import LibvmafScorer, ScoreRequest


@dataclasses.dataclass(frozen=True)
class Option:
    """One option of `vmafx score`: its flags, the parameter it sets, how its value is read."""

    flags: tuple[str, ...]
    dest: str
    kind: str  # "flag", "str", "int", "float", "path" or "choice"
    multiple: bool = False
    minimum: float | None = None
    choices: tuple[str, ...] = ()


#: Every option of `vmafx score` (defaults live in `ScoreArgs`).
OPTIONS: tuple[Option, ...] = (
    Option(("--model", "-m"), "model", "str", multiple=True),
    Option(("--feature", "-f"), "feature", "str", multiple=True),
    Option(("--subsample",), "subsample", "int", minimum=1),
    Option(("--threads",), "threads", "int", minimum=0),
    Option(("--width",), "width", "int", minimum=1),
    Option(("--height",), "height", "int", minimum=1),
    Option(("--pix-fmt",), "pix_fmt", "str"),
    Option(("--fps",), "fps", "str"),
    Option(("--no-scale",), "no_scale", "flag"),
    Option(("--sync",), "sync", "choice", choices=("none", "shortest", "fps")),
    Option(("--no-features",), "no_features", "flag"),
    Option(("--per-frame",), "per_frame", "path"),
    Option(("--plot",), "plot", "path"),
    Option(("--format",), "fmt", "choice", choices=("table", "json", "csv")),
    Option(("--timeout",), "timeout", "float", minimum=1),
    Option(("--no-swap-check",), "no_swap_check", "flag"),
    Option(("--max-parallel",), "max_parallel", "int", minimum=1),
    Option(("--decode",), "decode", "choice", choices=("cpu", "cuda", "auto")),
    Option(("--backend",), "backend", "choice", choices=("libvmaf", "torch-cuda")),
)
_BY_FLAG = {flag: option for option in OPTIONS for flag in option.flags}


@dataclasses.dataclass
class ScoreArgs:
    """The values of `vmafx score`'s arguments and options (the Typer command's defaults)."""

    reference: str = ""
    distorted: list[str] = dataclasses.field(default_factory=list)
    model: list[str] = dataclasses.field(default_factory=list)
    feature: list[str] = dataclasses.field(default_factory=list)
    subsample: int = 1
    threads: int = 0
    width: int | None = None
    height: int | None = None
    pix_fmt: str = "yuv420p"
    fps: str = "24"
    no_scale: bool = False
    sync: str = "none"
    no_features: bool = False
    #: A local path, or an object URL (s3://…) the file is uploaded to.
    per_frame: Path | str | None = None
    plot: Path | str | None = None
    fmt: str = "table"
    timeout: float | None = None
    no_swap_check: bool = False
    max_parallel: int | None = None
    decode: str = "cpu"
    backend: str = "libvmaf"


def parse_fast(argv: Sequence[str]) -> ScoreArgs | None:
    """`vmafx score`'s arguments, or None where the Typer command should answer instead."""
    args = ScoreArgs()
    positional: list[str] = []
    values: dict[str, object] = {}
    i = 0
    while i < len(argv):
        item = argv[i]
        if not item.startswith("-"):
            positional.append(item)
            i += 1
            continue
        flag, eq, inline = item.partition("=")
        option = _BY_FLAG.get(flag)
        if option is None or (eq and option.kind == "flag"):
            return None
        if option.kind == "flag":
            values[option.dest] = True
            i += 1
            continue
        if eq:
            text, i = inline, i + 1
        elif i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            text, i = argv[i + 1], i + 2
        else:
            return None
        value = _value(option, text)
        if value is None:
            return None
        if option.multiple:
            values.setdefault(option.dest, [])
            values[option.dest].append(value)  # type: ignore[attr-defined]
        else:
            values[option.dest] = value
    if len(positional) < 2:
        return None
    args = dataclasses.replace(args, **values)  # type: ignore[arg-type]
    args.reference, args.distorted = positional[0], positional[1:]
    return args


def _value(option: Option, text: str) -> object | None:
    if option.kind in ("str", "path"):
        return Path(text) if option.kind == "path" and not is_object_url(text) else text
    if option.kind == "choice":
        return text if text in option.choices else None
    try:
        number: float = int(text) if option.kind == "int" else float(text)
    except ValueError:
        return None
    if option.minimum is not None and number < option.minimum:
        return None
    return number


def raw_format(args: ScoreArgs) -> RawFormat | None:
    if args.width is None and args.height is None:
        return None
    if args.width is None or args.height is None:
        raise UsageError(
            "Raw YUV needs both --width and --height.",
            hint="Give both, e.g. --width 1920 --height 1080.",
        )
    return RawFormat(args.width, args.height, args.pix_fmt, parse_fps(args.fps))


def request_for(args: ScoreArgs) -> ScoreRequest:
    from vmafx.media.graph import ScoreOptions  # noqa: PLC0415
    from vmafx.media.scorer import ScoreRequest, default_threads  # noqa: PLC0415

    options = ScoreOptions(
        models=tuple(args.model or ("vmaf_v0.6.1",)),
        features=tuple(dict.fromkeys(libvmaf_feature(name) for name in args.feature)),
        subsample=args.subsample,
        threads=args.threads or default_threads(),
        scale=not args.no_scale,
        sync_fps=args.sync == "fps",
        feature_vector=not args.no_features,
    )
    return ScoreRequest(
        args.reference,
        tuple(args.distorted),
        options,
        raw=raw_format(args),
        shortest=args.sync == "shortest",
        timeout_s=args.timeout,
        swap_check=not args.no_swap_check,
        max_parallel=args.max_parallel,
        decode=args.decode,
        nvidia_gpu=args.decode == "auto" and _nvidia_gpu_present(),
    )


def _nvidia_gpu_present() -> bool:
    """Whether NVML or nvidia-smi reports an NVIDIA GPU (asked only for `--decode auto`)."""
    from vmafx.node.gpus import nvidia_gpus  # noqa: PLC0415

    return bool(nvidia_gpus(timeout_s=3.0))


#: Inputs up to this size in all are scored with no probe run first (`LibvmafScorer`'s
#: `unprobed`): the probe's ~50 ms of CPU weighs on short clips, while on long ones its frame
#: total is what gives the progress bar an end and an ETA.
UNPROBED_MAX_BYTES = 64 * 1024 * 1024


def _unprobed_fits(args: ScoreArgs) -> bool:
    """Whether to score without a probe run first: local inputs of at most UNPROBED_MAX_BYTES
    in all, decoded on the CPU (the scorer checks the rest of what makes that safe)."""
    inputs = (args.reference, *args.distorted)
    if args.decode != "cpu" or args.sync == "fps" or any(is_remote(p) for p in inputs):
        return False
    if args.max_parallel is not None and args.max_parallel < len(args.distorted):
        return False
    try:
        total = sum(os.path.getsize(p) for p in inputs)
    except OSError:  # the probed path names what is wrong with the input
        return False
    return total <= UNPROBED_MAX_BYTES


def run_score(args: ScoreArgs) -> None:
    """Score, then print the report as asked (table, JSON or CSV) and write the per-frame CSV
    and the per-frame plot. The probe of the inputs starts first, and the rest of the scoring
    path is imported while it runs (`vmafx.media.prestart`)."""
    if args.backend == "torch-cuda":
        run_torch_score(args)
        return
    from vmafx.config import ffmpeg_settings  # noqa: PLC0415
    from vmafx.media.inputprobe import locate_ffmpeg  # noqa: PLC0415
    from vmafx.media.prestart import prestart_probe  # noqa: PLC0415

    ffmpeg = locate_ffmpeg(ffmpeg_settings().path)
    has_raw = args.width is not None or args.height is not None
    unprobed = not has_raw and _unprobed_fits(args)
    runner = prestart_probe(ffmpeg, [args.reference, *args.distorted], has_raw, early=not unprobed)
    try:
        from vmafx.media.scorer import LibvmafScorer  # noqa: PLC0415

        request = request_for(args)
        if args.plot is not None:
            from vmafx.cli.frameplot import check_plot_path  # noqa: PLC0415 - only with --plot

            check_plot_path(_local_view(args.plot))
        inputs = [args.reference, *args.distorted]
        if any(is_remote(value) for value in inputs):
            # object storage: its SDK is imported only now, when a URL was given
            from vmafx.storage.inputs import open_all  # noqa: PLC0415
            from vmafx.storage.registry import store_for  # noqa: PLC0415

            request = dataclasses.replace(request, remote=open_all(inputs, store_for))
        scorer = LibvmafScorer(ffmpeg, runner, unprobed=unprobed)
        _resume_collection()
        report = _score_with_progress(scorer, request)
    finally:
        runner.close()
    _write_outputs(args, report, ffmpeg)


def _resume_collection() -> None:
    """Where the console script paused the garbage collector for start-up (`cli.entry.main`),
    turn it back on for the run (a long run's progress bar makes garbage), with what start-up
    loaded frozen out of every later collection."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def run_torch_score(args: ScoreArgs) -> None:
    """`--backend torch-cuda`: vmaf-torch on the GPU, each result labelled as not libvmaf."""
    _resume_collection()  # torch makes garbage of its own
    import json  # noqa: PLC0415

    from vmafx.config import ffmpeg_settings  # noqa: PLC0415
    from vmafx.media import torchvmaf  # noqa: PLC0415
    from vmafx.media.inputprobe import locate_ffmpeg, probe_inputs  # noqa: PLC0415
    from vmafx.media.runner import SubprocessRunner  # noqa: PLC0415

    torchvmaf.check_offered()
    refused = [
        flag
        for flag, used in (
            ("--per-frame", args.per_frame is not None),
            ("--plot", args.plot is not None),
            ("--model", bool(args.model)),
            ("--feature", bool(args.feature)),
            ("--format csv", args.fmt == "csv"),
            ("--width/--height", args.width is not None or args.height is not None),
        )
        if used
    ]
    if refused:
        raise UsageError(
            "--backend torch-cuda scores vmaf_v0.6.1 alone, from encoded or Y4M inputs, as a "
            f"table or JSON; {', '.join(refused)} is not for it.",
            hint="Drop the option, or score with the default backend (libvmaf).",
        )
    ffmpeg = locate_ffmpeg(ffmpeg_settings().path)
    run = probe_inputs(ffmpeg, [args.reference, *args.distorted], None, SubprocessRunner())
    ref, *others = run.inputs
    results = [
        torchvmaf.score_pair(
            ffmpeg,
            args.reference,
            info.path,
            width=ref.width,
            height=ref.height,
            distorted_size=(info.width, info.height),
            nvdec=args.decode == "cuda",
        )
        for info in others
    ]
    if args.fmt == "json":
        body = {"reference": args.reference, "results": [r.as_dict() for r in results]}
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
        return
    for result in results:
        sys.stdout.write(
            f"{result.distorted}  vs  {args.reference}: vmaf_torch mean {result.mean:.4f} "
            f"({len(result.frames)} frames, {result.fps:.1f} fps on {result.device})\n"
        )
    sys.stdout.write(f"  {torchvmaf.LABEL}\n")


def _write_outputs(args: ScoreArgs, report: ScoreReport, ffmpeg: str) -> None:
    from vmafx.cli import output  # noqa: PLC0415 - rich, once the scores are in
    from vmafx.media.runner import SubprocessRunner  # noqa: PLC0415

    if args.per_frame is not None:
        with _written(args.per_frame) as path:
            output.write_per_frame(report, path)
    if args.plot is not None:
        from vmafx.cli.frameplot import write_plot  # noqa: PLC0415

        with _written(args.plot) as path:
            write_plot(report, path, ffmpeg, SubprocessRunner())
    if args.fmt == "json":
        sys.stdout.write(output.to_json(report) + "\n")
    elif args.fmt == "csv":
        sys.stdout.write(output.to_csv(report))
        for line in output.warning_lines(report):
            sys.stderr.write(line + "\n")
    else:
        from rich.console import Console  # noqa: PLC0415

        output.print_table(report, Console())


class _LazyBar:
    """A rich progress bar on stderr that exists only once scoring has taken over a second:
    rich is imported then, not before ffmpeg starts (a terminal user times `vmafx score` too)."""

    def __init__(self) -> None:
        self._started = time.monotonic()
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def update(self, done: int, total: int) -> None:
        if self._bar is None:
            if time.monotonic() - self._started <= 1.0:
                return
            self._open()
        assert self._bar is not None and self._task is not None
        self._bar.update(self._task, completed=done, total=total or None, visible=True)

    def _open(self) -> None:
        from rich.console import Console  # noqa: PLC0415
        from rich.progress import (  # noqa: PLC0415
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        console = Console(stderr=True)
        self._bar = Progress(
            TextColumn("scoring"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.completed:.0f}/{task.total:.0f} frames"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            auto_refresh=True,
            disable=not console.is_terminal,
        )
        self._bar.start()
        self._task = self._bar.add_task("score", total=None)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def path_or_url(value: str | None) -> Path | str | None:
    """An output option's value: an object URL as it is, anything else as a Path."""
    if value is None or is_object_url(value):
        return value
    return Path(value)


def _local_view(value: Path | str) -> Path:
    """The path whose name is checked (an object URL's key for a remote output)."""
    if isinstance(value, Path):
        return value
    from urllib.parse import urlsplit  # noqa: PLC0415

    return Path(urlsplit(value).path.lstrip("/") or "out")


def _written(value: Path | str) -> contextlib.AbstractContextManager[Path]:
    """Where to write an output: the path itself, or a local file uploaded to the URL after."""
    if isinstance(value, Path):
        return contextlib.nullcontext(value)
    from vmafx.storage.outputs import local_then_upload  # noqa: PLC0415

    return local_then_upload(value)


def _score_with_progress(scorer: LibvmafScorer, request: ScoreRequest) -> ScoreReport:
    """Show a progress bar on stderr (a terminal only) once scoring has taken over a second."""
    if not _stderr_is_terminal():
        return scorer.score(request)
    bar = _LazyBar()
    try:
        return scorer.score(request, on_progress=bar.update)
    finally:
        bar.close()


def _stderr_is_terminal() -> bool:
    """What rich's Console would say, without importing rich (it honours these variables)."""
    if os.environ.get("FORCE_COLOR") or os.environ.get("TTY_INTERACTIVE") == "1":
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def main_fast(argv: Sequence[str], fallback: Callable[[], None]) -> None:
    """Run `vmafx score ARGV` on the fast path, or `fallback` (the Typer command) where the
    fast parser does not take the command line as it is."""
    args = parse_fast(argv)
    if args is None:
        fallback()
        return
    run_score(args)
