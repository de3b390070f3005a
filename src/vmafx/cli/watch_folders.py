"""`vmafx watch DIR… --rule health|score|encode`: new and changed files of watched folders become
jobs on a farm (Tdarr's and Unmanic's "libraries").

Where it runs: a CLI process beside the files (on any machine that sees the folders at the paths
the nodes see them), talking to the controller's gRPC API like `vmafx jobs submit`. The
controller keeps no folder settings and needs no access to the folders; several watchers (one
per folder, or per machine) feed one farm; stopping the watcher stops nothing on the farm.

- Each scan walks the folders (recursively; `--include`/`--exclude` globs on the path relative
  to its folder; hidden files and partial downloads skipped). A file is submitted once it has
  stopped growing: its size and modification time unchanged for `--settle` seconds (a file last
  modified longer ago than that is settled at first sight).
- Each version of a file is submitted once: the job's idempotency key is derived from the
  library, the rule, the path, the size and the modification time (`vmafx.core.libraries`). A
  restarted watcher submits everything again and the controller answers with the jobs it already
  has (no state file); a modified file has a new key, hence a new job.
- Jobs carry the batch id `watch:NAME` (`--name`, default the folder's name): the Libraries page
  of the web UI and `GET /v1/libraries` count them per state; `vmafx jobs list` and
  `GET /v1/jobs?batch_id=watch:NAME` list them.
- Rules: `health` (decode every frame); `score` against the reference a naming rule finds
  (`--reference '/media/refs/{base}.y4m'`; a file waits while its reference is missing); `encode`
  to `--out-dir` at `--target-vmaf` (a tune job: the controller's tuner searches the CRF; once it
  is done the watcher moves the chosen encode from the tuner's hidden `.NAME.tune/` folder into
  `--out-dir` when it sees that folder) or at a fixed `--crf`.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from vmafx.cli import jobspecs
from vmafx.cli.jobspecs import Placement
from vmafx.cli.remote import CA, CONTROLLER, TOKEN, TOKEN_FILE, Remote
from vmafx.client.port import ControllerClient
from vmafx.core import specs
from vmafx.core.jobs import JobKind, JobState
from vmafx.core.libraries import file_key, library_batch_id, suggested_name, valid_name
from vmafx.core.messages import JobFilter, JobRequest, Submitted
from vmafx.errors import UsageError, VmafxError

HELP = """Watch folders: submit each new or changed file as a job (health, score or encode).

Files are submitted once they stop growing, each version once (idempotency keys from path,
size and modification time), so restarting the watcher never duplicates a job. The web UI's
Libraries page shows each watched folder's jobs.

    vmafx watch /media/incoming --rule health

    vmafx watch /media/encodes --rule score --reference '/media/refs/{base}.y4m'

    vmafx watch /media/masters --rule encode --codec av1 --target-vmaf 93 --out-dir /media/av1
