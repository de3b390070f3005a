"""`--decode cuda` with the real ffmpeg on a machine whose NVDEC cannot be used (CI has no
NVIDIA GPU): the GPU run fails, is redone on the CPU, and the report says so; the scores are
the CPU decode's. On a machine with a working NVIDIA GPU the device script checks the other
side (benchmarks/gpu.py); this test is skipped there."""

from __future__ import annotations

import shutil

import pytest
from tests.conftest import MEDIA

from vmafx.media.ffmpeg import ffmpeg_info
from vmafx.media.runner import SubprocessRunner
from vmafx.media.scorer import LibvmafScorer, ScoreRequest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="an NVIDIA GPU may be here"),
]


class Recording(SubprocessRunner):
    def __init__(self) -> None:
        super().__init__()
        self.argvs: list[list[str]] = []

    def run(self, argv, **kwargs):  # type: ignore[no-untyped-def]
        self.argvs.append(list(argv))
        return super().run(argv, **kwargs)


def score(decode: str, nvidia_gpu: bool = False):
    runner = Recording()
    scorer = LibvmafScorer(ffmpeg_info(), runner)
    request = ScoreRequest(
        str(MEDIA / "ref.y4m"), (str(MEDIA / "dis.mp4"),), decode=decode, nvidia_gpu=nvidia_gpu
    )
    return scorer.score(request), runner.argvs


def test_a_failed_gpu_decode_is_redone_on_the_cpu_and_recorded():
    cpu, _ = score("cpu")
    report, argvs = score("cuda")
    assert cpu.decode is None
    assert report.decode is not None
    assert report.decode["asked"] == "cuda"
    assert report.decode["used"] == "cpu"
    assert report.decode["reason"].startswith("NVDEC failed: ")
    assert report.decode["inputs"] == ["cpu", "cpu"]
    assert report.as_dict()["decode"] == report.decode
    assert ["-hwaccel" in argv for argv in argvs] == [True, False]
    mine, theirs = report.results[0], cpu.results[0]
    assert mine.pooled["vmaf_v0.6.1"].mean == theirs.pooled["vmaf_v0.6.1"].mean
    assert mine.frames["vmaf_v0.6.1"] == theirs.frames["vmaf_v0.6.1"]


def test_auto_without_a_gpu_never_tries_nvdec():
    report, argvs = score("auto", nvidia_gpu=False)
    assert report.decode == {
        "asked": "auto", "used": "cpu", "reason": "no NVIDIA GPU detected", "inputs": ["cpu", "cpu"],
    }  # fmt: skip
    assert not any("-hwaccel" in argv for argv in argvs)
