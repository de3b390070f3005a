"""The driver with a fake executor: resume, crashes at each step, atomic and checked output."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from vmafx.core.features import NAMES_V1
from vmafx.corpus import output as output_module
from vmafx.corpus.clips import ClipFailed, ClipJob, ClipScored, ClipSettings
from vmafx.corpus.driver import RunInputs, score_corpus
from vmafx.corpus.fakes import FakeClipExecutor, fake_values, scored
from vmafx.corpus.manifest import load_manifest
from vmafx.corpus.output import OutputPaths
from vmafx.corpus.staging import Staging
from vmafx.errors import OutputWriteError, UsageError
from vmafx.media.graph import ScoreOptions

IDS = [f"clip{i:02d}" for i in range(10)]


class Crash(BaseException):
    """Stands in for the process dying (not an Exception: nothing may swallow it)."""


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    media = tmp_path / "media"
    media.mkdir()
    lines = ["id,distorted,reference,mos"]
    for i, clip_id in enumerate(IDS):
        (media / f"{clip_id}.mp4").write_bytes(b"\0")
        reference = "" if clip_id == "clip09" else "ref.y4m"
        lines.append(f"{clip_id},media/{clip_id}.mp4,{reference and 'media/' + reference},{i / 2}")
    (media / "ref.y4m").write_bytes(b"\0")
    path = tmp_path / "clips.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def inputs(manifest_path: Path, **changes: object) -> RunInputs:
    manifest = load_manifest(manifest_path)
    base = RunInputs(manifest, manifest_path.parent / "features.parquet", ClipSettings(), "n9")
    return RunInputs(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def fails_for(*bad: str):
    def respond(job: ClipJob):
        if job.id in bad:
            return ClipFailed(job.id, "NotVideoError", f"{job.distorted} is corrupt", 4)
        return scored(job)

    return respond


def read_ids(path: Path) -> list[str]:
    return pq.read_table(path).column("id").to_pylist()


def test_a_run_writes_one_row_per_clip_in_manifest_order_with_metadata_and_features(
    manifest_path,
):
    run = inputs(manifest_path)
    summary = score_corpus(run, FakeClipExecutor())
    table = pq.read_table(run.out)
    assert table.column("id").to_pylist() == IDS
    assert table.column("mos").to_pylist() == [i / 2 for i in range(10)]
    assert table.column("no_reference").to_pylist() == [False] * 9 + [True]
    assert table.column("reference").to_pylist()[9] is None
    names = table.column_names
    assert names[:4] == ["id", "mos", "distorted", "reference"]
    assert {"vmaf_mean", "vmaf_harmonic_mean", "vmaf_p5", *NAMES_V1} <= set(names)
    assert names[-2:] == ["ffmpeg_version", "libvmaf_version"]
    row = table.slice(3, 1).to_pylist()[0]
    expected = fake_values(ClipJob("clip03", "", None))
    assert all(row[k] == v for k, v in expected.items())
    assert (summary.scored, summary.failed, summary.attempted) == (10, 0, 10)


def test_the_run_manifest_records_inputs_options_versions_counts_and_rate(manifest_path):
    run = inputs(manifest_path)
    ticks = iter([100.0, 104.0])
    score_corpus(run, FakeClipExecutor(), clock=lambda: next(ticks))
    record = json.loads(OutputPaths(run.out).run_manifest.read_text())
    assert record["inputs"] == {"manifest": str(manifest_path), "format": "csv", "clips": 10}
    assert record["options"]["options"]["models"] == ["vmaf_v0.6.1"]
    assert record["versions"]["ffmpeg"] == "n9"
    assert record["versions"]["libvmaf"] == "fake-libvmaf"
    assert record["counts"] == {
        "clips": 10,
        "scored": 10,
        "failed": 0,
        "resumed": 0,
        "attempted_this_run": 10,
        "no_reference": 1,
    }
    assert record["elapsed_s"] == 4.0
    assert record["rate_clips_per_s"] == 2.5
    assert record["execution"] == {"executor": "fake"}
    meaningful = record["no_reference"]["meaningful_columns"]
    assert "integer_motion2.mean" in meaningful and "vmaf_mean" not in meaningful


def test_a_second_run_skips_every_finished_clip(manifest_path):
    run = inputs(manifest_path)
    score_corpus(run, FakeClipExecutor())
    again = FakeClipExecutor()
    summary = score_corpus(run, again)
    assert again.seen == []
    assert (summary.resumed, summary.attempted, summary.scored) == (10, 0, 10)
    assert read_ids(run.out) == IDS


def test_a_crash_between_a_clip_finishing_and_its_row_being_staged_rescores_only_that_clip(
    manifest_path, monkeypatch
):
    run = inputs(manifest_path)
    real_append = Staging.append
    calls = []

    def append_then_die(self, outcome):
        calls.append(outcome.id)
        if len(calls) == 4:
            raise Crash  # clip04 was scored, its row never reached the disk
        real_append(self, outcome)

    monkeypatch.setattr(Staging, "append", append_then_die)
    first = FakeClipExecutor()
    with pytest.raises(Crash):
        score_corpus(run, first)
    assert first.cancelled
    assert not run.out.exists()
    monkeypatch.setattr(Staging, "append", real_append)
    second = FakeClipExecutor()
    summary = score_corpus(run, second)
    assert second.seen == IDS[3:]
    assert read_ids(run.out) == IDS
    assert summary.resumed == 3


def test_an_interrupt_keeps_what_finished_and_cancels_the_clips_in_flight(manifest_path):
    run = inputs(manifest_path)

    def respond(job: ClipJob):
        if job.id == "clip05":
            raise KeyboardInterrupt
        return scored(job)

    executor = FakeClipExecutor(respond)
    with pytest.raises(KeyboardInterrupt):
        score_corpus(run, executor)
    assert executor.cancelled
    fingerprint = {"settings": run.settings.fingerprint(), "ffmpeg": "n9"}
    with Staging.open(OutputPaths(run.out).staging, fingerprint) as staging:
        assert [staging.state(i) for i in IDS[:6]] == ["scored"] * 5 + [None]
    assert score_corpus(run, FakeClipExecutor()).attempted == 5


def test_a_failing_clip_is_listed_and_the_run_goes_on(manifest_path):
    run = inputs(manifest_path)
    summary = score_corpus(run, FakeClipExecutor(fails_for("clip02", "clip07")))
    assert (summary.scored, summary.failed) == (8, 2)
    assert read_ids(run.out) == [i for i in IDS if i not in ("clip02", "clip07")]
    failures = OutputPaths(run.out).failures.read_text().splitlines()
    assert failures[0] == "id,distorted,reference,error_type,exit_code,error"
    assert failures[1].startswith("clip02,media/clip02.mp4,media/ref.y4m,NotVideoError,4,")
    assert "is corrupt" in failures[1]
    assert len(failures) == 3


def test_failed_clips_are_retried_on_the_next_run_unless_told_to_skip_them(manifest_path):
    run = inputs(manifest_path)
    score_corpus(run, FakeClipExecutor(fails_for("clip02")))
    skipping = FakeClipExecutor()
    summary = score_corpus(inputs(manifest_path, retry_failed=False), skipping)
    assert skipping.seen == [] and summary.failed == 1
    retrying = FakeClipExecutor()
    summary = score_corpus(run, retrying)
    assert retrying.seen == ["clip02"]
    assert (summary.scored, summary.failed) == (10, 0)
    assert OutputPaths(run.out).failures.read_text().count("\n") == 1


def test_a_crash_in_the_middle_of_the_parquet_write_leaves_the_old_table_and_no_temp_file(
    manifest_path, monkeypatch
):
    run = inputs(manifest_path)
    score_corpus(run, FakeClipExecutor(fails_for(*IDS[5:])))
    before = run.out.read_bytes()
    monkeypatch.setattr(output_module, "BATCH_ROWS", 2)
    real_write = output_module._write_batch
    batches = []

    def write_then_die(writer, batch):
        batches.append(batch)
        real_write(writer, batch)
        if len(batches) == 2:
            raise Crash

    monkeypatch.setattr(output_module, "_write_batch", write_then_die)
    with pytest.raises(Crash):
        score_corpus(run, FakeClipExecutor())
    assert run.out.read_bytes() == before
    assert not list(run.out.parent.glob(".*.tmp"))
    monkeypatch.setattr(output_module, "_write_batch", real_write)
    again = FakeClipExecutor()
    summary = score_corpus(run, again)
    assert again.seen == []
    assert read_ids(run.out) == IDS and summary.scored == 10


def test_a_full_disk_during_the_final_write_keeps_every_scored_clip(manifest_path, monkeypatch):
    run = inputs(manifest_path)

    def disk_full(writer, batch):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(output_module, "_write_batch", disk_full)
    with pytest.raises(OutputWriteError) as caught:
        score_corpus(run, FakeClipExecutor())
    assert "the disk is full" in str(caught.value)
    assert "Every scored clip is safe in the staging folder" in str(caught.value)
    assert not run.out.exists()
    monkeypatch.undo()
    assert score_corpus(run, FakeClipExecutor()).attempted == 0


def test_the_consistency_check_refuses_an_executor_that_loses_a_clip(manifest_path):
    run = inputs(manifest_path)

    class Lossy(FakeClipExecutor):
        def run(self, jobs):
            for outcome in super().run(jobs):
                if outcome.id != "clip04":
                    yield outcome

    with pytest.raises(OutputWriteError, match="no outcome for 1 clip"):
        score_corpus(run, Lossy())
    assert not run.out.exists()


def test_the_consistency_check_refuses_an_outcome_twice(manifest_path):
    run = inputs(manifest_path)

    class Stutter(FakeClipExecutor):
        def run(self, jobs):
            for outcome in super().run(jobs):
                yield outcome
                yield outcome

    with pytest.raises(OutputWriteError, match="came twice"):
        score_corpus(run, Stutter())
    assert not run.out.exists()


def test_the_consistency_check_refuses_rows_whose_columns_disagree(manifest_path):
    run = inputs(manifest_path)

    def respond(job: ClipJob):
        values = fake_values(job)
        if job.id == "clip06":
            del values["vmaf_p95"]
        return ClipScored(job.id, values)

    with pytest.raises(OutputWriteError, match="clip 'clip06' differs in columns"):
        score_corpus(run, FakeClipExecutor(respond))
    assert not run.out.exists()


def test_a_corpus_whose_every_clip_failed_still_writes_an_empty_table(manifest_path):
    run = inputs(manifest_path)
    summary = score_corpus(run, FakeClipExecutor(fails_for(*IDS)))
    assert summary.failed == 10 and pq.read_table(run.out).num_rows == 0


def test_resuming_with_other_scoring_options_is_refused(manifest_path):
    score_corpus(inputs(manifest_path), FakeClipExecutor(fails_for("clip01")))
    other = ClipSettings(options=ScoreOptions(models=("vmaf_v0.6.1neg",), threads=1))
    with pytest.raises(UsageError, match="vmaf_v0.6.1neg"):
        score_corpus(inputs(manifest_path, settings=other), FakeClipExecutor())


def test_more_threads_per_worker_do_not_count_as_other_options(manifest_path):
    score_corpus(inputs(manifest_path), FakeClipExecutor())
    more = ClipSettings(options=ScoreOptions(threads=4))
    assert score_corpus(inputs(manifest_path, settings=more), FakeClipExecutor()).resumed == 10


def test_clips_added_to_the_manifest_later_are_scored_on_the_next_run(manifest_path):
    score_corpus(inputs(manifest_path), FakeClipExecutor())
    (manifest_path.parent / "media" / "new.mp4").write_bytes(b"\0")
    with manifest_path.open("a") as handle:
        handle.write("new,media/new.mp4,,9\n")
    executor = FakeClipExecutor()
    summary = score_corpus(inputs(manifest_path), executor)
    assert executor.seen == ["new"] and summary.scored == 11
