"""`vmafx corpus score|validate`: the composition root for scoring a corpus on this machine
(a pool of worker processes) or on the farm (`--controller`, see `corpus_farm`)."""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import time
from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from vmafx.cli import options as opts
from vmafx.cli import remote
from vmafx.cli.corpus_farm import FARM_FFMPEG, farm_executor, interrupted_note, reaching
from vmafx.cli.options import Sync
from vmafx.cli.remote import Remote
from vmafx.config import ffmpeg_settings
from vmafx.corpus import arrow
from vmafx.corpus.clips import ClipFailed, ClipOutcome, ClipSettings, reserved_columns
from vmafx.corpus.driver import RunInputs, RunSummary, score_corpus
from vmafx.corpus.executor import ClipExecutor, LocalExecutor
from vmafx.corpus.farm_jobs import check_farm_settings
from vmafx.corpus.manifest import Manifest, load_manifest
from vmafx.corpus.output import OutputPaths
from vmafx.errors import ClipsFailedError, RunInterruptedError, UsageError
from vmafx.media.ffmpeg import ffmpeg_info
from vmafx.media.scorer import default_threads

HELP = """Score a corpus: a manifest of clips in, one feature row per clip out, resumably.

The manifest (CSV, JSONL or Parquet) has one row per clip with the columns id, distorted and
reference (empty for a no-reference clip, which is compared with itself); any other column
(MOS, metadata) is carried through. Relative paths are taken from the manifest's folder.

Examples:

    vmafx corpus score clips.csv --out features.parquet

    vmafx corpus score clips.jsonl --out features.parquet --workers 8 -m vmaf_v0.6.1neg

    vmafx corpus score clips.csv --out features.parquet --controller farm.example:9090

    vmafx corpus validate clips.parquet

Interrupt it at any time and run the same command again: finished clips are kept in
FEATURES.staging/ and not scored again. A clip that fails is listed with its error in
FEATURES.failures.csv and the run goes on; the exit code is 21 when any clip failed.
"""

app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode="markdown")

MANIFEST = typer.Argument(..., help="The manifest: a .csv, .jsonl or .parquet file.")
ROOT = typer.Option(
    None, help="Folder relative clip paths are taken from (default: the manifest's)."
)
CONTROLLER = typer.Option(
    None,
    help="Score through the farm: one score job per clip via the vmafx controller at "
    "HOST:PORT, or https://HOST:PORT for TLS (clip paths must be readable by the nodes, "
    "under their scoring roots).",
)
CANCEL_ON_INTERRUPT = typer.Option(
    False,
    "--cancel-on-interrupt",
    help="With --controller: Ctrl-C cancels the farm jobs still running (by default they "
    "go on, and running the command again collects them).",
)
THREADS = typer.Option(
    1, min=1, help="libvmaf threads per worker (with --controller the nodes decide)."
)


