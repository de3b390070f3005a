"""Jobs and nodes as the client CLI shows them: JSON objects and Rich tables.

The JSON object of a job is the HTTP API's, from the one codec (`vmafx.core.job_json`): `id`,
`state`, `kind`, …, `where` (the last attempt's `host / GPU`, `zampp2 / L4`) and for `jobs get`
the `attempts`.
Every string a user, a node or an error chose goes into the tables as `Text`, never as a Rich
markup string, so `clip[x].mp4` keeps its brackets (and `[/]` cannot break the table).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from vmafx.cli.tables import fit_notes, natural_width
from vmafx.core.attempts import Attempt
from vmafx.core.gpuusage import GpuUsage
from vmafx.core.job_json import job_json, score_of, where
from vmafx.core.jobs import Job, JobKind, JobState
from vmafx.core.jobsearch import base_name, job_files
from vmafx.core.messages import JobDetails, NodeView
from vmafx.core.pooling import POOL_METHODS
from vmafx.core.progress_text import progress_text
from vmafx.core.retries import retry_of
from vmafx.core.scores import shown_pooled

STATE_STYLES = {
    JobState.PENDING: "yellow",
    JobState.RUNNING: "cyan",
    JobState.COMPLETED: "green",
    JobState.FAILED: "red",
    JobState.CANCELLED: "magenta",
}
NONE = "—"
#: Re-exported: the CLI's `--format json` of a job is the one codec's.
__all__ = ["job_json", "score_of", "where"]


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def duration_s(job: Job, now: datetime) -> float | None:
    if job.started_at is None:
        return None
    return ((job.finished_at or now) - job.started_at).total_seconds()


# --- text ---------------------------------------------------------------------------------------
def state_text(job: Job) -> Text:
    return Text(job.state.value, style=STATE_STYLES[job.state])


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return NONE
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def fmt_progress(job: Job) -> str:
    if job.state is JobState.COMPLETED:
        return "100%"
    return f"{job.progress * 100:.0f}%" if job.progress is not None else NONE


def note(job: Job) -> str:
    """Why it waits, or how it failed (first line)."""
    text = job.pending_reason if job.state is JobState.PENDING else job.error
    return (text or "").splitlines()[0] if text else ""


def files_summary(job: Job) -> str:
    """`ref.mp4 → crf38.mp4 (+2)`: the base names of the job's files (full paths: `jobs get`)."""
    inputs, outputs = job_files(job.spec)
    names = [base_name(path) for path in inputs[:2]]
    more = f" (+{len(inputs) - 2})" if len(inputs) > 2 else ""
    left = (" → " if job.kind is JobKind.SCORE else ", ").join(names) + more
    right = ", ".join(base_name(path) for path in outputs)
    return f"{left} → {right}" if right else left or NONE


#: The narrowest the files column is shown (else it is left out; `--format json` has them).
FILES_MIN = 18
FILES_MAX = 48


