"""`vmafx jobs submit|list|get|watch|cancel`: the farm's jobs, through a controller's gRPC API."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from vmafx.cli import jobbatch, jobbulk, jobspecs
from vmafx.cli import options as opts
from vmafx.cli.jobspecs import Placement
from vmafx.cli.jobviews import FittedFiles, job_json, job_views, jobs_table
from vmafx.cli.remote import CA, CONTROLLER, FORMAT, TOKEN, TOKEN_FILE, Format, Remote
from vmafx.cli.tables import fit_notes
from vmafx.cli.watching import Display, follow
from vmafx.client import ids
from vmafx.client.port import ControllerClient
from vmafx.core import frames
from vmafx.core.attempts import Attempt
from vmafx.core.jobs import Job, JobState, JsonObject
from vmafx.core.messages import JobDetails, JobFilter, JobRequest
from vmafx.errors import NotFoundError, OutputWriteError, UsageError, VmafxError

HELP = """Submit jobs to a farm and follow them: score, encode, list, get, watch, cancel, retry.

Every command talks to the controller at --controller (VMAFX_CONTROLLER_ADDR, default
127.0.0.1:9090) with the token from --token-file or VMAFX_TOKEN when it needs one.

    vmafx jobs submit score /media/ref.mp4 /media/crf23.mp4 /media/crf28.mp4 --watch

    vmafx jobs submit encode /media/master.mov --out /media/out/h264.mp4 --crf 23 --score-after

    vmafx jobs submit score --from pairs.csv -q > ids.txt

    vmafx jobs list --search 'state:failed crf38'        vmafx jobs watch 3f0c2a91

    vmafx jobs cancel --filter 'state:pending node:gpu-2'    vmafx jobs retry 3f0c2a91

    vmafx jobs get 3f0c2a91 --per-frame frames.csv
"""
#: Job details read at once when `jobs list` finds out where each job ran.
DETAIL_CONCURRENCY = 8

app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False)
submit_app = typer.Typer(
    help="Submit a score or encode job; prints its id (or the job object with --format json; "
    "the id alone with -q). --from FILE.csv|FILE.jsonl submits one job per row, in batches.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(submit_app, name="submit")

JOB_ID = typer.Argument(..., help="The job id (a unique prefix of 4+ characters will do).")
FEATURE = typer.Option(
    [], "--feature", "-f", help="Extra metric: psnr, ssim, ms_ssim, psnr_hvs, ciede2000, cambi."
)
QUEUE = typer.Option(None, "--queue", help="Queue [default: the job's kind].")
PRIORITY = typer.Option(0, "--priority", help="Higher runs first.")
LABELS = typer.Option([], "--require-label", help="Node label KEY=VALUE the job needs.")
GPU_VENDOR = typer.Option(None, "--gpu-vendor", help="Run only on a node with this GPU vendor.")
NO_CHECK = typer.Option(
    False, "--no-check-inputs", help="Do not check that input files exist here (nodes only)."
)
WATCH = typer.Option(False, "--watch", help="Follow the job until it ends (as `jobs watch`).")
QUIET = typer.Option(
    False, "--quiet", "-q", help="Print only the job ids, one per line (for `id=$(…)`)."
)
FROM = typer.Option(
    None,
    "--from",
    help="Submit one job per row of FILE.csv (header row) or FILE.jsonl, in batches of 500. "
    "Columns: reference,distorted (several: a;b) for score, source,out and any option name "
    "(crf, codec, preset…) for encode, plus queue, priority, idempotency_key; an empty cell "
    "takes the command line's value.",
)


def _out() -> Console:
    return Console(highlight=False, soft_wrap=False)


def _submit(
    remote: Remote, request: JobRequest, fmt: Format, watch: bool, quiet: bool = False
) -> None:
    submitted = remote.call(lambda client: client.submit_job(request))
    job = submitted.job
    if not watch:
        if quiet:
            typer.echo(job.id)
            return
        if fmt is Format.json:
            sys.stdout.write(json.dumps(job_json(job)) + "\n")
            return
        again = " (seen before: same idempotency key)" if submitted.deduplicated else ""
        typer.echo(f"submitted {job.kind.value} job {job.id}{again}")
        if job.pending_reason:
            typer.echo(f"waiting: {job.pending_reason}")
        typer.echo(f"follow it with: vmafx jobs watch {job.id}")
        return
    if fmt is Format.table:
        typer.echo(f"submitted {job.kind.value} job {job.id}", err=True)
    _watch(remote, job.id, fmt)


def _submit_many(remote: Remote, requests: list[JobRequest], fmt: Format, quiet: bool) -> None:
    """`--from FILE`: every row's job, in batches under one progress bar."""
    progress = not quiet and fmt is Format.table and sys.stderr.isatty()
    done, batch_id = remote.call(
        lambda client: jobbatch.submit_all(client, requests, progress=progress)
    )
    if quiet:
        sys.stdout.write("".join(f"{item.job.id}\n" for item in done))
    elif fmt is Format.json:
        sys.stdout.write("".join(json.dumps(job_json(item.job)) + "\n" for item in done))
    else:
        again = sum(item.deduplicated for item in done)
        seen = f" ({again} seen before: same idempotency key)" if again else ""
        typer.echo(f"submitted {len(done)} jobs{seen}, batch {batch_id}")
        typer.echo("follow them with: vmafx jobs list")


