"""`vmafx score --plot` and the per-frame CSV as a user runs them: a real process, real ffmpeg."""

from __future__ import annotations

import csv
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from tests.conftest import MEDIA
from tests.integration.cli.test_score_startup import (
    NOT_BEFORE_SCORING,
    _modules_when_scoring_starts,
)

from vmafx.media.ffmpeg import locate

pytestmark = pytest.mark.integration
REF = str(MEDIA / "ref.y4m")
DIS = [str(MEDIA / "dis.mp4"), str(MEDIA / "dis.mkv")]
SVG = "{http://www.w3.org/2000/svg}"


def vmafx(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "vmafx", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _imported(out: subprocess.CompletedProcess[str]) -> set[str]:
    return {line.split("|")[-1].strip() for line in out.stderr.splitlines() if "|" in line}


def test_score_plot_svg_draws_one_line_per_input_with_the_worst_frames(tmp_path: Path):
    plot = tmp_path / "frames.svg"
    out = vmafx("score", REF, *DIS, "--plot", str(plot), "--format", "json")
    assert out.returncode == 0, out.stderr
    root = ET.parse(plot).getroot()
    lines = [e.get("data-label") for e in root.iter(f"{SVG}polyline")]
    assert lines == ["dis.mp4", "dis.mkv"]
    marks = [e for e in root.iter(f"{SVG}circle") if e.get("class") == "worst"]
    assert len(marks) == 6
    assert "vmafx.cli.frameplot" in _imported(out)


def test_score_plot_png_is_a_png_image(tmp_path: Path):
    decoders = subprocess.run(
        [locate(), "-hide_banner", "-decoders"], capture_output=True, text=True, timeout=60
    ).stdout
    if "librsvg" not in decoders:
        pytest.skip("this ffmpeg has no librsvg decoder")
    plot = tmp_path / "frames.png"
    out = vmafx("score", REF, DIS[0], "--plot", str(plot), "--format", "json")
    assert out.returncode == 0, out.stderr
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_score_plot_to_another_suffix_is_refused_before_scoring(tmp_path: Path):
    out = vmafx("score", REF, DIS[0], "--plot", str(tmp_path / "frames.jpg"))
    assert out.returncode == 2, out.stderr
    assert "vmafx writes a plot as .svg or .png, not .jpg" in out.stderr
    assert "Traceback" not in out.stderr


def test_score_without_plot_never_imports_the_plot_module():
    out = vmafx("score", REF, DIS[0], "--format", "json")
    assert out.returncode == 0, out.stderr
    assert not {"vmafx.cli.frameplot", "vmafx.media.svgplot"} & _imported(out)


def test_score_with_plot_still_imports_nothing_heavy_before_ffmpeg_starts(tmp_path: Path):
    modules = _modules_when_scoring_starts(REF, DIS[0], "--plot", str(tmp_path / "f.svg"))
    assert not [m for m in modules if m.split(".")[0] in NOT_BEFORE_SCORING]


def test_per_frame_csv_leads_with_the_pooled_metric_names(tmp_path: Path):
    frames = tmp_path / "frames.csv"
    args = ["-f", "psnr", "-f", "float_ssim", "--per-frame", str(frames), "--format", "json"]
    out = vmafx("score", REF, DIS[0], *args)
    assert out.returncode == 0, out.stderr
    with frames.open() as handle:
        header = next(csv.reader(handle))
    pooled = ["vmaf_v0.6.1", "float_ssim", "psnr_avg", "psnr_y", "psnr_u", "psnr_v"]
    assert header[: 2 + len(pooled)] == ["distorted", "frame", *pooled]
    assert "integer_adm2" in header[2 + len(pooled) :]
