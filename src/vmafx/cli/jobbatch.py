"""`vmafx jobs submit score|encode --from FILE.csv|FILE.jsonl`: many jobs, submitted in batches.

Each row of the file is one job. A CSV file has a header row; a JSONL file has one JSON object
per line. The columns (or keys) are the command's arguments and options, named as in its help:

    score:   reference, distorted      (several distorted files in one job: `a.mp4;b.mp4` in
                                        CSV, a list in JSONL)
    encode:  source, out               (and any of codec, hw, encoder, crf, cq, qp, bitrate,
                                        preset, width, height, start, duration, audio,
                                        score_after)
    both:    queue, priority, idempotency_key

A value a row leaves out (or empty) comes from the command line. Every row is checked before
anything is submitted (a bad row is named by its line, nothing is sent); then the jobs go to
the controller `BATCH` at a time (one call and one transaction each) under one progress bar,
all with one batch id. An `idempotency_key` column makes re-running the same file after an
interruption submit only what is missing.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from vmafx.client.port import ControllerClient
from vmafx.core.messages import JobRequest, Submitted
from vmafx.errors import UsageError, VmafxError

#: Jobs per SubmitJobs call.
BATCH = 500
#: Most rows one file may hold.
MAX_ROWS = 1_000_000

Row = dict[str, Any]
#: Builds one job's request from a row merged over the command line's values.
Build = Callable[[Mapping[str, Any]], JobRequest]

_BOOLEANS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def _csv_rows(path: Path) -> Iterator[tuple[int, Row]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            raise UsageError(f"{path} is empty: a CSV file needs a header row.")
        for row in reader:
            if None in row:
                raise UsageError(
                    f"{path}, line {reader.line_num}: more values than the header has columns."
                )
            yield reader.line_num, {key.strip(): value for key, value in row.items() if key}


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Row]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                raise UsageError(f"{path}, line {number}: not JSON ({error.msg}).") from None
            if not isinstance(value, dict):
                raise UsageError(f"{path}, line {number}: each line must be a JSON object.")
            yield number, value


def read_rows(path: Path) -> list[tuple[int, Row]]:
    """(line number, row) of every job in `path` (.csv, or .jsonl / .ndjson)."""
    if not path.is_file():
        raise UsageError(f"--from {path}: no such file.")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = list(_csv_rows(path))
    elif suffix in (".jsonl", ".ndjson", ".json"):
        rows = list(_jsonl_rows(path))
    else:
        raise UsageError(
            f"--from {path}: unknown file type {suffix or '(none)'}.",
            hint="Use FILE.csv (with a header row) or FILE.jsonl (one JSON object per line).",
        )
    if not rows:
        raise UsageError(f"--from {path} holds no jobs.")
    if len(rows) > MAX_ROWS:
        raise UsageError(f"--from {path} holds {len(rows):,} jobs; at most {MAX_ROWS:,}.")
    return rows


def _typed(name: str, value: Any, like: Any) -> Any:
    """A CSV cell as the type of the command-line value it replaces."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if isinstance(like, bool):
        if text.lower() not in _BOOLEANS:
            raise UsageError(f"column {name}: {value!r} is not true or false.")
        return _BOOLEANS[text.lower()]
    if isinstance(like, int | float) or name in ("priority", "crf", "cq", "qp", "bitrate"):
        try:
            return int(text) if name == "priority" else float(text)
        except ValueError:
            raise UsageError(f"column {name}: {value!r} is not a number.") from None
    return text


def merged(row: Row, defaults: Mapping[str, Any], allowed: Sequence[str]) -> dict[str, Any]:
    """The command line's values with the row's non-empty cells over them."""
    unknown = sorted(set(row) - set(allowed))
    if unknown:
        raise UsageError(
            f"unknown column {', '.join(unknown)}.", hint=f"Columns: {', '.join(allowed)}."
        )
    values = dict(defaults)
    for name, value in row.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        values[name] = _typed(name, value, defaults.get(name))
    return values


def requests_from(
    path: Path, build: Build, defaults: Mapping[str, Any], allowed: Sequence[str]
) -> list[JobRequest]:
    """Every row of `path` as a checked request; the first bad row stops it, named by line."""
    requests = []
    for number, row in read_rows(path):
        try:
            requests.append(build(merged(row, defaults, allowed)))
        except VmafxError as error:
            raise UsageError(
                f"{path}, line {number}: {error.message}",
                hint=error.hint or "Fix that row; nothing was submitted.",
            ) from None
    return requests


async def submit_all(
    client: ControllerClient, requests: Sequence[JobRequest], *, progress: bool
) -> tuple[list[Submitted], str]:
    """Submit `requests` `BATCH` at a time under one progress bar (on stderr); returns what
    was submitted and the batch id they share."""
    batch_id = f"from-file-{uuid.uuid4().hex[:12]}"
    done: list[Submitted] = []
    bar = Progress(
        TextColumn("submitting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not progress,
    )
    with bar:
        task = bar.add_task("jobs", total=len(requests))
        for start in range(0, len(requests), BATCH):
            chunk = requests[start : start + BATCH]
            try:
                done += await client.submit_jobs(chunk, batch_id=batch_id)
            except VmafxError as error:
                before = f" ({start} jobs before them were submitted, batch {batch_id})"
                error.message = (
                    f"jobs {start + 1}–{start + len(chunk)} of the file were refused: "
                    f"{error.message}{before if start else ''}"
                )
                raise
            bar.advance(task, len(chunk))
    return done, batch_id