@app.command("score", help=HELP, no_args_is_help=True)
def score(
    manifest: Path = MANIFEST,
    out: Path = typer.Option(..., "--out", "-o", help="The feature table to write (Parquet)."),
    workers: int = typer.Option(0, min=0, help="Clips scored at once; 0 = every core."),
    pin_cores: bool = typer.Option(
        False,
        "--pin-cores",
        help="Keep each worker and its ffmpeg on a core of its own (a worker per core at most). "
        "No faster on a 2-core VM (docs/benchmarks.md); meant for many-core hosts, and slower "
        "when other work shares the cores.",
    ),
    controller: str | None = CONTROLLER,
    token: str | None = remote.TOKEN,
    token_file: Path | None = remote.TOKEN_FILE,
    ca: Path | None = remote.CA,
    cancel_on_interrupt: bool = CANCEL_ON_INTERRUPT,
    model: list[str] = opts.MODEL,
    feature: list[str] = opts.FEATURE,
    subsample: int = opts.SUBSAMPLE,
    threads: int = THREADS,
    width: int | None = opts.WIDTH,
    height: int | None = opts.HEIGHT,
    pix_fmt: str = opts.PIX_FMT,
    fps: str = opts.FPS,
    no_scale: bool = opts.NO_SCALE,
    sync: Sync = opts.SYNC,
    no_features: bool = opts.NO_FEATURES,
    timeout: float | None = typer.Option(None, min=1, help="Fail a clip after this many seconds."),
    max_frames: int | None = typer.Option(
        None, min=1, help="Fail clips with more frames than this (guards against huge clips)."
    ),
    root: Path | None = ROOT,
    fresh: bool = typer.Option(False, "--fresh", help="Discard staged clips and start over."),
    retry_failed: bool = typer.Option(
        True, "--retry-failed/--skip-failed", help="Try clips that failed in an earlier run again."
    ),
) -> None:
    options = opts.score_options(model, feature, subsample, threads, no_scale, sync, no_features)
    # Workers run side by side: each decodes with as many threads as libvmaf gets, so N workers
    # use N cores instead of each ffmpeg spreading its decoders over every core.
    options = dataclasses.replace(options, decode_threads=threads)
    settings = ClipSettings(
        options=options,
        raw=opts.raw_format(width, height, pix_fmt, fps),
        shortest=sync is Sync.shortest,
        timeout_s=timeout,
        max_frames=max_frames,
    )
    arrow.pyarrow()
    paths = OutputPaths(out)
    farm = _farm(controller, token, token_file, ca, settings)
    loaded = _load(manifest, root, settings, paths)
    if farm is None:
        _refuse_objects_here(loaded)
        summary = _score_here(
            loaded, out, settings, workers or default_threads(), fresh, retry_failed, pin_cores
        )
    else:
        inputs = RunInputs(loaded, out, settings, FARM_FFMPEG, fresh, retry_failed)
        summary = _score_on_farm(farm, inputs, cancel_on_interrupt)
    _report(summary, Console(highlight=False, soft_wrap=True))


@app.command("validate", no_args_is_help=True)
def validate(manifest: Path = MANIFEST, root: Path | None = ROOT) -> None:
    """Check a manifest without scoring: columns, ids, files; every problem listed at once."""
    loaded = load_manifest(manifest, root=root, raw_size_given=True)
    extra = ", ".join(f"{n} ({k})" for n, k in loaded.metadata_columns) or "none"
    typer.echo(
        f"{manifest}: {len(loaded.clips)} clips, {loaded.no_reference_count} without a "
        f"reference; carried-through columns: {extra}"
    )


def _refuse_objects_here(loaded: Manifest) -> None:
    """Object URLs are read on a farm, by URLs its controller signs; not by local workers."""
    from vmafx.core.remote import is_object_url  # noqa: PLC0415

    for clip in loaded.clips:
        for value in (clip.distorted_path, clip.reference_path):
            if value is not None and is_object_url(value):
                raise UsageError(
                    f"clip {clip.id} names the object {value}; manifests of object URLs "
                    "are scored on a farm, whose controller signs them for its nodes.",
                    hint="Add --controller HOST:PORT (docs/storage.md), or give local paths.",
                )


def _load(path: Path, root: Path | None, settings: ClipSettings, paths: OutputPaths) -> Manifest:
    return load_manifest(
        path,
        root=root,
        raw_size_given=settings.raw is not None,
        reserved=reserved_columns(settings.options),
        problems_file=paths.manifest_problems,
    )


def _score_here(
    manifest: Manifest,
    out: Path,
    settings: ClipSettings,
    workers: int,
    fresh: bool,
    retry_failed: bool,
    pin_cores: bool,
) -> RunSummary:
    ffmpeg = ffmpeg_info(ffmpeg_settings().path)
    inputs = RunInputs(manifest, out, settings, ffmpeg.version, fresh, retry_failed)
    executor = LocalExecutor(ffmpeg, settings, workers, pin_cores=pin_cores)
    return _score(inputs, executor, lambda: "")


