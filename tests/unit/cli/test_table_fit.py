"""Tables fit an 80-column terminal (issue 18 item 7): a failure note is one line under the
table (or at most two beside it on a wide one), never 30 lines of a 7-character column."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from vmafx.cli import demo, output
from vmafx.cli.jobviews import job_json, job_views, jobs_table
from vmafx.cli.tables import fit_notes
from vmafx.core.jobs import JobKind, JobState
from vmafx.core.messages import JobDetails
from vmafx.core.pooling import POOL_METHODS, Pooled
from vmafx.core.scores import ScoreReport, ScoreResult
from vmafx.testing import make_job

ERROR = (
    "ffmpeg failed while scoring /media/very/long/path/to/enc_crf38_something.mp4 against "
    "/media/very/long/path/ref.mp4 (exit code 1). The last lines of ffmpeg's output below "
    "say why.\n[libvmaf] error"
)
NOW = datetime(2025, 1, 1, tzinfo=UTC)


def render(renderable: object, width: int) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=width, highlight=False).print(renderable)
    return out.getvalue().splitlines()


def rows() -> list:
    failed = make_job(JobKind.SCORE, state=JobState.FAILED, error=ERROR)
    return [(failed, ()), (make_job(JobKind.SCORE), ())]


def test_a_failure_note_at_80_columns_is_one_line_under_the_table():
    listed = rows()
    lines = render(fit_notes(jobs_table(listed, NOW)), 80)
    assert len(lines) == 5  # header, rule, two rows, one note
    job_id = listed[0][0].id[:8]
    assert lines[-1].startswith(f"{job_id}  note: ffmpeg failed while scoring /media/")
    assert lines[-1].endswith("…") and len(lines[-1]) <= 80
    assert all(len(line) <= 80 for line in lines)
    assert "progr…" not in lines[0] and "durati…" not in lines[0]  # headers whole


def test_a_failure_note_on_a_wide_terminal_is_beside_its_row_in_two_lines_at_most():
    lines = render(fit_notes(jobs_table(rows(), NOW)), 150)
    assert "note" in lines[0]
    assert len(lines) == 2 + 2 + 1  # header, rule, the failed row on two lines, the other row
    assert "ffmpeg failed while scoring" in lines[2]


def test_the_full_note_stays_in_json():
    assert job_json(rows()[0][0])["error"] == ERROR


def test_the_demo_table_keeps_a_failure_out_of_the_vmaf_column(tmp_path):
    spec = demo.ladder([Path("/media/testsrc.mp4")], tmp_path)[0].spec
    failed = make_job(JobKind.ENCODE, state=JobState.FAILED, error=ERROR, spec=spec)
    out = io.StringIO()
    demo.print_table([failed], Console(file=out, width=80, highlight=False))
    lines = out.getvalue().splitlines()
    assert len(lines) <= 7  # title, 3 of header, the row in two lines at most, bottom edge
    row = next(line for line in lines if "testsrc" in line)
    assert [cell.strip() for cell in row.split("│")][4:7] == ["-", "-", "failed"]
    assert "ffmpeg failed while" in row
    assert all(len(line) <= 80 for line in lines)


def test_model_names_are_never_cut_in_jobs_get():
    figures = dict.fromkeys(POOL_METHODS, 93.123456)
    pooled = {"vmaf_v0.6.1": figures, "vmaf_v0.6.1neg": figures}
    job = make_job(
        JobKind.SCORE,
        state=JobState.COMPLETED,
        result={"results": [{"distorted": "a.mp4", "pooled": pooled}]},
    )
    text = "\n".join(
        line
        for view in job_views(JobDetails(job=job, attempts=()), NOW)
        for line in render(fit_notes(view), 80)
    )
    assert "vmaf_v0.6.…" not in text and "…" not in text
    assert " vmaf_v0.6.1neg " in text  # whole, on one line


def test_model_names_are_whole_in_the_score_table_at_80_columns():
    pooled = Pooled(93.123456, 93.1, 90.0, 99.0, 91.0, 98.0)
    result = ScoreResult(
        "crf38.mp4", 48, 48, {"vmaf_v0.6.1": pooled, "vmaf_v0.6.1neg": pooled}, {}, (), None,
        models=("vmaf_v0.6.1", "vmaf_v0.6.1neg"),
    )  # fmt: skip
    out = io.StringIO()
    output.print_table(ScoreReport("ref.mp4", (result,), {}), Console(file=out, width=80))
    lines = out.getvalue().splitlines()
    assert any(line.startswith(" vmaf_v0.6.1neg ") for line in lines)
    assert all(len(line) <= 80 for line in lines)
