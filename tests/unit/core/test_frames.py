"""Per-frame series shipped by a node and served by the controller (`vmafx.core.frames`)."""

from __future__ import annotations

import csv
import io

from vmafx.core import frames


def _body(name: str, n: int) -> dict:
    return {
        "distorted": name,
        "frame_nums": list(range(n)),
        "series": {
            "integer_adm2": [0.9] * n,
            "vmaf_v0.6.1": [float(i) for i in range(n)],
            "psnr_y": [40.0] * n,
        },
    }


def test_shipped_series_leave_the_result_and_come_back_intact():
    result = {"results": [{"per_frame": {"path": "/n/f0"}}, {"per_frame": {"path": "/n/f1"}}]}
    packed = {0: frames.pack(_body("a.mp4", 3)), 1: frames.pack(_body("b.mp4", 2))}
    frames.attach(result, packed)
    assert all(isinstance(item["per_frame"]["data"], str) for item in result["results"])
    taken = frames.take(result)
    assert taken == packed
    assert [item["per_frame"] for item in result["results"]] == [
        {"path": "/n/f0", "stored": True},
        {"path": "/n/f1", "stored": True},
    ]
    assert frames.unpack(taken[1]) == _body("b.mp4", 2)


def test_a_job_over_the_limit_ships_nothing_and_says_where_the_series_stayed():
    after = {"per_frame": {"path": "/node/frames-0.json.gz"}}
    result = {"score_after": after}
    frames.attach(result, {0: b"x" * (frames.SHIP_LIMIT + 1)})
    assert "data" not in after["per_frame"] and after["per_frame"]["stored"] is False
    assert frames.take(result) == {}
    reason = frames.missing_reason("j1", "completed", result)
    assert "stayed on its node" in reason and "/node/frames-0.json.gz" in reason


def test_the_csv_puts_the_pooled_metric_names_first_as_vmafx_score_does():
    text = frames.to_csv([_body("a.mp4", 2), _body("b.mp4", 1)], ["vmaf_v0.6.1", "psnr_y", "vmaf"])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["distorted", "frame", "vmaf_v0.6.1", "psnr_y", "integer_adm2"]
    assert rows[1:] == [
        ["a.mp4", "0", "0.0", "40.0", "0.9"],
        ["a.mp4", "1", "1.0", "40.0", "0.9"],
        ["b.mp4", "0", "0.0", "40.0", "0.9"],
    ]


def test_why_a_job_has_no_series():
    assert "is running" in frames.missing_reason("j", "running", None)
    assert "per_frame false" in frames.missing_reason("j", "completed", {"results": [{}]})