def _farm(
    controller: str | None,
    token: str | None,
    token_file: Path | None,
    ca: Path | None,
    settings: ClipSettings,
) -> Remote | None:
    """The controller to score through (None: this machine), once the options suit it."""
    if controller is None:
        return None
    check_farm_settings(settings)
    return Remote.of(controller, token, token_file, ca)


def _score_on_farm(farm: Remote, inputs: RunInputs, cancel_on_interrupt: bool) -> RunSummary:
    executor = farm_executor(farm, inputs, cancel_on_interrupt=cancel_on_interrupt)
    with reaching(farm):
        return _score(inputs, executor, lambda: interrupted_note(executor))


def _score(inputs: RunInputs, executor: ClipExecutor, interrupted: Callable[[], str]) -> RunSummary:
    """Run `executor` over the manifest; Ctrl-C (or SIGTERM) says what was kept and where."""
    staging = OutputPaths(inputs.out).staging
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with (
            contextlib.closing(executor),
            BarProgress(Console(stderr=True)) as progress,
        ):
            return score_corpus(inputs, executor, progress=progress)
    except KeyboardInterrupt:
        raise RunInterruptedError(
            f"Interrupted. Every clip that finished is kept in {staging}.{interrupted()}",
            hint="Run the same command again to go on where it stopped.",
        ) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops a run the way Ctrl-C does: clips in flight cancelled, the rest kept."""
    raise KeyboardInterrupt


def _report(summary: RunSummary, console: Console) -> None:
    paths = summary.paths
    resumed = f"; {summary.resumed} finished by an earlier run" if summary.resumed else ""
    console.print(
        f"scored {summary.scored} of {summary.total} clips ({summary.failed} failed{resumed}) "
        f"in {summary.elapsed_s:.1f} s, {summary.rate:.2f} clips/s → {escape(str(paths.out))}"
    )
    console.print(f"  run manifest: {escape(str(paths.run_manifest))}", style="dim")
    if summary.no_reference:
        console.print(
            f"  {summary.no_reference} clip(s) had no reference and were compared with "
            "themselves: only geometry and motion columns mean anything for them "
            "(no_reference column; list in the run manifest)",
            style="dim",
        )
    if summary.failed:
        raise ClipsFailedError(
            f"{summary.failed} of {summary.total} clips could not be scored; each is listed "
            f"with its error in {paths.failures}. The other {summary.scored} are in {paths.out}.",
            failed=summary.failed,
            failures_path=str(paths.failures),
            hint="Fix or drop those clips, then run the same command again: only they are "
            "tried again.",
        )


class BarProgress:
    """A Rich progress bar on stderr: clips done, clips/s, ETA, failures so far."""

    def __init__(self, console: Console) -> None:
        self._bar = Progress(
            TextColumn("corpus"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[failed]}"),
            console=console,
            transient=False,
            disable=not console.is_terminal,
        )
        self._task: TaskID | None = None
        self._started = time.monotonic()
        self._done_now = 0
        self._failed = 0

    def __enter__(self) -> BarProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def start(self, total: int, finished: int, failed: int) -> None:
        self._started = time.monotonic()
        self._failed = failed
        self._task = self._bar.add_task(
            "corpus", total=total, completed=finished, rate="", failed=self._failed_text()
        )

    def advance(self, outcome: ClipOutcome) -> None:
        if self._task is None:
            return
        self._done_now += 1
        self._failed += isinstance(outcome, ClipFailed)
        rate = self._done_now / max(time.monotonic() - self._started, 1e-9)
        self._bar.update(
            self._task, advance=1, rate=f"{rate:.2f} clips/s", failed=self._failed_text()
        )

    def _failed_text(self) -> str:
        return f"[red]{self._failed} failed[/]" if self._failed else "0 failed"
