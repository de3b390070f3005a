"""Job handlers with a scripted ffmpeg runner and scorer: hardware fallback, write failures,
input checks, per-frame storage. (tests/integration/node runs them with the real ffmpeg.)"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from vmafx.core import frames
from vmafx.core.features import NAMES_V1, FeatureVector
from vmafx.core.jobs import Job, JobKind, Requirements
from vmafx.core.nodes import GpuInfo
from vmafx.core.pooling import pool
from vmafx.core.scores import ScoreReport, ScoreResult
from vmafx.core.specs import parse_spec, validate_spec
from vmafx.errors import (
    FfmpegCancelledError,
    FfmpegError,
    InputNotFoundError,
    InputOutsideRootsError,
    OutputWriteError,
    UsageError,
)
from vmafx.media.runner import CancelToken, Progress, RunResult
from vmafx.node.handlers.base import JobContext, JobProgress
from vmafx.node.handlers.encode import EncodeHandler
from vmafx.node.handlers.score import INLINE_POINTS, ScoreHandler, decimate
from vmafx.node.outcomes import is_machine_fault
from vmafx.node.placement import GpuPool
from vmafx.testing import FakeRunner

MEDIA = Path(__file__).parents[2] / "fixtures" / "media"
NVENC_STDERR = "[h264_nvenc @ 0x5562] Cannot load libcuda.so.1\nError while opening encoder\n"
P4 = GpuInfo(vendor="nvidia", name="Tesla P4", uuid="GPU-p4", index=0, memory_mb=7680)
L4 = GpuInfo(vendor="nvidia", name="NVIDIA L4", uuid="GPU-l4", index=1, memory_mb=23034)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    folder.mkdir()
    shutil.copy(MEDIA / "ref.y4m", folder / "ref.y4m")
    shutil.copy(MEDIA / "dis.mp4", folder / "dis.mp4")
    return folder


def context(
    kind: JobKind,
    spec: dict[str, Any],
    root: Path,
    *,
    gpus: GpuPool | None = None,
    requirements: Requirements | None = None,
    progress: list[JobProgress] | None = None,
) -> JobContext:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    job = Job(
        id="0b5e6c1a-2d3f-4e5a-8b9c-0d1e2f3a4b5c",
        tenant="dev",
        kind=kind,
        queue=kind.value,
        spec=validate_spec(kind, spec),
        created_at=now,
        updated_at=now,
        available_at=now,
        requirements=requirements or Requirements(),
        attempt=1,
    )
    sink = progress if progress is not None else []
    return JobContext(
        job=job,
        spec=parse_spec(job.kind, job.spec),
        scoring_roots=(str(root),),
        cancel=CancelToken(),
        progress=sink.append,
        gpus=gpus or GpuPool(),
    )


def encoder_of(argv: list[str]) -> str:
    return argv[argv.index("-c:v") + 1]


def writes_output(argv: list[str]) -> RunResult:
    """What a working encoder does: write the (temporary) output named last in argv."""
    Path(argv[-1].removeprefix("file:")).write_bytes((MEDIA / "dis.mp4").read_bytes())
    return RunResult(argv, 0, "", 0.1, "frame=8\nprogress=end\n")


def nvenc_fails(argv: list[str]) -> RunResult:
    if encoder_of(argv).endswith("_nvenc"):
        return RunResult(argv, 1, NVENC_STDERR, 0.1)
    return writes_output(argv)


def encode_spec(root: Path, **fields: Any) -> dict[str, Any]:
    spec = {"source": str(root / "ref.y4m"), "output": str(root / "out" / "enc.mp4")}
    return {**spec, "codec": "h264", **fields}


def handler(runner: FakeRunner, verified=("h264_nvenc", "libx264")) -> EncodeHandler:
    return EncodeHandler("/usr/bin/ffmpeg", runner, frozenset(verified))


def test_a_failing_hardware_encoder_falls_back_to_software_and_says_why(root):
    runner = FakeRunner(nvenc_fails)
    output = handler(runner).run(context(JobKind.ENCODE, encode_spec(root), root))
    assert [encoder_of(argv) for argv in runner.calls] == ["h264_nvenc", "libx264"]
    assert output.encoder == "libx264"
    assert output.fallback is not None
    assert output.result["fallback"] == {
        "from": "h264_nvenc",
        "to": "libx264",
        "reason": "exit code 1: Cannot load libcuda.so.1",
    }
    assert (root / "out" / "enc.mp4").is_file()
    assert sorted(p.name for p in (root / "out").iterdir()) == ["enc.mp4"]  # no temp left
    assert (output.result["frames"], output.result["hardware"]) == (8, False)


def test_a_hardware_encoder_killed_by_a_signal_falls_back_too(root):
    def crash(argv: list[str]) -> RunResult:
        if encoder_of(argv) == "h264_nvenc":
            raise FfmpegCancelledError("ffmpeg was killed by signal 11 before it finished.")
        return writes_output(argv)

    output = handler(FakeRunner(crash)).run(context(JobKind.ENCODE, encode_spec(root), root))
    assert output.result["fallback"]["reason"] == (
        "ffmpeg was killed by signal 11 before it finished."
    )


def test_a_software_encoder_killed_by_a_signal_is_a_machine_fault(root):
    def crash(argv: list[str]) -> RunResult:
        raise FfmpegCancelledError("ffmpeg was killed by signal 9 before it finished.")

    with pytest.raises(FfmpegCancelledError) as info:
        handler(FakeRunner(crash), ["libx264"]).run(
            context(JobKind.ENCODE, encode_spec(root), root)
        )
    assert is_machine_fault(info.value)


def test_when_hardware_is_required_a_failure_is_not_hidden_by_software(root):
    runner = FakeRunner(nvenc_fails)
    spec = encode_spec(root, hw="require")
    with pytest.raises(FfmpegError, match="with h264_nvenc failed") as info:
        handler(runner).run(context(JobKind.ENCODE, spec, root))
    assert "Cannot load libcuda.so.1" in info.value.stderr_tail
    assert len(runner.calls) == 1


def test_a_full_disk_ends_the_encode_as_a_machine_fault_without_falling_back(root):
    def full(argv: list[str]) -> RunResult:
        return RunResult(argv, 1, "[out#0/mp4] Error writing trailer: No space left on device\n", 0)

    runner = FakeRunner(full)
    with pytest.raises(OutputWriteError, match="no space left on device") as info:
        handler(runner).run(context(JobKind.ENCODE, encode_spec(root), root))
    assert is_machine_fault(info.value)
    assert len(runner.calls) == 1
    assert not (root / "out" / "enc.mp4").exists()


def test_an_output_folder_that_cannot_be_created_fails_the_job_precisely(root):
    (root / "blocker").write_text("a file where a folder should be")
    spec = encode_spec(root, output=str(root / "blocker" / "enc.mp4"))
    with pytest.raises(OutputWriteError, match="blocker is a file, not a folder") as info:
        handler(FakeRunner(writes_output)).run(context(JobKind.ENCODE, spec, root))
    assert not is_machine_fault(info.value)
    deeper = encode_spec(root, output=str(root / "blocker" / "sub" / "enc.mp4"))
    with pytest.raises(OutputWriteError, match="cannot be created: Not a directory"):
        handler(FakeRunner(writes_output)).run(context(JobKind.ENCODE, deeper, root))


def test_an_input_outside_the_scoring_roots_is_refused_before_ffmpeg_runs(root, tmp_path):
    outside = tmp_path / "elsewhere.y4m"
    shutil.copy(MEDIA / "ref.y4m", outside)
    runner = FakeRunner(writes_output)
    with pytest.raises(InputOutsideRootsError, match="outside the scoring roots"):
        handler(runner).run(context(JobKind.ENCODE, encode_spec(root, source=str(outside)), root))
    assert runner.calls == []


def test_a_source_that_vanished_fails_with_its_path(root):
    spec = encode_spec(root)
    job = context(JobKind.ENCODE, spec, root)
    (root / "ref.y4m").unlink()
    with pytest.raises(InputNotFoundError, match=r"ref.y4m does not exist \(any more\)"):
        handler(FakeRunner(writes_output)).run(job)


def test_a_gpu_whose_nvenc_failed_its_trial_encodes_on_software_and_says_why(root):
    # An H100: an NVIDIA GPU with no NVENC, so h264_nvenc was refused at start-up.
    h100 = GpuInfo(vendor="nvidia", name="NVIDIA H100 80GB HBM3", uuid="GPU-h100", index=0)
    runner = FakeRunner(writes_output)
    job = context(JobKind.ENCODE, encode_spec(root), root, gpus=GpuPool([h100]))
    output = handler(runner, verified=("libx264",)).run(job)
    assert [encoder_of(argv) for argv in runner.calls] == ["libx264"]
    assert (output.encoder, output.fallback, output.result["hardware"]) == ("libx264", None, False)
    assert output.result["hardware_unverified"]["encoders"] == ["h264_nvenc"]
    assert "trial encode failed" in output.result["hardware_unverified"]["reason"]
    # without a GPU of that vendor there is nothing to explain
    plain = handler(FakeRunner(writes_output), verified=("libx264",)).run(
        context(JobKind.ENCODE, encode_spec(root), root)
    )
    assert "hardware_unverified" not in plain.result


def test_no_verified_encoder_for_the_codec_is_a_precise_failure(root):
    spec = encode_spec(root, codec="av1")
    with pytest.raises(UsageError, match="no encoder verified on this node can make av1"):
        handler(FakeRunner(writes_output)).run(context(JobKind.ENCODE, spec, root))


def test_a_hardware_encode_runs_on_the_least_loaded_gpu_that_fits(root):
    runner = FakeRunner(writes_output)
    job = context(
        JobKind.ENCODE,
        encode_spec(root),
        root,
        gpus=GpuPool([P4, L4]),
        requirements=Requirements(min_gpu_memory_mb=16000),
    )
    output = handler(runner).run(job)
    argv = runner.calls[0]
    assert argv[argv.index("-gpu") + 1] == "1"
    assert (output.gpu, output.encoder, output.fallback) == (L4, "h264_nvenc", None)
    assert output.result["gpu"]["uuid"] == "GPU-l4"


def test_encode_progress_is_a_fraction_of_the_frames(root):
    progress: list[JobProgress] = []
    steps = [Progress(4, 100.0, 0.2, False), Progress(8, 100.0, 0.3, True)]
    runner = FakeRunner(writes_output, progress=steps)
    handler(runner, ["libx264"]).run(
        context(JobKind.ENCODE, encode_spec(root), root, progress=progress)
    )
    # Said before ffmpeg's first block (libaom writes no frame for a while), then per block.
    assert [p.fraction for p in progress] == [0.0, 0.5, 1.0]
    assert {(p.phase, p.encoder) for p in progress} == {("encoding", "libx264")}
    assert progress[1].frames == 4


def test_an_encode_scored_after_labels_its_phases_and_its_progress_never_runs_backwards(root):
    progress: list[JobProgress] = []
    steps = [Progress(4, 100.0, 0.2, False), Progress(8, 100.0, 0.3, True)]
    runner = FakeRunner(writes_output, progress=steps)
    encoder = EncodeHandler(
        "ffmpeg", runner, {"libx264"}, scorer=FakeScorer(frames=8), timeout_s=None
    )
    spec = encode_spec(root, score_after=True)
    encoder.run(context(JobKind.ENCODE, spec, root, progress=progress))
    fractions = [p.fraction for p in progress]
    assert fractions == sorted(fractions), fractions
    assert [p.phase for p in progress] == ["encoding"] * 3 + ["scoring"] * 2
    assert fractions[2] == pytest.approx(0.8)  # encoding ends at 80 %, scoring takes the rest
    assert fractions[-1] == pytest.approx(0.9)  # the fake scorer reports half its frames


# --- score --------------------------------------------------------------------------------------
@dataclasses.dataclass
class FakeScorer:
    frames: int = 500
    requests: list[Any] = dataclasses.field(default_factory=list)

    def score(self, request, *, on_progress=None, cancel=None) -> ScoreReport:
        self.requests.append(request)
        if on_progress is not None:
            on_progress(self.frames // 2, self.frames)
        vmaf = [80.0 + (i % 10) for i in range(self.frames)]
        features = FeatureVector("vmafx-features-v1", NAMES_V1, tuple(0.5 for _ in NAMES_V1))
        result = ScoreResult(
            distorted=request.distorted[0],
            frame_count=self.frames,
            scored_frames=self.frames,
            pooled={"vmaf": pool(vmaf)},
            frames={"vmaf": vmaf, "integer_adm2": [0.9] * self.frames},
            frame_nums=tuple(range(self.frames)),
            features=features,
        )
        return ScoreReport(request.reference, (result,), {"ffmpeg": "9", "libvmaf": "3"}, 1.0)


def score_spec(root: Path, **fields: Any) -> dict[str, Any]:
    return {"reference": str(root / "ref.y4m"), "distorted": [str(root / "dis.mp4")], **fields}


def test_a_score_keeps_every_series_in_a_compressed_file_and_a_decimated_one_inline(root, tmp_path):
    results = tmp_path / "results"
    output = ScoreHandler(FakeScorer(), results).run(context(JobKind.SCORE, score_spec(root), root))
    item = output.result["results"][0]
    stored = item["per_frame"]
    body = json.loads(gzip.decompress(Path(stored["path"]).read_bytes()))
    assert len(body["series"]["vmaf"]) == 500
    assert body["series"]["integer_adm2"][0] == 0.9
    assert (stored["frames"], stored["series"]) == (500, ["integer_adm2", "vmaf"])
    assert len(item["series"]["vmaf"]) <= INLINE_POINTS
    assert len(item["series"]["frame_nums"]) == len(item["series"]["vmaf"])
    assert output.score == pytest.approx(84.5)
    assert output.features["integer_adm2.mean"] == 0.5
    assert len(json.dumps(output.result)) < 20_000


def test_a_score_ships_its_full_series_to_the_controller_when_they_fit(root, tmp_path):
    output = ScoreHandler(FakeScorer(), tmp_path / "r").run(
        context(JobKind.SCORE, score_spec(root), root)
    )
    stored = output.result["results"][0]["per_frame"]
    shipped = base64.b64decode(stored["data"])
    assert shipped == Path(stored["path"]).read_bytes()  # what the controller keeps: the file
    assert frames.take(output.result) == {0: shipped}


def test_a_score_without_per_frame_values_writes_no_file(root, tmp_path):
    spec = score_spec(root, per_frame=False)
    output = ScoreHandler(FakeScorer(), tmp_path / "r").run(context(JobKind.SCORE, spec, root))
    assert "per_frame" not in output.result["results"][0]
    assert not (tmp_path / "r").exists()


def test_score_metrics_become_libvmaf_features_or_ffmpeg_filters(root, tmp_path):
    scorer = FakeScorer()
    spec = score_spec(root, metrics=["vmaf", "psnr", "ssim"], subsample=2, threads=3)
    ScoreHandler(scorer, tmp_path).run(context(JobKind.SCORE, spec, root))
    options = scorer.requests[0].options
    assert (options.features, options.subsample, options.threads) == (
        ("ffmpeg:psnr", "ffmpeg:ssim"),
        2,
        3,
    )


def test_score_jobs_decode_as_the_node_is_set_to(root, tmp_path):
    scorer = FakeScorer()
    ScoreHandler(scorer, tmp_path).run(context(JobKind.SCORE, score_spec(root), root))
    ScoreHandler(scorer, tmp_path, decode="auto", nvidia_gpu=True).run(
        context(JobKind.SCORE, score_spec(root), root)
    )
    plain, auto = scorer.requests
    assert (plain.decode, plain.nvidia_gpu) == ("cpu", False)
    assert (auto.decode, auto.nvidia_gpu) == ("auto", True)


def test_a_distorted_input_outside_the_roots_is_refused(root, tmp_path):
    spec = score_spec(root, distorted=["/etc/passwd"])
    with pytest.raises(InputOutsideRootsError, match=r"distorted\[0\] /etc/passwd"):
        ScoreHandler(FakeScorer(), tmp_path).run(context(JobKind.SCORE, spec, root))


def test_decimation_averages_runs_of_frames():
    assert decimate([1.0, 3.0, 5.0, 7.0], points=2) == [2.0, 6.0]
    assert decimate([1.0, 2.0], points=5) == [1.0, 2.0]


def test_progress_of_a_score_has_frames_and_fraction(root, tmp_path):
    progress: list[JobProgress] = []
    job = context(JobKind.SCORE, score_spec(root), root, progress=progress)
    ScoreHandler(FakeScorer(frames=10), tmp_path).run(job)
    assert (progress[0].frames, progress[0].fraction) == (5, 0.5)


def test_an_encode_reports_its_source_size_for_the_bytes_saved_unless_trimmed(root):
    whole = handler(FakeRunner(writes_output)).run(context(JobKind.ENCODE, encode_spec(root), root))
    assert whole.result["source_bytes"] == (root / "ref.y4m").stat().st_size
    assert whole.result["bytes"] == (root / "out" / "enc.mp4").stat().st_size
    trimmed = encode_spec(root, trim={"start_s": 0.1})
    cut = handler(FakeRunner(writes_output)).run(context(JobKind.ENCODE, trimmed, root))
    assert "source_bytes" not in cut.result  # a part of the source: no fair comparison


def test_an_encode_reports_the_size_and_mtime_of_the_source_it_read_trimmed_too(root):
    source = (root / "ref.y4m").stat()
    whole = handler(FakeRunner(writes_output)).run(context(JobKind.ENCODE, encode_spec(root), root))
    assert whole.result["source_stat"] == {"size": source.st_size, "mtime_ns": source.st_mtime_ns}
    trimmed = encode_spec(root, trim={"start_s": 0.1})
    cut = handler(FakeRunner(writes_output)).run(context(JobKind.ENCODE, trimmed, root))
    assert cut.result["source_stat"] == whole.result["source_stat"]


def test_a_source_changed_during_the_encode_reports_no_source_stat(root):
    def rewrites_the_source(argv: list[str]) -> RunResult:
        with (root / "ref.y4m").open("ab") as source:
            source.write(b"more")
        return writes_output(argv)

    made = handler(FakeRunner(rewrites_the_source)).run(
        context(JobKind.ENCODE, encode_spec(root), root)
    )
    assert "source_stat" not in made.result
