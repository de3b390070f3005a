"""`vmafx jobs watch`: follow one job through the controller's live stream until it ends.

On a terminal a progress bar (state, `host / GPU`, percent, elapsed, time left) is drawn on
stderr; elsewhere (a pipe, CI logs) one line is written per change of state, of host or of each
tenth of progress. `--format json` writes one JSON object per change on stdout (NDJSON).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

from vmafx.cli.jobviews import job_json, where
from vmafx.cli.remote import Format
from vmafx.client.port import ControllerClient
from vmafx.core.attempts import Attempt
from vmafx.core.jobs import Job, JobState
from vmafx.core.messages import JobDetails, JobFilter
from vmafx.core.progress_text import progress_text
from vmafx.errors import UnavailableError

OnChange = Callable[[Job, Sequence[Attempt]], None]


async def follow(client: ControllerClient, job_id: str, on_change: OnChange) -> JobDetails:
    """Call `on_change` for the job now and at every change; return it once it has ended."""
    details = await client.get_job(job_id)  # NotFoundError before any stream is opened
    on_change(details.job, details.attempts)
    if details.job.is_terminal:
        return details
    attempts, attempt = details.attempts, details.job.attempt
    async for changed in client.watch_jobs(JobFilter(job_ids=(job_id,))):
        if changed.id != job_id:
            continue
        job = changed
        if job.attempt != attempt or job.is_terminal:  # a new claim, or the end: who ran it
            details = await client.get_job(job_id)
            job, attempts, attempt = details.job, details.attempts, details.job.attempt
        on_change(job, attempts)
        if job.is_terminal:
            return JobDetails(job=job, attempts=attempts)
    raise UnavailableError(
        f"the controller closed the stream before job {job_id} ended.",
        hint=f"Run `vmafx jobs watch {job_id}` again.",
    )


class Display:
    """What `follow` reports to: a bar, plain lines, or NDJSON (see the module docstring)."""

    def __init__(self, fmt: Format, console: Console | None = None) -> None:
        self.fmt = fmt
        self.console = console or Console(stderr=True, highlight=False)
        self._last: tuple[str, str, str, int] | None = None
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        if fmt is Format.table and self.console.is_terminal:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )

    def __enter__(self) -> Display:
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task("waiting", total=100)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, job: Job, attempts: Sequence[Attempt]) -> None:
        if self.fmt is Format.json:
            sys.stdout.write(json.dumps(job_json(job, attempts)) + "\n")
            sys.stdout.flush()
            return
        host = where(job, attempts) or ""
        percent = 100.0 if job.state is JobState.COMPLETED else (job.progress or 0.0) * 100
        phase = str((job.progress_detail or {}).get("phase") or "")
        if self._bar is not None and self._task is not None:
            label = f"{job.state.value} {host} {phase}".strip()
            self._bar.update(self._task, description=escape(label), completed=percent)
            return
        step = (job.state.value, host, phase, int(percent // 10))
        if step != self._last:
            self._last = step
            self.console.print(Text(_line(job, host, percent)))  # names as typed, not markup


def _line(job: Job, host: str, percent: float) -> str:
    text = f"{job.id}  {job.state.value}"
    if host:
        text += f" on {host}"
    if job.state is JobState.RUNNING:
        text += f"  {progress_text(job) or f'{percent:.0f}%'}"
    if job.state is JobState.PENDING and job.pending_reason:
        text += f"  (waiting: {job.pending_reason})"
    return text
