"""`vmafx score --plot`'s picture and the per-frame CSV's column names, from a made-up report."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from vmafx.cli.frameplot import check_plot_path, frames_svg
from vmafx.cli.output import write_per_frame
from vmafx.core.pooling import pool
from vmafx.core.scores import ScoreReport, ScoreResult
from vmafx.errors import UsageError

SVG = "{http://www.w3.org/2000/svg}"


def _result(
    name: str, vmaf: list[float], models: tuple[str, ...] = ("vmaf_v0.6.1",)
) -> ScoreResult:
    frames = {
        "integer_adm2": [0.9] * len(vmaf),
        "VMAF_integer_feature_motion_sad_score": [0.0] * len(vmaf),
        "psnr_y": [30.0] * len(vmaf),
        **{model: list(vmaf) for model in models},
    }
    pooled = {model: pool(vmaf) for model in models} | {"psnr_y": pool(frames["psnr_y"])}
    return ScoreResult(
        distorted=name,
        frame_count=len(vmaf),
        scored_frames=len(vmaf),
        pooled=pooled,
        frames=frames,
        frame_nums=tuple(range(len(vmaf))),
        features=None,
        models=models,
    )


def _report(*results: ScoreResult) -> ScoreReport:
    return ScoreReport("/clips/ref.y4m", results, {"ffmpeg": "7", "libvmaf": "3"})


def test_plot_is_valid_svg_with_one_line_per_distorted_input():
    report = _report(
        _result("/clips/a.mp4", [90, 91, 40, 92, 93, 89]),
        _result("/clips/b.mp4", [70, 71, 72, 30, 73, 74]),
    )
    root = ET.fromstring(frames_svg(report))
    lines = [e for e in root.iter(f"{SVG}polyline") if e.get("class") == "series"]
    assert [e.get("data-label") for e in lines] == ["a.mp4", "b.mp4"]
    texts = [e.text or "" for e in root.iter(f"{SVG}text")]
    assert "frame" in texts and "VMAF" in texts  # axes
    assert "a.mp4" in texts and "b.mp4" in texts  # legend


def test_plot_marks_the_three_lowest_frames_of_each_input_with_their_numbers():
    report = _report(
        _result("a.mp4", [90, 91, 40, 92, 93, 89]), _result("b.mp4", [70, 71, 72, 30, 73, 74])
    )
    root = ET.fromstring(frames_svg(report))
    marks = [e.get("data-frame") for e in root.iter(f"{SVG}circle") if e.get("class") == "worst"]
    assert marks == ["2", "5", "0", "3", "0", "1"]
    texts = [e.text or "" for e in root.iter(f"{SVG}text")]
    assert "2: 40.0" in texts and "3: 30.0" in texts


def test_plot_draws_each_model_of_an_input_when_several_were_scored():
    models = ("vmaf_v0.6.1", "vmaf_v0.6.1neg")
    root = ET.fromstring(frames_svg(_report(_result("a.mp4", [80, 81, 82], models))))
    lines = [e.get("data-label") for e in root.iter(f"{SVG}polyline")]
    assert lines == ["a.mp4 vmaf_v0.6.1", "a.mp4 vmaf_v0.6.1neg"]


def test_plot_names_with_markup_stay_valid_svg():
    root = ET.fromstring(frames_svg(_report(_result('<a "&> b.mp4', [80.0]))))
    assert [e.get("data-label") for e in root.iter(f"{SVG}polyline")] == ['<a "&> b.mp4']


@pytest.mark.parametrize("name", ["frames.jpg", "frames"])
def test_plot_file_other_than_svg_or_png_is_refused_before_scoring(tmp_path: Path, name: str):
    with pytest.raises(UsageError, match=r"as \.svg or \.png") as caught:
        check_plot_path(tmp_path / name)
    assert "--plot frames.svg" in (caught.value.hint or "")


def test_per_frame_csv_puts_the_metrics_users_know_first_then_libvmaf_features(tmp_path: Path):
    path = tmp_path / "frames.csv"
    write_per_frame(_report(_result("a.mp4", [80, 81])), path)
    with path.open() as handle:
        header = next(csv.reader(handle))
    assert header[:4] == ["distorted", "frame", "vmaf_v0.6.1", "psnr_y"]
    assert set(header[4:]) == {"integer_adm2", "VMAF_integer_feature_motion_sad_score"}