class FittedFiles:
    """The jobs table with its files column when the terminal leaves it `FILES_MIN`
    characters (cut with "…" at `FILES_MAX`), else without; notes then fit as `fit_notes`
    fits them (beside the rows or under the table)."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def _without(self, *headers: str) -> Table:
        rest = copy.copy(self.table)
        rest.columns = [c for c in self.table.columns if str(c.header) not in headers]
        return rest

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        others = natural_width(console, options, self._without("files", "note"))
        room = options.max_width - others - 2  # the column's padding and rule
        if room < FILES_MIN:
            yield fit_notes(self._without("files"))
            return
        fitted = copy.copy(self.table)
        fitted.columns = [
            dataclasses.replace(c, max_width=min(room, FILES_MAX))
            if str(c.header) == "files"
            else c
            for c in self.table.columns
        ]
        yield fit_notes(fitted)


def jobs_table(
    rows: Sequence[tuple[Job, Sequence[Attempt]]], now: datetime, *, files: bool = False
) -> Table:
    """The `jobs list` table; with `files`, a files column too (render it with `FittedFiles`,
    which leaves it out when the terminal has no room for it)."""
    table = Table(header_style="bold", show_edge=False, pad_edge=False)
    for name in ("id", "state", "kind", "queue", "host / GPU", "progress", "duration", "score"):
        table.add_column(name, justify="right" if name in ("progress", "score") else "left")
    if files:
        table.add_column("files", no_wrap=True, overflow="ellipsis")
    table.add_column("note", overflow="fold", ratio=1)
    for job, attempts in rows:
        score = score_of(job)
        cells: list[str | Text] = [
            job.id[:8],  # `jobs get|watch|cancel` take a unique prefix; JSON has the full id
            state_text(job),
            job.kind.value,
            Text(job.queue),
            Text(where(job, attempts) or NONE),
            fmt_progress(job),
            fmt_duration(duration_s(job, now)),
            f"{score:.2f}" if score is not None else NONE,
        ]
        if files:
            cells.append(Text(files_summary(job)))
        table.add_row(*cells, Text(note(job), style="dim"))
    return table


def _facts(details: JobDetails, now: datetime) -> Table:
    job = details.job
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    score = score_of(job)
    facts: list[tuple[str, str | Text]] = [
        ("job", Text(job.id)),
        ("state", state_text(job)),
        ("kind / queue", Text(f"{job.kind.value} / {job.queue}")),
        ("host / GPU", Text(where(job, details.attempts) or NONE)),
        ("progress", progress_text(job) or fmt_progress(job)),
        ("duration", fmt_duration(duration_s(job, now))),
        ("score", f"{score:.4f}" if score is not None else NONE),
        ("created", job.created_at.strftime("%Y-%m-%d %H:%M:%S")),
    ]
    if job.state is JobState.PENDING and job.pending_reason:
        facts.append(("waiting because", Text(job.pending_reason)))
    if retry_of(job):
        facts.append(("retry of", Text(str(retry_of(job)))))
    for key in ("reference", "source", "output"):
        if key in job.spec:
            facts.append((key, Text(str(job.spec[key]))))
    for index, path in enumerate(job.spec.get("distorted") or ()):
        facts.append((f"distorted[{index}]", Text(str(path))))
    for key, value in facts:
        table.add_row(Text(key), value)
    return table


def _attempts(attempts: Sequence[Attempt]) -> Table:
    table = Table(title="attempts", title_justify="left", header_style="bold", show_edge=False)
    for name in ("#", "node", "host / GPU", "encoder", "outcome", "started", "error"):
        table.add_column(name, overflow="fold")
    for item in attempts:
        encoder = (item.encoder or NONE) + (" (fallback)" if item.fallback else "")
        table.add_row(
            str(item.number),
            Text(item.node_name),
            Text(item.where),
            Text(encoder),
            item.outcome.value if item.outcome else "running",
            item.started_at.strftime("%H:%M:%S"),
            Text((item.error or "").splitlines()[0] if item.error else ""),
        )
    return table


def _pooled(job: Job) -> list[Table]:
    tables = []
    results = (job.result or {}).get("results")
    for item in results if isinstance(results, list) else []:
        pooled = item.get("pooled") if isinstance(item, dict) else None
        if not isinstance(pooled, dict):
            continue
        title = Text(str(item.get("distorted", "")))
        table = Table(title=title, title_justify="left", show_edge=False)
        table.add_column("metric", overflow="fold")
        for method in POOL_METHODS:
            table.add_column(method.replace("_", " "), justify="right", no_wrap=True)
        for metric, values in shown_pooled(pooled).items():
            cells = [values.get(method) for method in POOL_METHODS]
            figures = (f"{v:.4f}" if isinstance(v, float) else NONE for v in cells)
            table.add_row(Text(str(metric)), *figures)
        tables.append(table)
    return tables


def _health(result: dict[str, Any]) -> Table:
    """A health check's verdict, then each decode error with its stream, time and frame."""
    expected = result.get("frames_expected")
    frames = (
        f"{result.get('frames_decoded')} of {expected}"
        if expected
        else result.get("frames_decoded")
    )
    verdict = "ok" if result.get("ok") else f"{result.get('error_count')} decode errors"
    table = Table(
        title=Text(f"health: {verdict}, {frames} frames decoded"),
        title_justify="left",
        header_style="bold",
        show_edge=False,
    )
    for name in ("stream", "time", "frame", "error"):
        table.add_column(name, overflow="fold")
    for error in result.get("errors") or []:
        time_s, frame = error.get("time_s"), error.get("frame")
        table.add_row(
            Text(str(error.get("stream", ""))),
            f"{time_s:.3f} s" if isinstance(time_s, int | float) else NONE,
            str(frame) if frame is not None else NONE,
            Text(str(error.get("message", ""))),
        )
    return table


