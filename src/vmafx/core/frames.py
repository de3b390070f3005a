"""A job's full per-frame series: how a node ships it to the controller, and how it is served.

A node writes each scored input's series to its own disk (`frames-<i>.json.gz`) and, when the
compressed files of a job together fit `SHIP_LIMIT`, also puts them in its final report, base64
inside the result where the input's `per_frame` entry is (`results[i].per_frame.data` of a score
job, `score_after.per_frame.data` of an encode). The controller takes them out of the result
before storing it (the job row stays small: listings read it) and keeps them beside the job
(`JobStore.save_frames`), marking the entry `stored: true`. A larger job keeps its series on the
node only (`stored: false`, with why), as before.

Served as JSON (`{"job_id", "inputs": [{"distorted", "frame_nums", "series"}]}`) or as the
CSV `vmafx score --per-frame` writes: one row per (distorted, frame), first the metrics under
the names the pooled results use (`vmaf_v0.6.1`, `psnr_y`, `float_ssim`, …: the vocabulary of
`vmafx.core.metrics`), then the libvmaf features behind the scores under libvmaf's own names.
"""

from __future__ import annotations

import base64
import binascii
import csv
import gzip
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from vmafx.core.jobs import JsonObject
from vmafx.errors import UsageError

#: Most compressed bytes of per-frame series one job ships to the controller (all inputs
#: together); the gRPC message carrying the report is at most 4 MiB, base64 adds a third.
SHIP_LIMIT = 2 * 1024 * 1024


def pack(body: JsonObject) -> bytes:
    """One input's series as the gzip JSON the node writes to disk and ships."""
    return gzip.compress(json.dumps(body, separators=(",", ":")).encode(), mtime=0)


def unpack(data: bytes) -> JsonObject:
    try:
        body = json.loads(gzip.decompress(data))
    except (OSError, EOFError, ValueError) as error:
        raise UsageError(f"a per-frame series could not be read: {error}.") from None
    if not isinstance(body, dict):
        raise UsageError("a per-frame series is not a JSON object.")
    return body


def _entries(result: JsonObject) -> Iterator[tuple[int, JsonObject]]:
    """(index, per_frame entry) of every scored input of a score or encode result."""
    items = result.get("results")
    if isinstance(items, list):
        for index, item in enumerate(items):
            entry = item.get("per_frame") if isinstance(item, dict) else None
            if isinstance(entry, dict):
                yield index, entry
    after = result.get("score_after")
    entry = after.get("per_frame") if isinstance(after, dict) else None
    if isinstance(entry, dict):
        yield 0, entry


def attach(result: JsonObject, shipped: Mapping[int, bytes]) -> None:
    """Node side: put the packed series in `result`'s entries (all, or none when too big)."""
    total = sum(len(data) for data in shipped.values())
    for index, entry in _entries(result):
        if index not in shipped:
            continue
        if total <= SHIP_LIMIT:
            entry["data"] = base64.b64encode(shipped[index]).decode("ascii")
        else:
            entry["stored"] = False
            entry["why"] = (
                f"{total:,} compressed bytes, more than the {SHIP_LIMIT:,} a job may ship: "
                "the series stays on the node, at `path`"
            )


def take(result: JsonObject) -> dict[int, bytes]:
    """Controller side: take the shipped series out of `result` (marking each entry
    `stored: true`); returns them by input index."""
    taken: dict[int, bytes] = {}
    for index, entry in _entries(result):
        data = entry.pop("data", None)
        if not isinstance(data, str):
            continue
        try:
            taken[index] = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            entry["stored"] = False
            entry["why"] = "the node shipped a series that is not base64"
            continue
        entry["stored"] = True
    return taken


def column_names(inputs: Sequence[JsonObject], pooled: Sequence[str] = ()) -> list[str]:
    """The CSV's metric columns: the pooled metrics' names first, then every other series."""
    names = [name for name in pooled if any(name in i.get("series", {}) for i in inputs)]
    for body in inputs:
        names += [name for name in body.get("series", {}) if name not in names]
    return names


def to_csv(inputs: Sequence[JsonObject], pooled: Sequence[str] = ()) -> str:
    """The long CSV of `vmafx score --per-frame`: distorted, frame, then one column a metric."""
    names = column_names(inputs, pooled)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["distorted", "frame", *names])
    for body in inputs:
        series: Mapping[str, Sequence[Any]] = body.get("series", {})
        for i, frame in enumerate(body.get("frame_nums", [])):
            row = [series[n][i] if n in series and i < len(series[n]) else "" for n in names]
            writer.writerow([body.get("distorted", ""), frame, *row])
    return out.getvalue()


def pooled_names(result: JsonObject | None) -> list[str]:
    """The pooled metric names of a score or encode result, in their order."""
    if not result:
        return []
    names: list[str] = []
    items = result.get("results")
    for item in items if isinstance(items, list) else []:
        pooled = item.get("pooled") if isinstance(item, dict) else None
        names += [n for n in (pooled or {}) if n not in names]
    after = result.get("score_after")
    if isinstance(after, dict) and isinstance(after.get("pooled"), dict):
        names += [n for n in after["pooled"] if n not in names]
    return names


def document(job_id: str, inputs: Sequence[JsonObject], pooled: Sequence[str]) -> JsonObject:
    """The JSON the API serves: every input's series, and the pooled names (CSV order)."""
    return {"job_id": job_id, "pooled": list(pooled), "inputs": list(inputs)}


def missing_reason(job_id: str, state: str, result: JsonObject | None) -> str:
    """Why a job has no per-frame series at the controller, for the NotFoundError."""
    if state != "completed":
        return f"job {job_id} is {state}: per-frame series come with a completed job."
    kept = [entry for _, entry in _entries(result or {})]
    if not kept:
        return (
            f"job {job_id} has no per-frame series (a job kind without one, a score job "
            "submitted with per_frame false, or an encode without --score-after)."
        )
    left = [entry for entry in kept if entry.get("stored") is False]
    if left:
        entry = left[0]
        return (
            f"job {job_id}'s per-frame series stayed on its node: {entry.get('why', '')} "
            f"({entry.get('path', 'its results folder')})."
        )
    return f"job {job_id}'s node did not ship its per-frame series (an older node)."
