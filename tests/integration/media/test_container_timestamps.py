"""Frames are paired by index, not by container timestamps: an MP4 reference against an MKV
encode at 24 fps (time bases 1/12288 and 1/1000 round 41.67 ms frames apart) once scored
VMAF 78 for an encode that scores 99.8 as MP4, with bare ffmpeg + libvmaf too."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from vmafx.media.graph import ScoreOptions
from vmafx.media.inputprobe import locate_ffmpeg
from vmafx.media.runner import SubprocessRunner
from vmafx.media.scorer import LibvmafScorer, ScoreRequest

pytestmark = pytest.mark.integration


def _ffmpeg(*args: str) -> None:
    subprocess.run([locate_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def _vmaf(reference: Path, distorted: Path) -> float:
    scorer = LibvmafScorer(locate_ffmpeg(), SubprocessRunner())
    options = ScoreOptions(threads=2, feature_vector=False)
    result = scorer.score(ScoreRequest(str(reference), (str(distorted),), options)).results[0]
    return result.pooled["vmaf_v0.6.1"].mean


def test_an_mkv_encode_of_an_mp4_reference_scores_what_the_same_encode_scores_as_mp4(tmp_path):
    ref = tmp_path / "ref.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=24:duration=1", "-c:v", "libx264",
            "-crf", "8", str(ref))  # fmt: skip
    as_mkv, as_mp4 = tmp_path / "enc.mkv", tmp_path / "enc.mp4"
    for out in (as_mkv, as_mp4):  # one thread: the same frames in both containers
        _ffmpeg("-i", str(ref), "-c:v", "libx264", "-crf", "12", "-threads", "1", str(out))
    mkv, mp4 = _vmaf(ref, as_mkv), _vmaf(ref, as_mp4)
    assert mkv == pytest.approx(mp4, abs=1e-3)
    assert mkv > 95
