"""The farm tools' work: jobs and nodes through the `ControllerClient` port, as `schemas` models.

Each function takes a client (acting with the caller's token) and plain arguments; the tools
in `tools.py` only pick the client and pass progress callbacks.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import anyio

from vmafx.client import ids
from vmafx.client.port import ControllerClient
from vmafx.core.jobs import Job, JobState, Requirements, parse_kind, parse_state
from vmafx.core.messages import JobDetails, JobFilter, JobRequest, NodeState
from vmafx.core.metrics import metric_names
from vmafx.errors import (
    InputNotFoundError,
    NotFoundError,
    UnavailableError,
)
from vmafx.mcp.schemas import (
    CancelOut,
    CorpusOut,
    JobOut,
    JobsOut,
    NodeOut,
    NodesOut,
    PendingOut,
    PoolingNode,
    job_score,
)
from vmafx.scheduler.matching import why_not

#: Called with (progress 0-100, message) while a job runs.
OnJobProgress = Callable[[float, str], Awaitable[None]]
#: The most jobs `corpus_status` counts.
CORPUS_SCAN = 100_000


# --- submitting -----------------------------------------------------------------------------------
def _is_url(value: str) -> bool:
    return len(urllib.parse.urlsplit(value).scheme) > 1  # one letter is a Windows drive


def absolute(field: str, value: str, *, check: bool) -> str:
    """A local path made absolute (nodes do not know this server's working folder); with
    `check`, refused at once when it does not exist here."""
    if _is_url(value):
        return value
    path = os.path.abspath(os.path.expanduser(value))
    if check and not os.path.exists(path):
        raise InputNotFoundError(
            f"{field} {path} does not exist.",
            path=path,
            hint="Check the path; if it exists only where the nodes run, call again with "
            "check_inputs=false.",
        )
    return path


def metrics_of(features: Sequence[str]) -> list[str]:
    return metric_names(features, where="a farm score job")


def score_job_request(
    reference: str,
    distorted: Sequence[str],
    *,
    models: Sequence[str],
    features: Sequence[str],
    subsample: int,
    scale: bool,
    check_inputs: bool,
) -> JobRequest:
    """The score job `vmafx jobs submit score` would submit for these arguments."""
    spec: dict[str, Any] = {
        "reference": absolute("reference", reference, check=check_inputs),
        "distorted": [
            absolute(f"distorted[{i}]", path, check=check_inputs)
            for i, path in enumerate(distorted)
        ],
        "models": list(models) or ["vmaf_v0.6.1"],
        "metrics": metrics_of(features),
        "subsample": subsample,
        "scaling": "bicubic" if scale else "none",
    }
    return JobRequest.parse(kind=parse_kind("score"), spec=spec)


def job_request(
    kind: str,
    spec: Mapping[str, Any],
    *,
    queue: str | None,
    priority: int,
    labels: Mapping[str, str],
    gpu_vendor: str | None,
    encoder: str | None,
    batch_id: str | None,
    idempotency_key: str | None,
) -> JobRequest:
    return JobRequest.parse(
        kind=parse_kind(kind),
        spec=dict(spec),
        queue=queue,
        priority=priority,
        requirements=Requirements(gpu_vendor=gpu_vendor, encoder=encoder, labels=dict(labels)),
        batch_id=batch_id,
        idempotency_key=idempotency_key,
    )


# --- reading ------------------------------------------------------------------------------------
async def resolve_id(client: ControllerClient, text: str) -> str:
    """A full job id from itself or a unique prefix (4+ characters) of a recent job's id."""
    return await ids.resolve_id(client, text, listing_hint="List jobs with list_jobs.")


async def get_job(client: ControllerClient, job_id: str) -> JobOut:
    details = await client.get_job(await resolve_id(client, job_id))
    return JobOut.of(details.job, details.attempts)


def _progress_message(job: Job, where: str | None) -> str:
    if job.state is JobState.PENDING:
        return f"pending: {job.pending_reason}" if job.pending_reason else "pending"
    return f"{job.state.value} on {where}" if where else job.state.value


async def follow(
    client: ControllerClient, job_id: str, timeout_s: float, on_progress: OnJobProgress | None
) -> JobDetails:
    """The job once it has ended, or as it is after `timeout_s`; progress at every change."""
    details = await client.get_job(job_id)

    async def report(job: Job, details: JobDetails) -> None:
        if on_progress is not None:
            where = details.attempts[-1].where if details.attempts else None
            done = 100.0 if job.state is JobState.COMPLETED else (job.progress or 0.0) * 100
            await on_progress(done, _progress_message(job, where))

    await report(details.job, details)
    if details.job.is_terminal:
        return details
    with anyio.move_on_after(timeout_s):
        async for changed in client.watch_jobs(JobFilter(job_ids=(job_id,))):
            if changed.id != job_id:
                continue
            if changed.attempt != details.job.attempt or changed.is_terminal:
                details = await client.get_job(job_id)  # a new claim, or the end: who ran it
            else:
                details = JobDetails(job=changed, attempts=details.attempts)
            await report(details.job, details)
            if details.job.is_terminal:
                return details
        raise UnavailableError(
            f"the controller closed the stream before job {job_id} ended.",
            hint="Call wait_job again.",
        )
    return await client.get_job(job_id)


async def wait_job(
    client: ControllerClient, job_id: str, timeout_s: float, on_progress: OnJobProgress | None
) -> JobOut:
    details = await follow(client, await resolve_id(client, job_id), timeout_s, on_progress)
    return JobOut.of(details.job, details.attempts)


async def cancel_job(client: ControllerClient, job_id: str, reason: str | None) -> CancelOut:
    full = await resolve_id(client, job_id)
    message = await client.cancel_job(full, reason)
    details = await client.get_job(full)
    return CancelOut(message=message, job=JobOut.of(details.job, details.attempts))


async def list_jobs(
    client: ControllerClient,
    *,
    states: Sequence[str],
    kinds: Sequence[str],
    queue: str | None,
    batch_id: str | None,
    limit: int,
    cursor: str | None,
    search: str | None = None,
) -> JobsOut:
    where = JobFilter(
        states=tuple(parse_state(s) for s in states),
        kinds=tuple(parse_kind(k) for k in kinds),
        queues=(queue,) if queue else (),
        batch_id=batch_id,
        search=search or None,
    )
    page = await client.list_jobs(where, limit=limit, cursor=cursor)
    return JobsOut(
        jobs=[JobOut.of(job, full=False) for job in page.jobs], next_cursor=page.next_cursor
    )


async def list_nodes(client: ControllerClient, include_offline: bool) -> NodesOut:
    views = await client.list_nodes(include_offline=include_offline)
    return NodesOut(nodes=[NodeOut.of(view) for view in views])


# --- explaining ---------------------------------------------------------------------------------
async def explain_pending(client: ControllerClient, job_id: str) -> PendingOut:
    """Why a job waits: the controller's recorded reason, and each live node's verdict (the
    scheduler's own matching rules, on the capabilities the nodes advertise)."""
    details = await client.get_job(await resolve_id(client, job_id))
    job = details.job
    views = await client.list_nodes(include_offline=False)
    nodes = [
        PoolingNode(
            name=view.session.name,
            state=view.state.value,
            can_run=view.state is NodeState.LIVE and not why_not(job, view.session.capabilities),
            reasons=why_not(job, view.session.capabilities)
            + (["draining: takes no new jobs"] if view.state is NodeState.DRAINING else []),
            slots_free=max(0, view.session.capabilities.slots - sum(view.slots_in_use.values())),
        )
        for view in views
    ]
    runnable = [node.name for node in nodes if node.can_run]
    req = job.requirements
    return PendingOut(
        job_id=job.id,
        state=job.state.value,
        queue=job.queue,
        requirements={
            "backend": req.backend,
            "gpu_vendor": req.gpu_vendor,
            "encoder": req.encoder,
            "min_gpu_memory_mb": req.min_gpu_memory_mb,
            "labels": dict(req.labels),
        },
        pending_reason=job.pending_reason,
        runnable_on=runnable,
        nodes=nodes,
        summary=_summary(job, nodes, runnable),
    )


def _summary(job: Job, nodes: Sequence[PoolingNode], runnable: Sequence[str]) -> str:
    if job.state is not JobState.PENDING:
        where = f" ({job.lease.node_name})" if job.lease else ""
        return f"job {job.id} is {job.state.value}{where}, not pending."
    if not nodes:
        return f"job {job.id} waits: no live node is registered; start one with `vmafx node`."
    if not runnable:
        reason = job.pending_reason or "no live node meets its queue and requirements"
        return f"job {job.id} waits: {reason}. No live node can run it (see nodes[].reasons)."
    free = [n.name for n in nodes if n.can_run and n.slots_free > 0]
    if not free:
        return (
            f"job {job.id} waits for a free slot: {', '.join(runnable)} could run it but "
            "every slot is busy."
        )
    reason = f" ({job.pending_reason})" if job.pending_reason else ""
    return f"job {job.id} is pending{reason}; {', '.join(free)} could take it now."


async def corpus_status(client: ControllerClient, batch_id: str) -> CorpusOut:
    """The jobs of one batch (a `vmafx corpus score --farm` run, or any submission that named
    a batch id): how many are in each state, the mean VMAF so far, the failures."""
    counts = {state.value: 0 for state in JobState}
    scores: list[float] = []
    failed: list[dict[str, str]] = []
    cursor: str | None = None
    total = 0
    while total < CORPUS_SCAN:
        page = await client.list_jobs(JobFilter(batch_id=batch_id), limit=1000, cursor=cursor)
        for job in page.jobs:
            total += 1
            counts[job.state.value] += 1
            score = job_score(job) if job.state is JobState.COMPLETED else None
            if score is not None:
                scores.append(score)
            if job.state is JobState.FAILED and len(failed) < 20:
                lines = (job.error or "").splitlines()
                failed.append({"id": job.id, "error": lines[0] if lines else ""})
        cursor = page.next_cursor
        if cursor is None:
            break
    if total == 0:
        raise NotFoundError(
            f"no job has batch id {batch_id!r}.",
            hint="A corpus run on the farm records its batch id in its .run.json (batch_id); "
            "list_jobs shows each job's.",
        )
    ended = sum(counts[s.value] for s in JobState if s.is_terminal)
    return CorpusOut(
        batch_id=batch_id,
        total=total,
        counts=counts,
        finished_fraction=round(ended / total, 4),
        mean_vmaf=round(sum(scores) / len(scores), 4) if scores else None,
        failed=failed,
    )


def result_items(job: Job) -> list[dict[str, Any]]:
    """A score job's per-input results without the bulky series (a resource has them)."""
    items = (job.result or {}).get("results")
    if not isinstance(items, list):
        return []
    drop = {"series", "per_frame"}
    return [
        {k: v for k, v in item.items() if k not in drop} for item in items if isinstance(item, dict)
    ]