"""
RULES = ("health", "score", "encode")
#: Never submitted: hidden files, and what downloaders and copiers write before renaming.
SKIPPED = (".*", "*.part", "*.tmp", "*.crdownload", "*.partial", "*~")
VIDEO_GLOBS = ("*.mp4", "*.mov", "*.mkv", "*.webm", "*.m4v", "*.avi", "*.ts", "*.mts",
               "*.mxf", "*.y4m", "*.ivf", "*.flv", "*.mpg", "*.mpeg", "*.wmv")  # fmt: skip
#: Jobs submitted per call (one call per scan when fewer are new).
BATCH = 200


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    kind: str
    reference: str | None = None
    codec: str = "h264"
    crf: float | None = None
    target_vmaf: float | None = None
    preset: str | None = None
    out_dir: str | None = None
    ext: str = "mkv"
    placement: Placement = dataclasses.field(default_factory=Placement)

    def check(self) -> None:
        if self.kind not in RULES:
            raise UsageError(f"--rule {self.kind!r} is not one of {', '.join(RULES)}.")
        if self.kind == "score" and not self.reference:
            raise UsageError(
                "--rule score needs --reference: where each file's reference is.",
                hint="For example --reference '/media/refs/{base}.y4m' ({stem}: the file's name "
                "without extension; {base}: the same without its last _suffix; {dir}: its folder).",
            )
        if self.kind == "encode":
            if not self.out_dir:
                raise UsageError("--rule encode needs --out-dir: where the encodes go.")
            if self.crf is not None and self.target_vmaf is not None:
                raise UsageError("--crf and --target-vmaf exclude each other: pick one.")

    def describe(self) -> str:
        if self.kind == "encode":
            how = (f"target VMAF {self.target_vmaf:g}" if self.target_vmaf is not None
                   else f"CRF {self.crf if self.crf is not None else 'default'}")  # fmt: skip
            return f"encode to {self.codec}, {how}, into {self.out_dir}"
        if self.kind == "score":
            return f"score against {self.reference}"
        return "health check (decode every frame)"


def reference_for(template: str, path: Path) -> str:
    """The reference a naming rule gives `path`: {stem}, {base}, {name}, {dir}, {ext}."""
    stem = path.stem
    base = stem.rsplit("_", 1)[0] if "_" in stem else stem
    try:
        found = template.format(
            stem=stem, base=base, name=path.name, dir=str(path.parent), ext=path.suffix
        )
    except (KeyError, IndexError, ValueError) as error:
        raise UsageError(
            f"--reference {template!r} has an unknown placeholder ({error}).",
            hint="Use {stem}, {base}, {name}, {dir} or {ext}.",
        ) from None
    return os.path.abspath(os.path.expanduser(found))


@dataclasses.dataclass(slots=True)
class Sighting:
    size: int
    mtime_ns: int
    since: float


@dataclasses.dataclass(slots=True)
class ScanCounts:
    files: int = 0
    settling: int = 0
    waiting: int = 0
    submitted: int = 0
    known: int = 0

    def line(self) -> str:
        return (
            f"{self.files} files: {self.submitted} submitted, {self.known} seen before, "
            f"{self.settling} still growing, {self.waiting} waiting for a reference"
        )


class FolderWatcher:
    """Scans folders and turns settled, new file versions into job requests."""

    def __init__(
        self,
        folders: Sequence[Path],
        rule: Rule,
        *,
        name: str,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        settle_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.folders = [folder.resolve() for folder in folders]
        self.rule = rule
        self.name = name
        self.include = tuple(include) or VIDEO_GLOBS
        self.exclude = tuple(exclude)
        self.settle_s = settle_s
        self.clock = clock
        self.sightings: dict[Path, Sighting] = {}
        #: Keys this process submitted (or found submitted): not sent again while it runs.
        self.done: set[str] = set()
        self.said: set[str] = set()
        #: Tune jobs whose chosen encode is in --out-dir.
        self.delivered: set[str] = set()
        self._out = Path(rule.out_dir).resolve() if rule.out_dir else None

    def files(self) -> Iterator[Path]:
        for folder in self.folders:
            for root, dirs, names in os.walk(folder):
                here = Path(root)
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and
                                 (self._out is None or here / d != self._out))  # fmt: skip
                for file_name in sorted(names):
                    path = here / file_name
                    relative = str(path.relative_to(folder))
                    if any(fnmatch.fnmatch(file_name, glob) for glob in SKIPPED):
                        continue
                    if not any(_matches(relative, file_name, g) for g in self.include):
                        continue
                    if any(_matches(relative, file_name, g) for g in self.exclude):
                        continue
                    yield path

    def settled(self, path: Path, now: float) -> Sighting | None:
        """The file's size and mtime when it has stopped growing; None while it may grow."""
        try:
            stat = path.stat()
        except OSError:
            self.sightings.pop(path, None)
            return None
        seen = self.sightings.get(path)
        if seen is None or (seen.size, seen.mtime_ns) != (stat.st_size, stat.st_mtime_ns):
            seen = Sighting(stat.st_size, stat.st_mtime_ns, now)
            self.sightings[path] = seen
        age = self.clock() - stat.st_mtime_ns / 1e9  # a growing file's mtime keeps moving
        # An mtime in the future (a file server's clock ahead of ours): watch the size instead.
        quiet = age >= self.settle_s or (age < 0 and now - seen.since >= self.settle_s)
        return seen if stat.st_size > 0 and quiet else None

    def request(self, path: Path, seen: Sighting) -> tuple[str, JobRequest | None]:
        """The idempotency key and job of this version of `path` (None: not yet, say why)."""
        rule = self.rule
        key = file_key(self.name, rule.kind, str(path), seen.size, seen.mtime_ns)
        source = str(path)
        spec: specs.JobSpec
        if rule.kind == "health":
            spec = specs.HealthSpec(source=source)
        elif rule.kind == "score":
            assert rule.reference is not None
            reference = reference_for(rule.reference, path)
            if not os.path.isfile(reference):
                return key, None
            spec = specs.ScoreSpec(reference=reference, distorted=(source,))
        else:
            spec = self._encode_spec(path)
        placement = rule.placement
        return key, JobRequest(
            spec=spec,
            queue=placement.queue,
            priority=placement.priority,
            requirements=placement.requirements(),
            batch_id=library_batch_id(self.name),
            idempotency_key=key,
        )

    def _encode_spec(self, path: Path) -> specs.JobSpec:
        """A tune job's spec at --target-vmaf (the tuner searches the CRF), else an encode's."""
        rule = self.rule
        assert rule.out_dir is not None
        output = str(Path(rule.out_dir).resolve() / f"{path.stem}.{rule.ext}")
        if rule.target_vmaf is not None:
            from vmafx.cli.tune_farm import tune_request  # noqa: PLC0415

            fields = {"codec": rule.codec, "target_vmaf": rule.target_vmaf, "output": output}
            return tune_request(str(path), {**fields, "preset": rule.preset}).spec
        options = {"codec": rule.codec, "crf": rule.crf, "preset": rule.preset}
        return jobspecs.encode_request(str(path), output, options=options,
                                       placement=rule.placement).spec  # fmt: skip

    def pending(self, now: float) -> tuple[list[tuple[Path, str, JobRequest]], ScanCounts]:
        """What one scan finds to submit, and the counts it saw."""
        counts = ScanCounts()
        found: list[tuple[Path, str, JobRequest]] = []
        for path in self.files():
            counts.files += 1
            seen = self.settled(path, now)
            if seen is None:
                counts.settling += 1
                continue
            key, request = self.request(path, seen)
            if key in self.done:
                counts.known += 1
            elif request is None:
                counts.waiting += 1
            else:
                found.append((path, key, request))
        return found, counts


