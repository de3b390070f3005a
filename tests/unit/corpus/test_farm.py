"""Farm mode against an in-process controller (FakeControllerClient) and a scripted node: rows
as local mode makes them, failures isolated, resume without a second submission, Ctrl-C."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from tests.conftest import MEDIA

from vmafx.core.features import NAMES_V1, SCHEMA_V1, FeatureVector
from vmafx.core.jobs import Job, JobKind, JobState
from vmafx.core.media import RawFormat, VideoInfo
from vmafx.core.messages import Claim, JobFilter, NodeReport
from vmafx.core.nodes import NodeCapabilities
from vmafx.core.pooling import POOL_METHODS, pool
from vmafx.core.scores import ScoreReport, ScoreResult
from vmafx.corpus.clips import ClipFailed, ClipJob, ClipScored, ClipSettings, score_clip
from vmafx.corpus.driver import RunInputs, score_corpus
from vmafx.corpus.farm import FarmExecutor, FarmOptions, idempotency_key
from vmafx.corpus.farm_jobs import check_farm_settings, job_outcome, score_spec
from vmafx.corpus.manifest import load_manifest
from vmafx.corpus.output import OutputPaths
from vmafx.errors import UsageError
from vmafx.media.graph import ScoreOptions
from vmafx.testing import FakeControllerClient

IDS = [f"clip{i}" for i in range(6)]


def report_for(spec: dict[str, Any]) -> ScoreReport:
    """What a node's scorer gives for a spec (the numbers derived from the distorted path)."""
    seed = sum(spec["distorted"][0].encode()) % 13
    features = FeatureVector(SCHEMA_V1, NAMES_V1, tuple(seed + i / 10 for i in range(80)))
    result = ScoreResult(
        distorted=spec["distorted"][0],
        frame_count=8,
        scored_frames=8,
        pooled={"vmaf": pool([80.0 + seed, 90.0]), "psnr_y": pool([30.0, 40.0 + seed])},
        frames={},
        frame_nums=tuple(range(8)),
        features=features,
    )
    return ScoreReport(spec["reference"], (result,), {"ffmpeg": "n9", "libvmaf": "v3"})


def node_result(spec: dict[str, Any]) -> dict[str, Any]:
    """A score job's result as the node's score handler stores it."""
    result = report_for(spec).as_dict()
    result["results"][0]["series"] = {"frame_nums": [0], "vmaf": [85.0]}
    return result | {"elapsed_s": 0.5}


Respond = Callable[[Job], tuple[dict[str, Any] | None, str | None]]


def succeed(job: Job) -> tuple[dict[str, Any] | None, str | None]:
    return node_result(job.spec), None


class ScriptedFarm:
    """An in-memory controller whose one node runs each job as soon as it is submitted,
    answering with `respond(job)`; jobs whose distorted path contains a `hold` word are
    claimed and kept running until `hold` is emptied."""

    def __init__(self, respond: Respond = succeed, roots: tuple[str, ...] = ("/",)) -> None:
        self.inner = FakeControllerClient.in_memory(scoring_roots=roots)
        self.respond = respond
        self.hold: set[str] = set()
        self.held: list[Claim] = []
        self.keys: list[str | None] = []
        self.session: Any = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def submit_jobs(self, requests, *, batch_id=None):
        answers = [
            # As over gRPC: the answer names the job; its state is a new job's.
            dataclasses.replace(answer, job=dataclasses.replace(answer.job, state=JobState.PENDING))
            for answer in await self.inner.submit_jobs(requests, batch_id=batch_id)
        ]
        self.keys.extend(request.idempotency_key for request in requests)
        task = asyncio.create_task(self.work())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return answers

    async def work(self) -> None:
        if self.session is None:
            caps = NodeCapabilities(host="a", slots=10_000)
            self.session = await self.inner.register_node("node-a", caps)
        released = [claim for claim in self.held if not self.holds(claim.job)]
        self.held = [claim for claim in self.held if self.holds(claim.job)]
        for claim in released:
            await self.report(claim)
        while (claim := await self.inner.pull_work(self.session)) is not None:
            if self.holds(claim.job):
                self.held.append(claim)
            else:
                await self.report(claim)

    def holds(self, job: Job) -> bool:
        return any(word in job.spec["distorted"][0] for word in self.hold)

    async def report(self, claim: Claim) -> None:
        result, error = self.respond(claim.job)
        report = NodeReport(
            job_id=claim.job.id, attempt=claim.job.attempt, result=result, error=error
        )
        await self.inner.report_result(self.session, report)

    async def get_job(self, job_id):
        return await self.inner.get_job(job_id)

    async def cancel_job(self, job_id, reason=None):
        return await self.inner.cancel_job(job_id, reason)

    def watch_jobs(self, where=None, *, snapshot_only=False):
        return self.inner.watch_jobs(where, snapshot_only=snapshot_only)

    async def close(self) -> None:
        pass  # the controller outlives each run's client

    async def all_jobs(self) -> list[Job]:
        return (await self.inner.list_jobs(JobFilter(), limit=1000)).jobs


