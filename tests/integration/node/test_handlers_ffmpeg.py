"""Every job handler with the real ffmpeg on the tiny fixtures: scores equal libvmaf's golden
values, a declared-but-broken hardware encoder falls back to x264, images come out the right
size, a cancel stops ffmpeg. No GPU is used: NVENC only ever fails here."""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import pytest

from vmafx.core.jobs import Job, JobKind
from vmafx.core.specs import parse_spec, validate_spec
from vmafx.errors import FfmpegCancelledError, NotVideoError, UsageError
from vmafx.media.ffmpeg import ffmpeg_info, locate
from vmafx.media.runner import CancelToken, SubprocessRunner, check_returncode
from vmafx.node.handlers.base import JobContext, JobProgress
from vmafx.node.handlers.registry import build_handlers
from vmafx.node.httpstatus import StatusServer
from vmafx.node.metrics import NodeMetrics
from vmafx.node.placement import GpuPool

pytestmark = pytest.mark.integration

MEDIA = Path(__file__).parents[2] / "fixtures" / "media"
GOLDEN = json.loads((MEDIA / "golden.json").read_text())


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    folder.mkdir()
    for name in ("ref.y4m", "dis.mp4", "corrupt.mp4"):
        shutil.copy(MEDIA / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def handlers(tmp_path_factory: pytest.TempPathFactory):
    return build_handlers(
        ffmpeg=ffmpeg_info(),
        runner=SubprocessRunner(),
        verified={"libx264", "h264_nvenc"},  # NVENC declared, as VMAFX_NODE_DECLARED_ENCODERS does
        results_dir=tmp_path_factory.mktemp("results"),
        timeout_s=60,
    )


def run(handlers, kind: JobKind, spec: dict[str, Any], root: Path, **extra: Any):
    now = datetime.now(UTC)
    job = Job(
        id="7c9e6679-7425-40de-944b-e07fc1f90ae7",
        tenant="dev",
        kind=kind,
        queue=kind.value,
        spec=validate_spec(kind, spec),
        created_at=now,
        updated_at=now,
        available_at=now,
        attempt=1,
    )
    progress: list[JobProgress] = extra.pop("progress", [])
    context = JobContext(
        job=job,
        spec=parse_spec(job.kind, job.spec),
        scoring_roots=(str(root),),
        cancel=extra.pop("cancel", CancelToken()),
        progress=progress.append,
        gpus=GpuPool(),
    )
    return handlers[kind].run(context)


def test_a_score_job_reports_libvmafs_own_numbers(handlers, root):
    spec = {"reference": str(root / "ref.y4m"), "distorted": [str(root / "dis.mp4")]}
    output = run(handlers, JobKind.SCORE, spec, root)
    item = output.result["results"][0]
    golden = GOLDEN["dis.mp4"]["pooled"]["vmaf"]
    assert item["pooled"]["vmaf_v0.6.1"]["mean"] == pytest.approx(golden["mean"], abs=1e-4)
    assert item["pooled"]["vmaf"] == item["pooled"]["vmaf_v0.6.1"]  # the one-release alias
    assert output.score == pytest.approx(golden["mean"], abs=1e-4)
    assert len(output.features) == 80
    assert Path(item["per_frame"]["path"]).is_file()
    assert output.result["versions"]["libvmaf"]


def test_a_corrupt_input_fails_the_score_naming_it(handlers, root):
    spec = {"reference": str(root / "ref.y4m"), "distorted": [str(root / "corrupt.mp4")]}
    with pytest.raises(NotVideoError, match="corrupt.mp4"):
        run(handlers, JobKind.SCORE, spec, root)


def test_an_nvenc_encode_on_a_machine_without_a_gpu_falls_back_to_x264(handlers, root):
    spec = {
        "source": str(root / "ref.y4m"),
        "output": str(root / "out" / "enc.mp4"),
        "codec": "h264",
        "rate_control": {"mode": "crf", "value": 30},
        "trim": {"start_s": 0.0833, "duration_s": 0.2},
        "score_after": True,
    }
    output = run(handlers, JobKind.ENCODE, spec, root)
    fallback = output.result["fallback"]
    assert (fallback["from"], fallback["to"]) == ("h264_nvenc", "libx264")
    assert fallback["reason"].startswith("exit code ")
    assert (output.encoder, output.fallback is not None) == ("libx264", True)
    with av.open(str(root / "out" / "enc.mp4")) as made:
        assert made.streams.video[0].codec_context.name == "h264"
    after = output.result["score_after"]
    assert (after["trimmed"], after["frame_count"]) == (True, output.result["frames"])
    assert 0 < after["vmaf"] <= 100


def test_a_thumbnail_is_one_scaled_frame(handlers, root):
    spec = {"source": str(root / "dis.mp4"), "output": str(root / "t" / "a.jpg"), "width": 40}
    output = run(handlers, JobKind.THUMBNAIL, spec, root)
    with av.open(output.result["output"]) as image:
        frame = next(image.decode(video=0))
    assert (frame.width, frame.height) == (40, 24)


def test_a_thumbnail_past_the_end_fails_saying_how_long_the_source_is(handlers, root):
    spec = {"source": str(root / "dis.mp4"), "output": str(root / "t" / "a.jpg"), "at_s": 5}
    with pytest.raises(UsageError, match=r"past the end of .*dis.mp4, which lasts 0.3"):
        run(handlers, JobKind.THUMBNAIL, spec, root)


def test_a_filmstrip_tiles_the_frames_side_by_side(handlers, root):
    spec = {"source": str(root / "dis.mp4"), "output": str(root / "s.png"), "count": 4}
    output = run(handlers, JobKind.FILMSTRIP, spec, root)
    with av.open(output.result["output"]) as image:
        frame = next(image.decode(video=0))
    assert (frame.width, frame.height) == (4 * 80, 48)
    assert output.result["frame_nums"] == [0, 2, 4, 6]


def test_a_cancel_stops_a_running_encode(handlers, root):
    source = root / "long.mkv"
    argv = [locate(), "-hide_banner", "-v", "error", "-y", "-f", "lavfi",
            "-i", "testsrc2=size=640x360:rate=25:duration=60", "-c:v", "ffv1", str(source)]  # fmt: skip
    check_returncode(SubprocessRunner().run(argv, timeout_s=120), "making a long source")
    spec = {"source": str(source), "output": str(root / "long.mp4"), "codec": "h264",
            "hw": "never", "preset": "veryslow"}  # fmt: skip
    cancel = CancelToken()
    progress: list[JobProgress] = []
    threading.Timer(1.0, cancel.cancel, args=("cancelled by the controller",)).start()
    started = time.monotonic()
    with pytest.raises(FfmpegCancelledError, match="cancelled by the controller"):
        run(handlers, JobKind.ENCODE, spec, root, cancel=cancel, progress=progress)
    assert time.monotonic() - started < 10
    assert not (root / "long.mp4").exists()
    assert [p for p in progress if p.fraction is not None]


def test_the_status_listener_serves_metrics_liveness_and_readiness():
    metrics = NodeMetrics()
    metrics.describe_node("n1", "0.1.0", "nvidia", ["cpu", "cuda"])
    state = {"ready": (False, "not registered with the controller")}
    server = StatusServer("127.0.0.1:0", metrics.registry, lambda: state["ready"]).start()
    base = f"http://{server.address}"

    def get(path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"{base}{path}", timeout=5) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read()

    try:
        status, body = get("/metrics")
        assert status == 200
        assert b'vmafx_node_info{backends="cpu,cuda",name="n1"' in body
        assert get("/livez") == (200, b"ok\n")
        assert get("/readyz") == (503, b"not registered with the controller\n")
        state["ready"] = (True, "ready")
        assert get("/readyz") == (200, b"ready\n")
        assert get("/nope")[0] == 404
    finally:
        server.stop()