def _matches(relative: str, name: str, glob: str) -> bool:
    return fnmatch.fnmatch(relative, glob) or ("/" not in glob and fnmatch.fnmatch(name, glob))


async def submit_all(
    client: ControllerClient, requests: Sequence[JobRequest]
) -> list[Submitted | VmafxError]:
    """Submit in batches; a batch the controller refuses is retried one job at a time so one
    bad file (outside the scoring roots, say) does not hold the others back."""
    done: list[Submitted | VmafxError] = []
    for start in range(0, len(requests), BATCH):
        chunk = list(requests[start : start + BATCH])
        try:
            done += await client.submit_jobs(chunk)
            continue
        except VmafxError:
            pass  # one by one below, each with its own answer
        for request in chunk:
            try:
                done.append(await client.submit_job(request))
            except VmafxError as error:
                done.append(error)
    return done


def watch(
    folders: list[Path] = typer.Argument(..., help="Folders to watch (recursively)."),
    rule: str = typer.Option(..., "--rule", help="health, score or encode."),
    name: str | None = typer.Option(
        None, "--name", help="The library's name [default: the first folder's name]."
    ),
    include: list[str] = typer.Option(
        [], "--include", help="Glob of files to take (repeat) [default: video extensions]."
    ),
    exclude: list[str] = typer.Option([], "--exclude", help="Glob of files to skip (repeat)."),
    settle: float = typer.Option(
        5.0, "--settle", min=0, help="Seconds a file's size must hold still before submitting."
    ),
    interval: float = typer.Option(2.0, "--interval", min=0.05, help="Seconds between scans."),
    once: bool = typer.Option(False, "--once", help="Scan once, submit what is settled, exit."),
    reference: str | None = typer.Option(
        None, "--reference", help="score: the reference's path, e.g. '/refs/{base}.y4m'."
    ),
    codec: str = typer.Option("h264", "--codec", help="encode: h264, hevc, av1 or vp9."),
    crf: float | None = typer.Option(None, "--crf", help="encode: a fixed CRF."),
    target_vmaf: float | None = typer.Option(
        None, "--target-vmaf", help="encode: the CRF search's VMAF target (a tune job)."
    ),
    preset: str | None = typer.Option(None, "--preset", help="encode: encoder preset."),
    out_dir: Path | None = typer.Option(None, "--out-dir", help="encode: where outputs go."),
    ext: str = typer.Option("mkv", "--ext", help="encode: output extension."),
    queue: str | None = typer.Option(None, "--queue", help="Queue [default: the job's kind]."),
    priority: int = typer.Option(0, "--priority", help="Higher runs first."),
    controller: str = CONTROLLER,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    ca: Path | None = CA,
) -> None:
    for folder in folders:
        if not folder.is_dir():
            raise UsageError(f"{folder} is not a folder.", hint="Give folders to watch.")
    library = name or suggested_name(str(folders[0].resolve()))
    if not valid_name(library):
        raise UsageError(
            f"--name {library!r} is not a library name.",
            hint="Use up to 48 letters, digits, '.', '_' or '-', starting with a letter or digit.",
        )
    the_rule = Rule(
        kind=rule, reference=reference, codec=codec, crf=crf, target_vmaf=target_vmaf,
        preset=preset, out_dir=str(out_dir) if out_dir else None, ext=ext.lstrip("."),
        placement=Placement(queue=queue, priority=priority),
    )  # fmt: skip
    the_rule.check()
    watcher = FolderWatcher(folders, the_rule, name=library, include=include, exclude=exclude,
                            settle_s=settle)  # fmt: skip
    remote = Remote.of(controller, token, token_file, ca)
    console = Console(highlight=False, soft_wrap=True)  # one line per file, never wrapped
    where = ", ".join(str(folder) for folder in watcher.folders)
    console.print(f"watching {escape(where)} as library {escape(library)}: "
                  f"{escape(the_rule.describe())}")  # fmt: skip
    try:
        remote.call(lambda client: _loop(client, watcher, console, interval, once))
    except KeyboardInterrupt:
        console.print("stopped watching; submitted jobs go on.")
        raise typer.Exit(130) from None