def fake_probe(path: str, raw: RawFormat | None) -> VideoInfo:
    return VideoInfo(path, 80, 48, "yuv420p", 8, Fraction(24), False, 8, 1 / 3, "h264", "mp4")


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as loop:
        yield loop


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    media = tmp_path / "media"
    media.mkdir()
    lines = ["id,distorted,reference,mos"]
    for i, clip_id in enumerate(IDS):
        (media / f"{clip_id}.mp4").write_bytes(b"\0")
        lines.append(f"{clip_id},media/{clip_id}.mp4,media/ref.y4m,{i}")
    (media / "ref.y4m").write_bytes(b"\0")
    path = tmp_path / "clips.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def executor(farm: ScriptedFarm, out: Path, runner: asyncio.Runner, **options: Any) -> FarmExecutor:
    options.setdefault("batch_size", 4)
    return FarmExecutor(
        lambda: farm,
        ClipSettings(),
        OutputPaths(out).staging,
        target="test",
        options=FarmOptions(idle_check_s=0.2, **options),
        probe=fake_probe,
        runner=runner,
    )


def inputs(manifest_path: Path) -> RunInputs:
    manifest = load_manifest(manifest_path)
    return RunInputs(manifest, manifest_path.parent / "features.parquet", ClipSettings(), "farm")


class InterruptAfter:
    """A progress display that raises KeyboardInterrupt (Ctrl-C) at the `count`-th clip."""

    def __init__(self, count: int) -> None:
        self.count = count

    def start(self, total: int, finished: int, failed: int) -> None:
        pass

    def advance(self, outcome: object) -> None:
        self.count -= 1
        if self.count == 0:
            raise KeyboardInterrupt


def test_a_farm_row_equals_the_local_row_of_the_same_clip_and_report(tmp_path, runner):
    dis, ref = str(MEDIA / "dis.mp4"), str(MEDIA / "ref.y4m")
    clip = ClipJob("a", dis, ref)

    class Scorer:
        def score(self, request, *, on_progress=None, cancel=None):
            return report_for({"reference": request.reference, "distorted": request.distorted})

    local = score_clip(clip, ClipSettings(), Scorer())
    farm = ScriptedFarm()
    farmed = FarmExecutor(lambda: farm, ClipSettings(), tmp_path / "staging", runner=runner)
    try:
        [outcome] = list(farmed.run([clip]))
    finally:
        farmed.close()
    assert isinstance(local, ClipScored) and isinstance(outcome, ClipScored)
    assert outcome.values == local.values
    assert len(outcome.values) == 5 + 2 * len(POOL_METHODS) + 80 + 2


