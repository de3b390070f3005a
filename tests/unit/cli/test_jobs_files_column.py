"""`vmafx jobs list` shows each job's files when the terminal has room, and leaves the column
out (never squeezing the others) when it has not."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from vmafx.cli.jobviews import FittedFiles, files_summary, jobs_table
from vmafx.core.jobs import JobKind, JobState
from vmafx.testing import make_job

NOW = datetime(2025, 1, 1, tzinfo=UTC)
SPEC = {"reference": "/media/ref.mp4", "distorted": ["/media/a/crf38.mp4", "/m/b.mp4", "/m/c.mp4"]}


def render(width: int) -> list[str]:
    rows = [
        (make_job(JobKind.SCORE, spec=SPEC), ()),
        (make_job(JobKind.SCORE, state=JobState.FAILED, error="ffmpeg failed: no space"), ()),
    ]
    out = io.StringIO()
    Console(file=out, width=width, highlight=False).print(
        FittedFiles(jobs_table(rows, NOW, files=True))
    )
    return out.getvalue().splitlines()


def test_the_files_of_a_job_are_its_base_names_reference_first():
    job = make_job(JobKind.SCORE, spec=SPEC)
    assert files_summary(job) == "ref.mp4 → crf38.mp4 (+2)"
    encode = {"source": "/in/master.mov", "output": "/out/h264.mp4", "codec": "h264"}
    assert files_summary(make_job(JobKind.ENCODE, spec=encode)) == "master.mov → h264.mp4"


def test_a_wide_terminal_shows_the_files_column():
    lines = render(160)
    assert "files" in lines[0]
    assert any("ref.mp4 → crf38.mp4 (+2)" in line for line in lines)
    assert all(len(line) <= 160 for line in lines)


def test_an_80_column_terminal_leaves_the_files_out_and_keeps_each_row_on_one_line():
    lines = render(80)
    assert "files" not in lines[0]
    assert len(lines) == 5  # header, rule, two rows, the failure note under the table
    assert all(len(line) <= 80 for line in lines)
