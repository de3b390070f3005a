"""`vmafx jobs submit … --from FILE`: rows read from CSV or JSONL, merged over the command
line's values, refused by line, and submitted `BATCH` jobs per call."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from vmafx.cli import jobbatch
from vmafx.core.jobs import JobKind
from vmafx.core.messages import JobRequest, Submitted
from vmafx.errors import UsageError
from vmafx.testing import make_job

ALLOWED = ["reference", "distorted", "queue", "priority", "idempotency_key"]
DEFAULTS = {
    "reference": None,
    "distorted": [],
    "queue": "q",
    "priority": 0,
    "idempotency_key": None,
}


def build(values: Mapping[str, Any]) -> JobRequest:
    paths = (
        values["distorted"].split(";")
        if isinstance(values["distorted"], str)
        else values["distorted"]
    )
    spec = {"reference": values["reference"], "distorted": paths}
    return JobRequest.parse(
        kind=JobKind.SCORE, spec=spec, queue=values["queue"], priority=values["priority"]
    )


def test_csv_rows_take_the_command_lines_values_where_a_cell_is_empty(tmp_path: Path):
    table = tmp_path / "jobs.csv"
    table.write_text("reference,distorted,priority\n/r.mp4,/a.mp4;/b.mp4,\n/r.mp4,/c.mp4,7\n")
    first, second = jobbatch.requests_from(table, build, DEFAULTS, ALLOWED)
    assert first.spec.distorted == ("/a.mp4", "/b.mp4") and first.priority == 0
    assert second.priority == 7 and second.queue == "q"


def test_jsonl_rows_may_list_several_distorted_files(tmp_path: Path):
    lines = tmp_path / "jobs.jsonl"
    lines.write_text('{"reference": "/r.mp4", "distorted": ["/a.mp4", "/b.mp4"]}\n\n')
    [only] = jobbatch.requests_from(lines, build, DEFAULTS, ALLOWED)
    assert only.spec.distorted == ("/a.mp4", "/b.mp4")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("jobs.csv", "reference,colour\n/r.mp4,blue\n", "line 2: unknown column colour"),
        (
            "jobs.csv",
            "reference,distorted,priority\n/r.mp4,/a.mp4,high\n",
            "line 2: column priority",
        ),
        (
            "jobs.jsonl",
            '{"reference": "/r.mp4", "distorted": ["/a.mp4"]}\n[1]\n',
            "line 2: each line",
        ),
        ("jobs.jsonl", "{not json\n", "line 1: not JSON"),
        ("jobs.txt", "x\n", "unknown file type .txt"),
        ("jobs.csv", "reference,distorted\n", "holds no jobs"),
    ],
)
def test_a_bad_file_or_row_is_refused_naming_where(tmp_path: Path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        jobbatch.requests_from(path, build, DEFAULTS, ALLOWED)


class CountingClient:
    def __init__(self) -> None:
        self.calls: list[tuple[int, str | None]] = []

    async def submit_jobs(
        self, requests: Sequence[JobRequest], *, batch_id: str | None = None
    ) -> list[Submitted]:
        self.calls.append((len(requests), batch_id))
        return [Submitted(make_job(request.kind)) for request in requests]


def test_submit_all_sends_batches_of_500_under_one_batch_id():
    requests = [build({**DEFAULTS, "reference": "/r.mp4", "distorted": "/a.mp4"})] * 1201
    client = CountingClient()
    done, batch_id = asyncio.run(jobbatch.submit_all(client, requests, progress=False))  # type: ignore[arg-type]
    assert [size for size, _ in client.calls] == [500, 500, 201]
    assert {given for _, given in client.calls} == {batch_id}
    assert len(done) == 1201