def test_the_spec_has_absolute_paths_no_per_frame_file_and_the_run_options(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    options = ScoreOptions(models=("vmaf_v0.6.1neg",), features=("psnr",), subsample=2, scale=False)
    spec = score_spec(ClipJob("a", "d.mp4", None), ClipSettings(options=options))
    assert spec == {
        "reference": str(tmp_path / "d.mp4"),
        "distorted": [str(tmp_path / "d.mp4")],
        "models": ["vmaf_v0.6.1neg"],
        "metrics": ["vmaf", "psnr"],
        "subsample": 2,
        "scaling": "none",
        "per_frame": False,
    }


def test_options_a_farm_job_cannot_express_are_refused_up_front():
    with pytest.raises(UsageError, match="--sync shortest.*--timeout"):
        check_farm_settings(ClipSettings(shortest=True, timeout_s=5))


def test_a_whole_corpus_goes_out_in_batches_under_one_batch_and_comes_back_once(
    manifest_path, runner
):
    farm = ScriptedFarm()
    run = inputs(manifest_path)
    farmed = executor(farm, run.out, runner)
    with closing(farmed):
        summary = score_corpus(run, farmed)
    assert (summary.scored, summary.failed) == (6, 0)
    assert pq.read_table(run.out).column("id").to_pylist() == IDS
    jobs = runner.run(farm.all_jobs())
    assert len(jobs) == 6 and {job.batch_id for job in jobs} == {farmed.batch_id}
    assert farm.keys == [idempotency_key(farmed.run_id or "", clip_id) for clip_id in IDS]
    assert farmed.describe()["jobs_submitted"] == 6


def test_a_failed_farm_job_is_one_failure_entry_and_the_run_goes_on(manifest_path, runner):
    def respond(job: Job) -> tuple[dict[str, Any] | None, str | None]:
        if "clip2" in job.spec["distorted"][0]:
            return None, "NotVideoError: clip2.mp4 is not a video"
        if "clip4" in job.spec["distorted"][0]:
            return {"results": []}, None  # a result that is not a score report
        return succeed(job)

    run = inputs(manifest_path)
    with closing(executor(ScriptedFarm(respond), run.out, runner)) as farmed:
        summary = score_corpus(run, farmed)
    assert (summary.scored, summary.failed) == (4, 2)
    failures = OutputPaths(run.out).failures.read_text()
    assert "NotVideoError" in failures and "clip2.mp4 is not a video (farm job" in failures
    assert "BadFarmResult" in failures
    assert pq.read_table(run.out).column("id").to_pylist() == ["clip0", "clip1", "clip3", "clip5"]


def test_a_clip_the_controller_refuses_fails_alone(manifest_path, runner):
    media = manifest_path.parent / "media"
    other = manifest_path.parent / "elsewhere"
    other.mkdir()
    (other / "clip3.mp4").write_bytes(b"\0")
    manifest_path.write_text(manifest_path.read_text().replace("media/clip3", "elsewhere/clip3"))
    farm = ScriptedFarm(roots=(str(media),))
    run = inputs(manifest_path)
    with closing(executor(farm, run.out, runner)) as farmed:
        summary = score_corpus(run, farmed)
    assert (summary.scored, summary.failed) == (5, 1)
    failures = OutputPaths(run.out).failures.read_text()
    assert "InputOutsideRootsError" in failures and "refused the clip's score job" in failures


def test_ctrl_c_leaves_jobs_running_and_a_rerun_collects_them_without_resubmitting(
    manifest_path, runner
):
    farm = ScriptedFarm()
    farm.hold = {"clip4", "clip5"}
    run = inputs(manifest_path)
    first = executor(farm, run.out, runner)
    with pytest.raises(KeyboardInterrupt), closing(first):
        score_corpus(run, first, progress=InterruptAfter(4))
    assert first.outstanding == 2
    states = sorted(job.state for job in runner.run(farm.all_jobs()))
    assert states.count(JobState.RUNNING) == 2  # not cancelled: still running on the farm

    farm.hold = set()
    with closing(executor(farm, run.out, runner)) as second:
        summary = score_corpus(run, second)
    assert (summary.scored, summary.resumed) == (6, 4)
    assert pq.read_table(run.out).column("id").to_pylist() == IDS
    assert second.run_id == first.run_id
    assert len(runner.run(farm.all_jobs())) == 6  # picked up by key, never submitted twice
    assert second.describe()["jobs_picked_up"] == 2


def test_cancel_on_interrupt_cancels_the_unfinished_jobs_and_a_rerun_submits_them_again(
    manifest_path, runner
):
    farm = ScriptedFarm()
    farm.hold = {"clip5"}
    run = inputs(manifest_path)
    first = executor(farm, run.out, runner, cancel_on_interrupt=True)
    with pytest.raises(KeyboardInterrupt), closing(first):
        score_corpus(run, first, progress=InterruptAfter(5))
    assert first.cancelled_on_farm == 1
    jobs = runner.run(farm.all_jobs())
    assert sorted(job.state for job in jobs).count(JobState.CANCELLED) == 1

    farm.hold = set()
    with closing(executor(farm, run.out, runner)) as second:
        summary = score_corpus(run, second)
    assert (summary.scored, summary.failed) == (6, 0)
    assert farm.keys[-1] == idempotency_key(second.run_id or "", "clip5", 1)
    assert len(runner.run(farm.all_jobs())) == 7


def test_failed_clips_are_tried_again_under_a_new_key(manifest_path, runner):
    failing = {"clip3"}

    def respond(job: Job) -> tuple[dict[str, Any] | None, str | None]:
        if any(word in job.spec["distorted"][0] for word in failing):
            return None, "the node ran out of disk"
        return succeed(job)

    farm = ScriptedFarm(respond)
    run = inputs(manifest_path)
    with closing(executor(farm, run.out, runner)) as first:
        assert score_corpus(run, first).failed == 1
    failing.clear()
    with closing(executor(farm, run.out, runner)) as second:
        summary = score_corpus(run, second)
    assert (summary.scored, summary.failed, summary.resumed) == (6, 0, 5)
    assert farm.keys[-1].endswith(":clip3#1")


def test_a_fresh_run_gets_a_new_run_id(manifest_path, runner):
    farm = ScriptedFarm()
    run = inputs(manifest_path)
    with closing(executor(farm, run.out, runner)) as first:
        score_corpus(run, first)
    fresh = dataclasses.replace(run, fresh=True)
    with closing(executor(farm, run.out, runner, fresh=True)) as second:
        score_corpus(fresh, second)
    assert second.run_id != first.run_id
    assert len(runner.run(farm.all_jobs())) == 12


def test_a_long_clip_id_still_makes_a_key_the_controller_takes():
    key = idempotency_key("r" * 16, "x" * 400, 2)
    assert len(key) <= 255 and key.endswith("#2")


def test_an_outcome_of_a_cancelled_job_says_so():
    now = datetime.now(UTC)
    job = Job(
        id="j1",
        tenant="t",
        kind=JobKind.SCORE,
        queue="score",
        spec={},
        created_at=now,
        updated_at=now,
        available_at=now,
        state=JobState.CANCELLED,
    )
    outcome = job_outcome(ClipJob("a", "d", None), job, ClipSettings(), fake_probe)
    assert isinstance(outcome, ClipFailed) and outcome.error_type == "FarmJobCancelled"