def _require(value: str | None, what: str) -> str:
    if value is None:
        raise UsageError(f"missing {what}.", hint="Give it, or submit many jobs with --from FILE.")
    return value


@submit_app.command("score", no_args_is_help=True)
def submit_score(
    reference: str | None = typer.Argument(None, help="The reference video (path or URL)."),
    distorted: list[str] | None = typer.Argument(None, help="One or more distorted videos."),
    model: list[str] = opts.MODEL,
    feature: list[str] = FEATURE,
    subsample: int = opts.SUBSAMPLE,
    threads: int = typer.Option(0, min=0, help="libvmaf threads; 0 = every core of the node."),
    no_scale: bool = opts.NO_SCALE,
    queue: str | None = QUEUE,
    priority: int = PRIORITY,
    require_label: list[str] = LABELS,
    gpu_vendor: str | None = GPU_VENDOR,
    no_check_inputs: bool = NO_CHECK,
    watch: bool = WATCH,
    quiet: bool = QUIET,
    from_file: Path | None = FROM,
    controller: str = CONTROLLER,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    ca: Path | None = CA,
    fmt: Format = FORMAT,
) -> None:
    """Score DISTORTED videos against REFERENCE on the farm (paths are made absolute)."""
    options = {
        "models": model,
        "features": feature,
        "subsample": subsample,
        "no_scale": no_scale,
        "threads": threads,
    }

    def build(values: Mapping[str, Any]) -> JobRequest:
        listed = values.get("distorted") or []
        paths = listed.split(";") if isinstance(listed, str) else list(listed)
        request = jobspecs.score_request(
            _require(values.get("reference"), "REFERENCE"),
            [path.strip() for path in paths if path.strip()] or [_require(None, "DISTORTED")],
            options=options,
            placement=Placement(
                queue=values.get("queue"),
                priority=values.get("priority", 0),
                labels=require_label,
                gpu_vendor=gpu_vendor,
            ),
            check_inputs=not no_check_inputs,
        )
        return dataclasses.replace(request, idempotency_key=values.get("idempotency_key"))

    remote = Remote.of(controller, token, token_file, ca)
    defaults = {"reference": reference, "distorted": distorted or [], "queue": queue,
                "priority": priority, "idempotency_key": None}  # fmt: skip
    if from_file is not None:
        if reference is not None or distorted:
            raise UsageError("give either REFERENCE DISTORTED… or --from FILE, not both.")
        requests = jobbatch.requests_from(from_file, build, defaults, list(defaults))
        _submit_many(remote, requests, fmt, quiet)
        return
    _submit(remote, build(defaults), fmt, watch, quiet)


