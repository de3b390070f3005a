"""`vmafx jobs cancel|retry`: one job, several, or every job matching a search, in one call.

One id keeps the single-job calls (`CancelJob`, `RetryJob`); several ids or `--filter` (with
`--state/--kind/--queue`) make one `CancelJobs`/`RetryJobs` call that the controller carries
out a page per transaction. The search grammar is `vmafx.core.jobsearch`'s, shared with
`jobs list --search` and the Jobs page. Registered on the `jobs` app by `vmafx.cli.jobs`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from vmafx.cli.jobviews import job_json
from vmafx.cli.remote import CA, CONTROLLER, FORMAT, TOKEN, TOKEN_FILE, Format, Remote
from vmafx.client import ids
from vmafx.client.port import ControllerClient
from vmafx.core.jobs import parse_kind, parse_state
from vmafx.core.jobsearch import parse_search
from vmafx.core.messages import JobDetails, JobFilter, Submitted
from vmafx.core.retries import BulkResult
from vmafx.errors import UsageError


async def resolve_id(client: ControllerClient, text: str) -> str:
    return await ids.resolve_id(client, text, listing_hint="List jobs with `vmafx jobs list`.")


SEARCH = typer.Option(
    None,
    "--search",
    "-s",
    help="Words that match a file name, the start of a job id, a node or the error; "
    "narrow one with file:, id:, node:, error:, state:, kind:, queue: "
    "(e.g. 'state:failed node:gpu-2 crf38').",
)


def job_filter(
    state: list[str], kind: list[str], queue: list[str], search: str | None
) -> JobFilter:
    where = JobFilter(
        states=tuple(parse_state(value) for value in state),
        kinds=tuple(parse_kind(value) for value in kind),
        queues=tuple(queue),
        search=search or None,
    )
    parse_search(search)  # a search that cannot be read fails here, before any call
    return where


BULK_FILTER = typer.Option(
    None,
    "--filter",
    help="Act on every job matching this search (as `jobs list --search`), in one call.",
)
BULK_STATE = typer.Option([], "--state", help="With --filter: only jobs in this state.")
BULK_KIND = typer.Option([], "--kind", help="With --filter: only jobs of this kind.")
BULK_QUEUE = typer.Option([], "--queue", help="With --filter: only jobs in this queue.")
JOB_IDS = typer.Argument(None, help="Job ids (unique prefixes of 4+ characters will do).")


async def _bulk_target(
    client: ControllerClient, job_ids: list[str], where: JobFilter | None
) -> JobFilter:
    """The jobs a bulk command takes: its ids resolved, or its filter."""
    if where is not None:
        return where
    return JobFilter(job_ids=tuple([await resolve_id(client, text) for text in job_ids]))


def _bulk_filter(
    job_ids: list[str] | None, search: str | None, state: list[str], kind: list[str],
    queue: list[str], verb: str,
) -> JobFilter | None:  # fmt: skip
    """None when the command names jobs by id; the filter otherwise."""
    filtered = search is not None or state or kind or queue
    if job_ids and filtered:
        raise UsageError(f"give job ids or --filter to {verb}, not both.")
    if not job_ids and not filtered:
        raise UsageError(
            f"name the jobs to {verb}: job ids, or --filter TEXT.",
            hint=f"e.g. `vmafx jobs {verb} --filter 'state:pending crf38'`; "
            "`vmafx jobs list --search TEXT` shows what a filter matches.",
        )
    return job_filter(state, kind, queue, search) if filtered else None


def _bulk_report(done: BulkResult, fmt: Format, verb: str, noun: str) -> None:
    if fmt is Format.json:
        body = {"matched": done.matched, "changed": done.changed, "job_ids": list(done.job_ids),
                "skipped": list(done.skipped)}  # fmt: skip
        sys.stdout.write(json.dumps(body) + "\n")
        return
    typer.echo(f"{verb} {done.changed} of {done.matched} matching jobs")
    for line in done.job_ids[:20] if noun == "retries" else ():
        typer.echo(f"  {line}")
    for reason in done.skipped:
        typer.echo(f"  skipped {reason}", err=True)


def cancel_job(
    job_ids: list[str] | None = JOB_IDS,
    search: str | None = BULK_FILTER,
    state: list[str] = BULK_STATE,
    kind: list[str] = BULK_KIND,
    queue: list[str] = BULK_QUEUE,
    reason: str | None = typer.Option(None, "--reason", help="Recorded as the job's error."),
    controller: str = CONTROLLER,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    ca: Path | None = CA,
    fmt: Format = FORMAT,
) -> None:
    """Cancel pending or running jobs (their nodes stop them); finished jobs stay as they are.

    One id: that job. Several ids, or --filter (with --state/--kind/--queue): all of them in
    one call, e.g. `vmafx jobs cancel --filter 'state:pending crf38'`."""
    where = _bulk_filter(job_ids, search, state, kind, queue, "cancel")
    remote = Remote.of(controller, token, token_file, ca)
    if where is None and job_ids and len(job_ids) == 1:
        _cancel_one(remote, job_ids[0], reason, fmt)
        return
    ids = job_ids or []

    async def work(client: ControllerClient) -> BulkResult:
        return await client.cancel_jobs(await _bulk_target(client, ids, where), reason=reason)

    _bulk_report(remote.call(work), fmt, "cancelled", "cancels")


def _cancel_one(remote: Remote, job_id: str, reason: str | None, fmt: Format) -> None:
    async def work(client: ControllerClient) -> tuple[str, JobDetails]:
        full = await resolve_id(client, job_id)
        message = await client.cancel_job(full, reason)
        return message, await client.get_job(full)

    message, details = remote.call(work)
    if fmt is Format.json:
        sys.stdout.write(json.dumps(job_json(details.job, details.attempts)) + "\n")
        return
    typer.echo(f"job {details.job.id}: {message} (now {details.job.state.value})")


def retry_jobs(
    job_ids: list[str] | None = JOB_IDS,
    search: str | None = BULK_FILTER,
    state: list[str] = typer.Option(
        [], "--state", help="With --filter: failed (the default) and/or cancelled."
    ),
    kind: list[str] = BULK_KIND,
    queue: list[str] = BULK_QUEUE,
    controller: str = CONTROLLER,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    ca: Path | None = CA,
    fmt: Format = FORMAT,
) -> None:
    """Retry failed (or cancelled) jobs: each becomes a new pending job with the same spec,
    linked to the old one (`retry of` in `jobs get`); retrying again creates nothing new.

    One id: prints the new job's id. Several ids, or --filter (failed jobs; add
    --state cancelled for cancelled ones): all in one call, e.g.
    `vmafx jobs retry --filter 'error:"no space"'`."""
    where = _bulk_filter(job_ids, search, state, kind, queue, "retry")
    remote = Remote.of(controller, token, token_file, ca)
    if where is None and job_ids and len(job_ids) == 1:
        text = job_ids[0]

        async def one(client: ControllerClient) -> Submitted:
            return await client.retry_job(await resolve_id(client, text))

        done = remote.call(one)
        if fmt is Format.json:
            sys.stdout.write(json.dumps(job_json(done.job)) + "\n")
            return
        again = " (asked before: the same retry)" if done.deduplicated else ""
        typer.echo(f"retried as job {done.job.id}{again}")
        typer.echo(f"follow it with: vmafx jobs watch {done.job.id}")
        return
    ids = job_ids or []

    async def work(client: ControllerClient) -> BulkResult:
        return await client.retry_jobs(await _bulk_target(client, ids, where))

    _bulk_report(remote.call(work), fmt, "retried", "retries")