def job_views(details: JobDetails, now: datetime) -> list[Table | Text]:
    """`jobs get`: the facts, the pooled metrics, the attempts, and the error in full."""
    views: list[Table | Text] = [_facts(details, now), *_pooled(details.job)]
    if details.job.kind is JobKind.HEALTH and details.job.result:
        views.append(_health(details.job.result))
    if details.attempts:
        views.append(_attempts(details.attempts))
    if details.job.error:
        views.append(Text.assemble(("error: ", "bold red"), details.job.error))
    return views


# --- nodes --------------------------------------------------------------------------------------
def node_json(view: NodeView) -> dict[str, Any]:
    session = view.session
    return {
        "id": session.id,
        "name": session.name,
        "state": view.state.value,
        **session.capabilities.to_json(),
        "running_job_ids": list(view.running_job_ids),
        "slots_in_use": dict(view.slots_in_use),
        "drain_requested": view.drain_requested,
        "gpu_usage": [usage.to_json() for usage in view.gpu_usage],
        "gpu_usage_at": _iso(view.gpu_usage_at) if view.gpu_usage_at else None,
        "created_at": _iso(session.created_at),
        "last_seen_at": _iso(session.last_seen_at),
        "expires_at": _iso(session.expires_at),
    }


def _gpu_load(usage: GpuUsage | None) -> str:
    """` 37% enc 61%` (busy GPU and encoder) from the node's last heartbeat, or ""."""
    if usage is None or usage.utilization_pct is None:
        return ""
    encoder = usage.encoder_utilization_pct
    return f" {usage.utilization_pct:.0f}%" + (
        f" enc {encoder:.0f}%" if encoder is not None else ""
    )


def nodes_table(views: Sequence[NodeView], now: datetime) -> Table:
    table = Table(header_style="bold", show_edge=False, pad_edge=False)
    for name in ("name", "state", "host", "GPUs", "encoders", "queues", "slots", "heartbeat"):
        table.add_column(name, overflow="fold")
    for view in views:
        caps = view.session.capabilities
        load = {usage.uuid: usage for usage in view.gpu_usage}
        gpus = ", ".join(
            (f"{gpu.name} ({gpu.memory_mb / 1024:.0f} GB)" if gpu.memory_mb else gpu.name)
            + _gpu_load(load.get(gpu.uuid))
            for gpu in caps.gpus
        )
        queues = ", ".join(
            f"{queue}×{caps.concurrency[queue]}" if queue in caps.concurrency else queue
            for queue in caps.queues
        )
        used = sum(view.slots_in_use.values())
        seen = (now - view.session.last_seen_at).total_seconds()
        table.add_row(
            Text(view.session.name),
            view.state.value,
            Text(caps.host or NONE),
            Text(gpus or caps.gpu_vendor),
            Text(", ".join(caps.encoders) or NONE),
            Text(queues or "all"),
            f"{used}/{caps.slots}",
            f"{fmt_duration(seen)} ago",
        )
    return table
