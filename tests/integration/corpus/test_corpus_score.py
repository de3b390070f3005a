"""`vmafx corpus score` with real ffmpeg on tiny generated clips: scores, failures, crashes, resume."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tests.conftest import MEDIA

from vmafx.core.features import NAMES_V1
from vmafx.corpus import output as output_module
from vmafx.corpus.clips import ClipSettings
from vmafx.corpus.driver import RunInputs, score_corpus
from vmafx.corpus.executor import LocalExecutor
from vmafx.corpus.manifest import load_manifest
from vmafx.corpus.output import OutputPaths
from vmafx.corpus.staging import ROWS, Staging
from vmafx.errors import UsageError
from vmafx.media.ffmpeg import ffmpeg_info, locate
from vmafx.media.graph import ScoreOptions
from vmafx.media.runner import SubprocessRunner
from vmafx.media.scorer import LibvmafScorer, ScoreRequest

pytestmark = pytest.mark.integration
GOOD = [f"{src}_crf{crf}" for src in ("bars", "grid") for crf in (30, 40, 51)]


class Crash(BaseException):
    """Stands in for the process dying."""


def ff(*args: str) -> None:
    subprocess.run([locate(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    """Two 64x36 8-frame references, three x264 encodes of each, a 24-frame clip, a corrupt one."""
    folder = tmp_path_factory.mktemp("corpus_media")
    sources = {"bars": "testsrc2", "grid": "testsrc"}
    for name, source in sources.items():
        ff("-f", "lavfi", "-i", f"{source}=size=64x36:rate=24", "-frames:v", "8",
           "-pix_fmt", "yuv420p", str(folder / f"{name}.y4m"))  # fmt: skip
        for crf in (30, 40, 51):
            ff("-i", str(folder / f"{name}.y4m"), "-c:v", "libx264", "-preset", "ultrafast",
               "-crf", str(crf), str(folder / f"{name}_crf{crf}.mp4"))  # fmt: skip
    ff("-f", "lavfi", "-i", "testsrc2=size=64x36:rate=24", "-frames:v", "24",
       "-c:v", "libx264", "-preset", "ultrafast", str(folder / "long.mp4"))  # fmt: skip
    shutil.copy(MEDIA / "corrupt.mp4", folder / "corrupt.mp4")
    return folder


def write_manifest(folder: Path, rows: list[tuple[str, str, str]]) -> Path:
    path = folder / "clips.csv"
    lines = ["id,distorted,reference,mos"]
    lines += [f"{i},{d},{r},{n / 2}" for n, (i, d, r) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def standard_rows(media: Path, copies: int = 1) -> list[tuple[str, str, str]]:
    rows = []
    for k in range(copies):
        suffix = f"_{k}" if copies > 1 else ""
        rows += [
            (f"{c}{suffix}", str(media / f"{c}.mp4"), str(media / f"{c[:4]}.y4m")) for c in GOOD
        ]
    rows.append(("nr_bars", str(media / "bars_crf30.mp4"), ""))
    rows.append(("broken", str(media / "corrupt.mp4"), str(media / "bars.y4m")))
    return rows


def vmafx(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "VMAFX_FFMPEG"}
    return subprocess.run(
        [sys.executable, "-m", "vmafx", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        **kwargs,
    )


def test_every_clip_is_scored_as_libvmaf_scores_it_and_a_corrupt_one_is_isolated(media, tmp_path):
    manifest = write_manifest(tmp_path, standard_rows(media))
    out = tmp_path / "features.parquet"
    done = vmafx("corpus", "score", str(manifest), "--out", str(out), "--workers", "2")
    assert done.returncode == 21, done.stderr
    assert "1 of 8 clips could not be scored" in done.stderr
    assert "Traceback" not in done.stderr
    table = pq.read_table(out)
    rows = {r["id"]: r for r in table.to_pylist()}
    assert list(rows) == [*GOOD, "nr_bars"]
    assert all(rows[i]["width"] == 64 and rows[i]["frame_count"] == 8 for i in rows)
    assert all(rows[i][name] is not None for i in rows for name in NAMES_V1)
    scorer = LibvmafScorer(ffmpeg_info(), SubprocessRunner())
    alone = scorer.score(
        ScoreRequest(str(media / "grid.y4m"), (str(media / "grid_crf40.mp4"),), ScoreOptions())
    ).results[0]
    assert rows["grid_crf40"]["vmaf_mean"] == alone.pooled["vmaf_v0.6.1"].mean
    assert rows["grid_crf40"]["vmaf_p5"] == alone.pooled["vmaf_v0.6.1"].p5
    assert alone.features is not None
    assert [rows["grid_crf40"][n] for n in NAMES_V1] == list(alone.features.values)
    assert rows["bars_crf51"]["vmaf_mean"] < rows["bars_crf30"]["vmaf_mean"]
    assert rows["nr_bars"]["no_reference"] is True and rows["nr_bars"]["reference"] is None
    failures = OutputPaths(out).failures.read_text()
    assert "broken," in failures and "NotVideoError" in failures
    record = json.loads(OutputPaths(out).run_manifest.read_text())
    assert record["counts"]["scored"] == 7 and record["counts"]["failed"] == 1
    assert record["execution"] == {
        "executor": "local",
        "workers": 2,
        "libvmaf_threads_per_worker": 1,
        "pinned_cores": None,
    }
    assert record["versions"]["libvmaf"] == rows["grid_crf40"]["libvmaf_version"]


def run_in_process(manifest: Path, out: Path, workers: int = 2, *, pin_cores: bool = False):
    settings = ClipSettings()
    ffmpeg = ffmpeg_info()
    inputs = RunInputs(load_manifest(manifest), out, settings, ffmpeg.version)
    executor = LocalExecutor(ffmpeg, settings, workers, pin_cores=pin_cores)
    with contextlib.closing(executor):
        return score_corpus(inputs, executor)


def test_pinned_workers_each_run_on_a_core_of_their_own_and_score_the_same(media, tmp_path):
    cores = sorted(os.sched_getaffinity(0))
    workers = min(2, len(cores))
    executor = LocalExecutor(ffmpeg_info(), ClipSettings(), workers, pin_cores=True)
    with contextlib.closing(executor):
        pool = executor._ensure_pool()
        masks = [pool.submit(os.sched_getaffinity, 0) for _ in range(8)]
        seen = {frozenset(mask.result()) for mask in masks}
    assert all(len(mask) == 1 for mask in seen) and set().union(*seen) <= set(cores)
    assert executor.describe()["pinned_cores"] == cores[:workers]
    manifest = write_manifest(tmp_path, standard_rows(media))
    pinned = run_in_process(manifest, tmp_path / "pinned.parquet", workers, pin_cores=True)
    free = run_in_process(manifest, tmp_path / "free.parquet", workers)
    assert pinned.scored == free.scored > 0
    columns = ["id", "vmaf_mean", *NAMES_V1]
    assert (
        pq.read_table(tmp_path / "pinned.parquet")
        .select(columns)
        .equals(pq.read_table(tmp_path / "free.parquet").select(columns))
    )


def test_pinning_more_workers_than_cores_is_refused_with_the_fix():
    too_many = len(os.sched_getaffinity(0)) + 1
    with pytest.raises(UsageError, match="a core per worker") as raised:
        LocalExecutor(ffmpeg_info(), ClipSettings(), too_many, pin_cores=True)
    assert "--workers" in str(raised.value.hint)


def test_a_crash_between_a_clip_finishing_and_its_row_being_staged_loses_nothing(
    media, tmp_path, monkeypatch
):
    manifest = write_manifest(tmp_path, standard_rows(media))
    out = tmp_path / "features.parquet"
    real_append = Staging.append
    calls = []

    def append_then_die(self, outcome):
        calls.append(outcome.id)
        if len(calls) == 3:
            raise Crash
        real_append(self, outcome)

    monkeypatch.setattr(Staging, "append", append_then_die)
    with pytest.raises(Crash):
        run_in_process(manifest, out)
    monkeypatch.setattr(Staging, "append", real_append)
    summary = run_in_process(manifest, out)
    assert (summary.resumed, summary.attempted) == (2, 6)
    assert pq.read_table(out).column("id").to_pylist() == [*GOOD, "nr_bars"]


def test_a_crash_in_the_middle_of_the_parquet_write_is_finished_by_the_next_run(
    media, tmp_path, monkeypatch
):
    manifest = write_manifest(tmp_path, standard_rows(media))
    out = tmp_path / "features.parquet"
    monkeypatch.setattr(output_module, "BATCH_ROWS", 2)
    real_write = output_module._write_batch

    def write_then_die(writer, batch):
        real_write(writer, batch)
        raise Crash

    monkeypatch.setattr(output_module, "_write_batch", write_then_die)
    with pytest.raises(Crash):
        run_in_process(manifest, out)
    assert not out.exists() and not list(tmp_path.glob(".*.tmp"))
    monkeypatch.setattr(output_module, "_write_batch", real_write)
    summary = run_in_process(manifest, out)
    assert summary.resumed == 7 and summary.attempted == 1  # only the failed clip, retried
    assert pq.read_table(out).num_rows == 7


def wait_for_done(staging: Path, count: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = staging / ".done"
        if done.exists() and len(done.read_text().splitlines()) >= count:
            return
        assert proc.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.02)
    pytest.fail(f"fewer than {count} clips finished in time")


def start_run(manifest: Path, out: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "VMAFX_FFMPEG"}
    return subprocess.Popen(
        [sys.executable, "-m", "vmafx", "corpus", "score", str(manifest), "--out", str(out),
         "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group: workers and ffmpeg die with it
    )  # fmt: skip


def test_kill_9_mid_run_then_a_rerun_scores_every_clip_exactly_once(media, tmp_path):
    rows = standard_rows(media, copies=3)
    manifest = write_manifest(tmp_path, rows)
    out = tmp_path / "features.parquet"
    proc = start_run(manifest, out)
    staging = OutputPaths(out).staging
    wait_for_done(staging, 3, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    with (staging / ROWS).open("ab") as handle:
        handle.write(b'{"id": "grid_crf30_2", "ok": tr')  # a line torn by the kill
    again = vmafx("corpus", "score", str(manifest), "--out", str(out), "--workers", "2")
    assert again.returncode == 21, again.stderr
    ids = pq.read_table(out).column("id").to_pylist()
    expected = [r[0] for r in rows if r[0] != "broken"]
    assert ids == expected and len(set(ids)) == len(ids)
    record = json.loads(OutputPaths(out).run_manifest.read_text())
    assert record["counts"]["resumed"] >= 3
    assert record["counts"]["resumed"] + record["counts"]["attempted_this_run"] == len(rows)
    staged = [json.loads(line)["id"] for line in (staging / ROWS).read_text().splitlines()]
    assert sorted(i for i in staged if i != "broken") == sorted(expected)


def test_ctrl_c_stops_the_run_says_what_was_kept_and_the_rerun_goes_on(media, tmp_path):
    manifest = write_manifest(tmp_path, standard_rows(media, copies=3))
    out = tmp_path / "features.parquet"
    proc = start_run(manifest, out)
    wait_for_done(OutputPaths(out).staging, 2, proc)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Interrupted" in stderr and "Run the same command again" in stderr
    assert "Traceback" not in stderr
    again = vmafx("corpus", "score", str(manifest), "--out", str(out), "--workers", "2")
    assert again.returncode == 21, again.stderr
    assert pq.read_table(out).num_rows == 3 * len(GOOD) + 1


def test_a_clip_longer_than_max_frames_fails_and_the_others_are_scored(media, tmp_path):
    rows = [("long", str(media / "long.mp4"), ""), ("short", str(media / "bars_crf30.mp4"), "")]
    manifest = write_manifest(tmp_path, rows)
    out = tmp_path / "features.parquet"
    done = vmafx("corpus", "score", str(manifest), "--out", str(out), "--max-frames", "10")
    assert done.returncode == 21, done.stderr
    assert pq.read_table(out).column("id").to_pylist() == ["short"]
    assert (
        "24 frames, more than the --max-frames limit of 10" in OutputPaths(out).failures.read_text()
    )


def test_a_bad_manifest_is_refused_with_every_problem_before_anything_is_scored(media, tmp_path):
    path = tmp_path / "clips.csv"
    path.write_text(
        f"id,distorted,reference\na,{media}/bars_crf30.mp4,\na,{media}/nope.mp4,\n,x.mp4,\n"
    )
    out = tmp_path / "features.parquet"
    done = vmafx("corpus", "score", str(path), "--out", str(out))
    assert done.returncode == 3
    assert "has 4 problem(s); nothing was scored" in done.stderr
    assert "nope.mp4 does not exist" in done.stderr and "appears 2 times" in done.stderr
    assert not OutputPaths(out).staging.exists()


def test_validate_reports_what_a_good_manifest_holds(media, tmp_path):
    manifest = write_manifest(tmp_path, standard_rows(media))
    done = vmafx("corpus", "validate", str(manifest))
    assert done.returncode == 0, done.stderr
    assert "8 clips, 1 without a reference" in done.stdout and "mos (float)" in done.stdout


@pytest.fixture
def small_disk(tmp_path):
    """A 40 KiB tmpfs (root only): enough for a few staged clips, not for a whole run."""
    mountpoint = tmp_path / "small_disk"
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=40k", "tmpfs", str(mountpoint)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mountpoint
    subprocess.run(["umount", "-l", str(mountpoint)], check=True)


def test_a_disk_that_fills_mid_run_stops_with_a_clear_error_and_loses_nothing(media, small_disk):
    rows = standard_rows(media, copies=3)
    manifest = write_manifest(small_disk.parent, rows)
    out = small_disk / "features.parquet"
    full = vmafx("corpus", "score", str(manifest), "--out", str(out), "--workers", "2")
    assert full.returncode == 20, full.stderr
    assert "is full" in full.stderr and "Free some space" in full.stderr
    assert "Traceback" not in full.stderr
    staging = OutputPaths(out).staging
    kept = (staging / ".done").read_text().splitlines()
    assert 0 < len(kept) < len(rows)
    subprocess.run(["mount", "-o", "remount,size=4m", str(small_disk)], check=True)
    again = vmafx("corpus", "score", str(manifest), "--out", str(out), "--workers", "2")
    assert again.returncode == 21, again.stderr
    ids = pq.read_table(out).column("id").to_pylist()
    assert ids == [r[0] for r in rows if r[0] != "broken"]
    record = json.loads(OutputPaths(out).run_manifest.read_text())
    assert record["counts"]["resumed"] >= len(kept)