#: `submit encode` parameters that are not spec fields (the rest go to `jobspecs.encode_spec`).
_NOT_SPEC = frozenset(
    {"source", "out", "queue", "priority", "require_label", "no_check_inputs", "watch"}
    | {"controller", "token", "token_file", "fmt", "target_vmaf", "ca", "quiet", "from_file"}
    | {"metric"}
)


@submit_app.command("encode", no_args_is_help=True)
def submit_encode(
    source: str | None = typer.Argument(None, help="The video to encode (path or URL)."),
    out: str | None = typer.Option(None, "--out", "-o", help="Output file, written by the node."),
    codec: str = typer.Option("h264", "--codec", help="h264, hevc, av1 or vp9."),
    hw: str = typer.Option("prefer", "--hw", help="Hardware encoder: prefer, require or never."),
    encoder: str | None = typer.Option(
        None, "--encoder", help="Pin one encoder (libx264, hevc_nvenc…); waits for a node with it."
    ),
    crf: float | None = typer.Option(None, "--crf", help="Constant rate factor."),
    cq: float | None = typer.Option(None, "--cq", help="Constant quality (NVENC, QSV)."),
    qp: float | None = typer.Option(None, "--qp", help="Constant quantiser."),
    bitrate: float | None = typer.Option(None, "--bitrate", help="Target bitrate, kbit/s."),
    preset: str | None = typer.Option(None, "--preset", help="Encoder preset (medium, p5…)."),
    width: int | None = typer.Option(None, "--width", help="Output width (with --height)."),
    height: int | None = typer.Option(None, "--height", help="Output height (with --width)."),
    start: float | None = typer.Option(None, "--start", help="Trim: start second."),
    duration: float | None = typer.Option(None, "--duration", help="Trim: seconds to keep."),
    audio: str = typer.Option("copy", "--audio", help="copy, none or aac."),
    score_after: bool = typer.Option(False, "--score-after", help="VMAF of output vs source."),
    target_vmaf: float | None = typer.Option(
        None,
        "--target-vmaf",
        min=0,
        max=100,
        help="Deliver the cheapest encode whose VMAF reaches this (a tune job: the farm "
        "searches the CRF; followed until it ends).",
    ),
    metric: str | None = typer.Option(
        None, "--metric", help="With --target-vmaf: vmaf (default), vmaf_neg, vmaf_4k or p5."
    ),
    queue: str | None = QUEUE,
    priority: int = PRIORITY,
    require_label: list[str] = LABELS,
    no_check_inputs: bool = NO_CHECK,
    watch: bool = WATCH,
    quiet: bool = QUIET,
    from_file: Path | None = FROM,
    controller: str = CONTROLLER,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    ca: Path | None = CA,
    fmt: Format = FORMAT,
) -> None:
    """Encode SOURCE on the farm: hardware first when allowed, software fallback."""
    options = {key: value for key, value in locals().items() if key not in _NOT_SPEC}  # flags
    if metric is not None and target_vmaf is None:
        raise UsageError(
            "--metric is what --target-vmaf is measured on.", hint="Add --target-vmaf, or drop it."
        )
    if target_vmaf is not None:
        options["metric"] = metric
        _encode_to_target(_require(source, "SOURCE"), _require(out, "--out"), target_vmaf,
                          options, priority, not no_check_inputs,
                          Remote.of(controller, token, token_file, ca), fmt)  # fmt: skip
        return
    remote = Remote.of(controller, token, token_file, ca)
    defaults = {**options, "source": source, "out": out, "queue": queue, "priority": priority,
                "idempotency_key": None}  # fmt: skip

    def build(values: Mapping[str, Any]) -> JobRequest:
        placement = Placement(
            queue=values.get("queue"),
            priority=values.get("priority", 0),
            labels=require_label,
            encoder=values.get("encoder"),
        )
        request = jobspecs.encode_request(
            _require(values.get("source"), "SOURCE"),
            _require(values.get("out") or values.get("output"), "--out"),
            options=values,
            placement=placement,
            check_inputs=not no_check_inputs,
        )
        return dataclasses.replace(request, idempotency_key=values.get("idempotency_key"))

    if from_file is not None:
        if source is not None or out is not None:
            raise UsageError("give either SOURCE --out … or --from FILE, not both.")
        allowed = [*defaults, "output"]
        requests = jobbatch.requests_from(from_file, build, defaults, allowed)
        _submit_many(remote, requests, fmt, quiet)
        return
    _submit(remote, build(defaults), fmt, watch, quiet)


