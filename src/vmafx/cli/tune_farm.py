"""`vmafx tune crf|ladder --controller ADDR` and `vmafx jobs submit encode --target-vmaf`: a
`tune` job on the farm, submitted and followed with progress until it ends.

The controller's tuner runs the search (`vmafx.controller.tuning`); its probes are encode jobs
on the nodes. This module builds the job's spec (the source probed here when it is readable, so
cheap probes can encode sample segments), follows it (the probes measured so far, and where
each runs), and delivers: the chosen encode is a node's file in a hidden `.NAME.tune/` folder
beside the requested output; when this machine sees that folder (shared storage) the file is
moved to the requested name and the other probes' files are removed. Otherwise the result
says where the file is.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from vmafx.cli.jobspecs import absolute, check_exists
from vmafx.cli.remote import Format, Remote
from vmafx.client.port import ControllerClient
from vmafx.core.jobs import Job, JobKind, JobState
from vmafx.core.messages import JobFilter, JobRequest
from vmafx.errors import VmafxError

POLL_S = 0.5


def source_facts(source: str) -> dict[str, Any]:
    """Width, height, frames and frame rate of a source this machine can read, and its
    identity (`source_identity`); {} if it cannot read it."""
    if not os.path.exists(source):
        return {}
    from vmafx.media.probe import probe  # noqa: PLC0415

    try:
        info = probe(source)
    except VmafxError:
        return source_identity(source)
    fps = float(info.fps) if info.fps else None
    frames = info.frame_count
    if frames is None and info.duration_s and fps:
        frames = round(info.duration_s * fps)
    facts: dict[str, Any] = {"source_width": info.width, "source_height": info.height}
    if frames and fps:
        facts |= {"source_frames": frames, "source_fps": round(fps, 6)}
    return facts | source_identity(source)


def source_identity(source: str) -> dict[str, Any]:
    """The source's content hash (as the local probe cache keys it), size and mtime, which
    let the farm reuse probes measured by earlier searches of the same content; {} when the
    file cannot be read or changed while it was hashed."""
    from vmafx.tune.cache import content_hash  # noqa: PLC0415

    try:
        before = os.stat(source)
        digest = content_hash(source)
        after = os.stat(source)
    except OSError:
        return {}
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        return {}
    return {
        "source_sha256": digest,
        "source_size": after.st_size,
        "source_mtime_ns": after.st_mtime_ns,
    }


def tune_request(
    source: str, fields: Mapping[str, Any], *, check_inputs: bool = True, priority: int = 0
) -> JobRequest:
    """A validated tune job: `fields` are TuneSpec fields (None left out)."""
    path = absolute(source)
    if check_inputs:
        check_exists("source", path)
    spec = {key: value for key, value in fields.items() if value is not None}
    spec["source"] = path
    if spec.get("output"):
        spec["output"] = absolute(str(spec["output"]))
    spec = {**source_facts(path), **spec}
    return JobRequest.parse(kind=JobKind.TUNE, spec=spec, priority=priority)


def _describe(children: list[Job]) -> str:
    measured = [c for c in children if c.state is JobState.COMPLETED]
    running = [c for c in children if c.state is JobState.RUNNING]
    waiting = [c for c in children if c.state is JobState.PENDING]
    parts = [f"{len(measured)} probe(s) measured"]
    last = max(measured, key=lambda c: c.finished_at or c.updated_at, default=None)
    if last is not None:
        rate = (last.spec.get("rate_control") or {}).get("value")
        vmaf = ((last.result or {}).get("score_after") or {}).get("vmaf")
        if isinstance(rate, int | float) and isinstance(vmaf, int | float):
            parts.append(f"last: {rate:g} → VMAF {vmaf:.2f}")
    if running:
        nodes = sorted({c.lease.node_name for c in running if c.lease})
        parts.append(f"{len(running)} running on {', '.join(nodes)}")
    if waiting:
        parts.append(f"{len(waiting)} waiting")
    return "; ".join(parts)


async def follow_tune(client: ControllerClient, job_id: str, on_progress: Any | None = None) -> Job:
    """Poll the tune job and its probes until it ends; `on_progress(text)` on each change."""
    said = ""
    while True:
        job = (await client.get_job(job_id)).job
        if job.is_terminal:
            return job
        children = (await client.list_jobs(JobFilter(parent_id=job_id), limit=1000)).jobs
        text = _describe(children)
        if on_progress is not None and text != said:
            on_progress(text)
            said = text
        await asyncio.sleep(POLL_S)


def deliver(result: dict[str, Any]) -> dict[str, Any]:
    """Move the chosen encode to the requested name when this machine sees it (see above)."""
    chosen, wanted = result.get("output"), result.get("deliver_as")
    if not chosen or not wanted or not os.path.isfile(chosen):
        return result
    os.makedirs(os.path.dirname(wanted) or ".", exist_ok=True)
    os.replace(chosen, wanted)
    folder = Path(chosen).parent
    for other in result.get("discarded") or []:
        Path(other).unlink(missing_ok=True)
    if folder.name.endswith(".tune"):
        shutil.rmtree(folder, ignore_errors=True)
    return {**result, "probe_output": chosen, "output": wanted}


def run_tune(remote: Remote, request: JobRequest, fmt: Format) -> dict[str, Any]:
    """Submit the tune job, follow it, deliver; the result, or VmafxError saying why not."""
    console = Console(stderr=True, highlight=False)

    async def work(client: ControllerClient) -> Job:
        job = (await client.submit_job(request)).job
        if fmt is Format.table:
            console.print(f"tune job {job.id} submitted; the controller's tuner runs it")
        with console.status("waiting for the tuner") as status:

            def show(text: str) -> None:
                status.update(text)

            return await follow_tune(client, job.id, show)

    try:
        job = remote.call(work)
    except KeyboardInterrupt:
        typer.echo("stopped following; the tune job goes on (vmafx jobs cancel ID stops it).")
        raise typer.Exit(130) from None
    if job.state is not JobState.COMPLETED or job.result is None:
        raise VmafxError(
            f"tune job {job.id} {job.state.value}: {job.error or 'no reason given'}",
            hint="See its probes with `vmafx jobs list` or on the controller's Tune page.",
        )
    result = dict(job.result)
    result["job_id"] = job.id
    return deliver(result) if result.get("mode") == "target" else result


def print_target(result: Mapping[str, Any], fmt: Format) -> None:
    if fmt is Format.json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    from rich.table import Table  # noqa: PLC0415

    from vmafx.tune.plan import metric_label  # noqa: PLC0415

    console = Console(highlight=False)
    label = metric_label(result.get("metric"))
    table = Table(title=f"probes (tune job {result['job_id']})")
    for column in (result["parameter"], label, "kind", "frames", "node", "used"):
        table.add_column(column, justify="right")
    for p in result["probes"]:
        kind = p["kind"] + (" (cached)" if p.get("cached") else "")
        table.add_row(f"{p['crf']:g}", f"{p['vmaf']:.2f}", kind, str(p["frames_encoded"]),
                      ", ".join(p["nodes"]) or "?", "yes" if p["used"] else "no")  # fmt: skip
    console.print(table)
    fallback = result.get("fallback")
    if fallback:
        console.print(f"{fallback['from']} failed on the node ({fallback['reason']}); the probes "
                      f"fell back to {fallback['to']}.")  # fmt: skip
    console.print(
        f"{result['encoder']} {result['parameter']} {result['crf']:g}"
        + (f" at {result['scale']}" if result.get("scale") else "")
        + f": {label} {result['vmaf']:.2f}, {result['kbps']} kbit/s; "
        f"{result['full_encodes']} full encode(s), cost "
        f"{result['cost']:.2f}× the input's frames ({result['reason']}). "
        f"Encoded on {result.get('chosen_node') or '?'}: {result['output']}"
    )