async def deliver_tuned(client: ControllerClient, watcher: FolderWatcher) -> list[str]:
    """Move each finished tune job's chosen encode from its hidden `.NAME.tune/` folder to
    `--out-dir` (`tune_farm.deliver`: only when this machine sees the file); the paths moved."""
    from vmafx.cli.tune_farm import deliver  # noqa: PLC0415

    where = JobFilter(batch_id=library_batch_id(watcher.name), kinds=(JobKind.TUNE,),
                      states=(JobState.COMPLETED,))  # fmt: skip
    moved: list[str] = []
    cursor: str | None = None
    while True:
        page = await client.list_jobs(where, limit=500, cursor=cursor)
        for job in page.jobs:
            result = job.result or {}
            chosen, wanted = result.get("output"), result.get("deliver_as")
            if job.id in watcher.delivered or not chosen or not wanted:
                continue
            if os.path.isfile(str(chosen)):
                deliver(dict(result))
                moved.append(str(wanted))
            if os.path.isfile(str(wanted)):
                watcher.delivered.add(job.id)
        cursor = page.next_cursor
        if cursor is None:
            return moved


async def _loop(
    client: ControllerClient,
    watcher: FolderWatcher,
    console: Console,
    interval: float,
    once: bool,
) -> None:
    import asyncio  # noqa: PLC0415

    said = ""
    while True:
        found, counts = watcher.pending(time.monotonic())
        if found:
            outcomes = await submit_all(client, [request for _, _, request in found])
            for (path, key, request), outcome in zip(found, outcomes, strict=True):
                if isinstance(outcome, VmafxError):
                    if key not in watcher.said:
                        watcher.said.add(key)
                        console.print(f"[red]refused[/] {escape(str(path))}: "
                                      f"{escape(outcome.message)}")  # fmt: skip
                    continue
                watcher.done.add(key)
                job = outcome.job
                if outcome.deduplicated:
                    counts.known += 1
                else:
                    counts.submitted += 1
                    console.print(f"submitted {request.kind.value} job {job.id}  "
                                  f"{escape(str(path))}")  # fmt: skip
        if watcher.rule.target_vmaf is not None:
            for moved in await deliver_tuned(client, watcher):
                console.print(f"delivered {escape(moved)} (the tuner's chosen encode)")
        line = counts.line()
        if line != said:
            console.print(f"[dim]{escape(line)}[/]")
            said = line
        if once:
            return
        await asyncio.sleep(interval)