def _encode_to_target(
    source: str,
    out: str,
    target: float,
    options: dict[str, object],
    priority: int,
    check_inputs: bool,
    remote: Remote,
    fmt: Format,
) -> None:
    """`submit encode --target-vmaf`: a tune job whose chosen encode is delivered as --out."""
    from vmafx.cli.tune_farm import print_target, run_tune, tune_request  # noqa: PLC0415

    clashing = ("crf", "cq", "qp", "bitrate", "start", "duration")
    for name in clashing:
        if options.get(name) is not None:
            raise UsageError(
                f"--{name} cannot be combined with --target-vmaf: the search picks the rate.",
                hint="Drop it, or drop --target-vmaf to encode at a fixed setting.",
            )
    width, height = options.get("width"), options.get("height")
    if (width is None) != (height is None):
        raise UsageError(
            "--width and --height go together with --target-vmaf (the size every probe and "
            "the delivered encode are made at).",
            hint="Give both, e.g. --width 1280 --height 720, or neither.",
        )
    scale = {"width": width, "height": height} if width is not None else None
    fields = {"codec": options["codec"], "hw": options["hw"], "encoder": options["encoder"],
              "preset": options["preset"], "target_vmaf": target, "output": out,
              "metric": options.get("metric"), "scale": scale}  # fmt: skip
    request = tune_request(source, fields, check_inputs=check_inputs, priority=priority)
    print_target(run_tune(remote, request, fmt), fmt)


# --- reading jobs -------------------------------------------------------------------------------
async def resolve_id(client: ControllerClient, text: str) -> str:
    """A full job id from itself or a unique prefix of a recent job's id."""
    return await ids.resolve_id(client, text, listing_hint="List jobs with `vmafx jobs list`.")


async def _node_id(client: ControllerClient, node: str) -> str:
    views = await client.list_nodes(include_offline=True)
    for view in views:
        if node in (view.session.id, view.session.name):
            return view.session.id
    raise NotFoundError(f"no node is named {node!r}.", hint="See `vmafx nodes list --all`.")


async def _with_attempts(
    client: ControllerClient, jobs: list[Job]
) -> list[tuple[Job, tuple[Attempt, ...]]]:
    """Each job with its attempts (what `host / GPU` is read from), read a few at a time."""
    gate = asyncio.Semaphore(DETAIL_CONCURRENCY)

    async def attempts_of(job: Job) -> tuple[Attempt, ...]:
        if job.attempt == 0:
            return ()
        async with gate:
            return (await client.get_job(job.id)).attempts

    found = await asyncio.gather(*(attempts_of(job) for job in jobs))
    return list(zip(jobs, found, strict=True))


async def _list(
    client: ControllerClient, where: JobFilter, node: str | None, limit: int
) -> list[tuple[Job, tuple[Attempt, ...]]]:
    if node is not None:
        where = dataclasses.replace(where, node_id=await _node_id(client, node))
    jobs: list[Job] = []
    cursor: str | None = None
    while len(jobs) < limit:
        page = await client.list_jobs(where, limit=min(1000, limit - len(jobs)), cursor=cursor)
        jobs += page.jobs
        cursor = page.next_cursor
        if cursor is None:
            break
    return await _with_attempts(client, jobs[:limit])


