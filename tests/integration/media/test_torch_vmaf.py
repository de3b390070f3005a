"""The opt-in torch backend (vmaf-torch) run on the CPU against the real libvmaf on the same
pair: frames flow in batches without changing a score, results say they are not libvmaf, and
the deviation stays within what was measured here (it is NOT within 0.1 VMAF: docs/gpu.md).
On a GPU the device script measures the same (benchmarks/gpu.py)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from vmafx.media import torchvmaf
from vmafx.media.ffmpeg import ffmpeg_info
from vmafx.media.runner import SubprocessRunner
from vmafx.media.scorer import LibvmafScorer, ScoreRequest

pytestmark = pytest.mark.integration
pytest.importorskip("vmaf_torch", reason="the gpu extra (pip install 'vmafx[gpu]')")
W, H, N = 160, 96, 7


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    folder = tmp_path_factory.mktemp("torchvmaf")
    ffmpeg = ffmpeg_info().path
    ref, dis = str(folder / "ref.y4m"), str(folder / "dis.mp4")
    source = f"testsrc2=size={W}x{H}:rate=24:duration={N / 24}"
    run = [ffmpeg, "-v", "error", "-y"]
    subprocess.run([*run, "-f", "lavfi", "-i", source, "-pix_fmt", "yuv420p", ref], check=True)
    x264 = ["-c:v", "libx264", "-crf", "35", "-pix_fmt", "yuv420p"]
    subprocess.run([*run, "-i", ref, *x264, dis], check=True)
    return ffmpeg, ref, dis


def torch_score(pair, batch):
    ffmpeg, ref, dis = pair
    torch.set_num_threads(1)
    return torchvmaf.score_pair(ffmpeg, ref, dis, width=W, height=H, device="cpu", batch=batch)


def test_batches_do_not_change_the_scores(pair):
    small, whole = torch_score(pair, 2), torch_score(pair, 16)
    assert len(small.frames) == len(whole.frames) == N
    assert np.allclose(small.frames, whole.frames, atol=1e-3)


def test_the_deviation_from_libvmaf_on_the_same_pair(pair):
    _, ref, dis = pair
    report = LibvmafScorer(ffmpeg_info(), SubprocessRunner()).score(ScoreRequest(ref, (dis,)))
    libvmaf = np.array(report.results[0].frames["vmaf_v0.6.1"])
    mine = torch_score(pair, 4)
    deviation = np.abs(np.array(mine.frames) - libvmaf)
    pooled = abs(mine.mean - float(libvmaf.mean()))
    # Measured here: 320x240 CRF 35 → pooled 0.75, per frame up to 1.18 (motion2 and VIF in
    # floating point); far over the 0.1 the issue asks for before it may be offered.
    assert pooled < 2.0, (pooled, mine.frames, libvmaf.tolist())
    assert deviation.max() < 3.0
    assert pooled > 0.0  # it is a re-implementation: never bit-exact with libvmaf's integers


def test_every_result_says_it_is_not_libvmaf(pair):
    data = torch_score(pair, 8).as_dict()
    assert data["label"].endswith("NOT libvmaf")
    assert data["backend"] == "torch-cpu"
    assert data["frame_count"] == N
    assert data["pooled"]["vmaf_torch"]["mean"] == pytest.approx(
        np.mean(data["frames"]["vmaf_torch"])
    )


def test_offered_only_where_torch_sees_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert torchvmaf.why_not_offered() == f"torch {torch.__version__} sees no CUDA GPU"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert torchvmaf.why_not_offered() is None


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is here")
def test_the_cli_refuses_the_backend_without_cuda(pair):
    _, ref, dis = pair
    done = subprocess.run(
        [sys.executable, "-m", "vmafx", "score", ref, dis, "--backend", "torch-cuda"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--backend torch-cuda cannot run here" in done.stderr
    assert "sees no CUDA GPU" in done.stderr
