"""A score result's warnings reach the user: under the table, on stderr beside CSV, in JSON."""

from __future__ import annotations

import json

from rich.console import Console

from vmafx.cli import output
from vmafx.core.pooling import pool
from vmafx.core.scores import ScoreReport, ScoreResult

WARNING = "The reference is flat (no detail for VMAF to compare) in 4 of 4 scored frames"


def report(*warnings: str) -> ScoreReport:
    result = ScoreResult(
        distorted="white[x].mp4",
        frame_count=4,
        scored_frames=4,
        pooled={"vmaf": pool([97.428043] * 4)},
        frames={"vmaf": [97.428043] * 4},
        frame_nums=(0, 1, 2, 3),
        features=None,
        warnings=warnings,
    )
    return ScoreReport("black.mp4", (result,), {"ffmpeg": "9", "libvmaf": "3"}, 0.1)


def test_the_table_prints_each_warning_under_its_result():
    console = Console(record=True, width=400)
    output.print_table(report(WARNING), console)
    assert f"warning: {WARNING}" in console.export_text()


def test_csv_output_gets_the_warnings_as_stderr_lines():
    assert output.warning_lines(report(WARNING)) == [f"warning: white[x].mp4: {WARNING}"]
    assert output.warning_lines(report()) == []


def test_json_output_has_a_warnings_list_even_when_empty():
    assert json.loads(output.to_json(report(WARNING)))["results"][0]["warnings"] == [WARNING]
    assert json.loads(output.to_json(report()))["results"][0]["warnings"] == []