@app.command("list")
def list_jobs(
    state: list[str] = typer.Option([], "--state", help="pending, running, completed…"),
    kind: list[str] = typer.Option([], "--kind", help="score, encode, thumbnail…"),
    queue: list[str] = typer.Option([], "--queue", help="Only jobs in this queue."),
    node: str | None = typer.Option(None, "--node", help="Only jobs running on this node."),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="Newest N jobs."),
    search: str | None = jobbulk.SEARCH,
    controller: str = CONTROLLER,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    ca: Path | None = CA,
    fmt: Format = FORMAT,
) -> None:
    """The newest jobs first, with their files, where each ran (`host / GPU`), progress and
    score. --search finds jobs by file name, id prefix, node or error text."""
    where = jobbulk.job_filter(state, kind, queue, search)
    remote = Remote.of(controller, token, token_file, ca)
    rows = remote.call(lambda client: _list(client, where, node, limit))
    if fmt is Format.json:
        sys.stdout.write(json.dumps([job_json(job, attempts) for job, attempts in rows]) + "\n")
    elif not rows:
        typer.echo("no jobs; submit one with `vmafx jobs submit score REF DIS`")
    else:
        _out().print(FittedFiles(jobs_table(rows, datetime.now(UTC), files=True)))


def _show(details: JobDetails, fmt: Format) -> None:
    if fmt is Format.json:
        sys.stdout.write(json.dumps(job_json(details.job, details.attempts)) + "\n")
        return
    console = _out()
    for view in job_views(details, datetime.now(UTC)):
        console.print(fit_notes(view))


@app.command("get")
def get_job(
    job_id: str = JOB_ID,
    controller: str = CONTROLLER,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    ca: Path | None = CA,
    fmt: Format = FORMAT,
    per_frame: Path | None = typer.Option(
        None,
        "--per-frame",
        help="Also write the job's full per-frame series to FILE.csv (as `vmafx score "
        "--per-frame` writes it) or FILE.json.",
    ),
) -> None:
    """One job: state, where it ran, pooled metrics, every attempt, the error in full."""
    if per_frame is not None and per_frame.suffix.lower() not in (".csv", ".json"):
        raise UsageError(f"--per-frame {per_frame}: name a .csv or .json file.")

    async def work(client: ControllerClient) -> tuple[JobDetails, JsonObject | None]:
        full = await resolve_id(client, job_id)
        details = await client.get_job(full)
        series = await client.job_frames(full) if per_frame is not None else None
        return details, series

    details, series = Remote.of(controller, token, token_file, ca).call(work)
    if per_frame is not None and series is not None:
        _write_frames(per_frame, series)
        frames_done = sum(len(item.get("frame_nums", [])) for item in series["inputs"])
        typer.echo(f"wrote {frames_done} frames to {per_frame}", err=True)
    _show(details, fmt)


def _write_frames(path: Path, series: JsonObject) -> None:
    if path.suffix.lower() == ".json":
        text = json.dumps(series)
    else:
        text = frames.to_csv(series["inputs"], series["pooled"])
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise OutputWriteError(
            f"--per-frame {path} could not be written: {error.strerror or error}.",
            path=str(path),
        ) from None


def _watch(remote: Remote, job_id: str, fmt: Format) -> None:
    with Display(fmt) as display:

        async def work(client: ControllerClient) -> JobDetails:
            return await follow(client, await resolve_id(client, job_id), display)

        try:
            details = remote.call(work)
        except KeyboardInterrupt:
            typer.echo(f"stopped watching; job {job_id} goes on.", err=True)
            raise typer.Exit(130) from None
    if fmt is Format.table:
        _show(details, fmt)
    job = details.job
    if job.state is not JobState.COMPLETED:
        first = (job.error or "").splitlines()[0] if job.error else "no reason given"
        raise VmafxError(f"job {job.id} {job.state.value}: {first}")


@app.command("watch")
def watch_job(
    job_id: str = JOB_ID,
    controller: str = CONTROLLER,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    ca: Path | None = CA,
    fmt: Format = typer.Option(Format.table, "--format", help="table, or json (NDJSON)."),
) -> None:
    """Follow a job live until it ends; exit 0 when it completes, 1 when it fails or is
    cancelled. With --format json, one job object per change."""
    _watch(Remote.of(controller, token, token_file, ca), job_id, fmt)


app.command("cancel")(jobbulk.cancel_job)
app.command("retry")(jobbulk.retry_jobs)
