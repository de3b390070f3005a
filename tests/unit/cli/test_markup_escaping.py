"""Names the user chose (files, queues, nodes, errors) print as typed: square brackets are not
taken for Rich markup, so `clip[x].mp4` keeps its `[x]` and `[bold]` shows instead of bolding."""

from __future__ import annotations

import dataclasses
import io
from datetime import timedelta
from pathlib import Path

import pytest
from rich.console import Console

from vmafx.ai.registry import Registry
from vmafx.cli import corpus, demo, jobviews, models, output, up, watching
from vmafx.cli.farm import FarmSettings
from vmafx.cli.remote import Format
from vmafx.core.attempts import Attempt, AttemptOutcome
from vmafx.core.clock import FakeClock
from vmafx.core.jobs import JobKind, JobState
from vmafx.core.messages import JobDetails, NodeState, NodeView
from vmafx.core.nodes import NodeCapabilities, NodeSession
from vmafx.core.pooling import pool
from vmafx.core.scores import ScoreReport, ScoreResult
from vmafx.corpus.driver import RunSummary
from vmafx.corpus.output import OutputPaths
from vmafx.testing import make_job

NOW = FakeClock().now()
ODD = "[x][bold]"
REF = f"/media/ref{ODD}.mp4"
DIS = f"/media/dis{ODD}.mp4"


def _console() -> Console:
    return Console(file=io.StringIO(), width=400, color_system=None, highlight=False)


def _text(*renderables: object) -> str:
    console = _console()
    for renderable in renderables:
        console.print(renderable)
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def _job(**changes):
    spec = {"reference": REF, "distorted": [DIS]}
    job = make_job(tenant="acme", kind=JobKind.SCORE, spec=spec, now=NOW)
    return dataclasses.replace(job, **changes)


def _attempt(job_id: str) -> Attempt:
    return Attempt(
        job_id=job_id, number=1, tenant="acme", session_id="s1", node_name=f"node{ODD}",
        host=f"host{ODD}", started_at=NOW, encoder=f"enc{ODD}", ended_at=NOW,
        outcome=AttemptOutcome.FAILED, error=f"cannot open {DIS}",
    )  # fmt: skip


def test_the_score_table_shows_file_names_with_brackets():
    result = ScoreResult(
        distorted=DIS, frame_count=2, scored_frames=2, pooled={"vmaf": pool([90.0, 92.0])},
        frames={}, frame_nums=(0, 1), features=None, adjustments=(f"scale{ODD}",),
    )  # fmt: skip
    console = _console()
    output.print_table(ScoreReport(REF, (result,), {"ffmpeg": f"n7{ODD}"}), console)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert f"{DIS}  vs  {REF}" in text
    assert f"scale{ODD}" in text
    assert f"ffmpeg n7{ODD}" in text


def test_the_jobs_table_and_job_view_show_user_strings_as_typed():
    job = _job(
        queue=f"gold{ODD}",
        state=JobState.FAILED,
        attempt=1,
        started_at=NOW,
        finished_at=NOW + timedelta(seconds=3),
        error=f"cannot open {DIS}",
        result={"results": [{"distorted": DIS, "pooled": {"vmaf": {"mean": 90.0}}}]},
    )
    attempt = _attempt(job.id)
    listing = _text(jobviews.jobs_table([(job, [attempt])], NOW))
    assert f"gold{ODD}" in listing
    assert f"host{ODD}" in listing
    assert f"cannot open {DIS}" in listing
    views = _text(*jobviews.job_views(JobDetails(job=job, attempts=(attempt,)), NOW))
    for typed in (REF, DIS, f"node{ODD}", f"host{ODD}", f"enc{ODD}", f"gold{ODD}"):
        assert typed in views, typed


def test_a_pending_reason_with_brackets_is_shown_as_typed():
    job = _job(pending_reason=f"no node serves queue q{ODD}")
    assert f"q{ODD}" in _text(*jobviews.job_views(JobDetails(job=job, attempts=()), NOW))


def test_the_nodes_table_shows_node_names_with_brackets():
    caps = NodeCapabilities(
        host=f"host{ODD}", slots=2, encoders=(f"enc{ODD}",), queues=(f"q{ODD}",)
    )
    session = NodeSession(
        id="n1", tenant="acme", name=f"node{ODD}", capabilities=caps, token_sha256="x",
        created_at=NOW, last_seen_at=NOW, expires_at=NOW,
    )  # fmt: skip
    text = _text(jobviews.nodes_table([NodeView(session=session, state=NodeState.LIVE)], NOW))
    for typed in (f"node{ODD}", f"host{ODD}", f"enc{ODD}", f"q{ODD}"):
        assert typed in text, typed


def test_the_models_table_title_shows_the_folder_as_typed():
    assert f"models in /ckpt{ODD}" in _text(models._table(Registry(), Path(f"/ckpt{ODD}")))


def test_the_corpus_summary_shows_output_paths_as_typed(tmp_path: Path):
    out = tmp_path / f"out{ODD}.parquet"
    summary = RunSummary(
        paths=OutputPaths(out), total=1, scored=1, failed=0, resumed=0, attempted=1,
        elapsed_s=1.0, no_reference=0,
    )  # fmt: skip
    console = _console()
    corpus._report(summary, console)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert str(out) in text
    assert str(OutputPaths(out).run_manifest) in text


@pytest.mark.parametrize("name", ["clip[x].mp4", "[bold]clip.mp4", "[/]oops.mp4"])
def test_a_name_that_looks_like_markup_never_breaks_the_table(name):
    job = _job(queue=name)
    assert name in _text(jobviews.jobs_table([(job, [])], NOW))


def test_jobs_watch_lines_show_the_host_and_reason_as_typed():
    console = _console()
    job = _job(pending_reason=f"no node serves queue q{ODD}")
    watching.Display(Format.table, console)(job, [])
    assert f"(waiting: no node serves queue q{ODD})" in console.file.getvalue()  # type: ignore[attr-defined]


def test_the_demo_ladder_shows_clip_names_as_typed():
    spec = {"source": f"/m/clip{ODD}.mp4", "rate_control": {"value": 30}, "resolution": {}}
    job = dataclasses.replace(_job(), spec=spec, state=JobState.FAILED, error=f"no {ODD}")
    console = _console()
    demo.print_table([job], console)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert f"clip{ODD}" in text and f"no {ODD}" in text


def test_vmafx_up_names_its_folders_as_typed(tmp_path: Path):
    settings = FarmSettings(scoring_roots=(tmp_path / f"media{ODD}",), log_dir=tmp_path / ODD)
    console = _console()
    up._announce(console, settings)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert f"logs in {tmp_path / ODD}; inputs allowed under {tmp_path / f'media{ODD}'}" in text
