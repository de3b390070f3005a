"""`vmafx score` as a user runs it: a real process, real ffmpeg, exit codes from one table."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import MEDIA

from vmafx.media.ffmpeg import locate

pytestmark = pytest.mark.integration
REF = str(MEDIA / "ref.y4m")
GOLDEN = json.loads((MEDIA / "golden.json").read_text())


def vmafx(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "VMAFX_FFMPEG"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "vmafx", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )


def test_json_output_has_the_documented_shape():
    out = vmafx(
        "score",
        REF,
        str(MEDIA / "dis.mp4"),
        str(MEDIA / "dis.mkv"),
        "--format",
        "json",
        "-f",
        "psnr",
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["reference"] == REF
    assert [r["distorted"] for r in data["results"]] == [
        str(MEDIA / "dis.mp4"),
        str(MEDIA / "dis.mkv"),
    ]
    first = data["results"][0]
    assert first["frame_count"] == 8
    # The model's own name, plus (for one release) the old key `vmaf` as an alias of it.
    # `-f psnr` is ffmpeg's psnr filter (issue 13): its four keys, not libvmaf's psnr_cb/cr.
    assert set(first["pooled"]) == {"vmaf_v0.6.1", "vmaf", "psnr_avg", "psnr_y", "psnr_u", "psnr_v"}
    assert first["pooled"]["vmaf"] == first["pooled"]["vmaf_v0.6.1"]
    assert set(first["pooled"]["vmaf_v0.6.1"]) == {
        "mean",
        "harmonic_mean",
        "min",
        "max",
        "p5",
        "p95",
    }
    assert first["pooled"]["vmaf_v0.6.1"]["mean"] == pytest.approx(
        GOLDEN["dis.mp4"]["pooled"]["vmaf"]["mean"], abs=1e-4
    )
    assert first["features"]["schema"] == "vmafx-features-v1"
    assert len(first["features"]["names"]) == len(first["features"]["values"]) == 80
    assert set(data["versions"]) == {"ffmpeg", "libvmaf"}


def test_table_output_shows_metrics_and_per_frame_csv_is_written(tmp_path):
    frames = tmp_path / "frames.csv"
    out = vmafx("score", REF, str(MEDIA / "dis.mp4"), "--per-frame", str(frames))
    assert out.returncode == 0, out.stderr
    assert "vmaf_v0.6.1" in out.stdout and "harmonic mean" in out.stdout
    with frames.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 8
    assert float(rows[0]["vmaf_v0.6.1"]) > 0 and "integer_adm2" in rows[0]


def test_csv_output_has_one_row_per_metric():
    out = vmafx("score", REF, str(MEDIA / "dis.mp4"), "--format", "csv")
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("reference,distorted,metric,frame_count,mean")
    # The model's row, then (for one release) the same figures under the old name `vmaf`.
    assert len(lines) == 3 and ",vmaf_v0.6.1,8," in lines[1] and ",vmaf,8," in lines[2]
    assert lines[1].split(",vmaf_v0.6.1,")[1] == lines[2].split(",vmaf,")[1]


def _raw_args(width: str = "80") -> list[str]:
    return ["--width", width, "--height", "48", "--pix-fmt", "yuv420p10le"]


BAD_INPUTS = [
    ("missing file", [REF, str(MEDIA / "nope.mp4")], 3, "nope.mp4 does not exist"),
    ("not a video", [REF, str(MEDIA / "golden.json")], 4, "golden.json is not a video"),
    ("corrupt video", [REF, str(MEDIA / "corrupt.mp4")], 4, "corrupt.mp4"),
    (
        "raw without size",
        [str(MEDIA / "ref_10bit.yuv"), str(MEDIA / "dis_10bit.yuv")],
        5,
        "no size was given",
    ),
    (
        "size not dividing",
        [str(MEDIA / "ref_10bit.yuv"), str(MEDIA / "dis_10bit.yuv"), *_raw_args("81")],
        5,
        "not a whole number",
    ),
    ("frame counts differ", [REF, str(MEDIA / "dis_short.mp4")], 6, "--sync shortest"),
    ("frame rates differ", [REF, str(MEDIA / "dis_30fps.mp4")], 6, "--sync fps"),
    ("unknown model", [REF, str(MEDIA / "dis.mp4"), "-m", "vmaf_v9"], 7, "vmaf_v9"),
    ("unknown feature", [REF, str(MEDIA / "dis.mp4"), "-f", "sharpness"], 8, "sharpness"),
]


@pytest.mark.parametrize(
    ("case", "args", "code", "message"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS]
)
def test_bad_input_gets_one_paragraph_a_distinct_exit_code_and_no_traceback(
    case, args, code, message
):
    out = vmafx("score", *args)
    assert out.returncode == code, out.stderr
    assert message in out.stderr
    assert out.stderr.startswith("error: ")
    assert "Traceback" not in out.stderr
    assert out.stdout == ""


def _fake_ffmpeg(tmp_path: Path, body: str) -> str:
    script = tmp_path / "ffmpeg"
    script.write_text(f"#!/bin/sh\nREAL='{locate()}'\n{body}\n")
    script.chmod(0o755)
    return str(script)


def test_an_ffmpeg_without_libvmaf_is_named_with_the_fix(tmp_path):
    fake = _fake_ffmpeg(
        tmp_path,
        # an ffmpeg built without libvmaf: no such filter, and not in its configuration line
        'case "$2" in -filters) "$REAL" "$@" | grep -v libvmaf; exit;;\n'
        '  -version) "$REAL" "$@" | sed s/--enable-libvmaf//; exit;; esac\n'
        'case "$*" in *filter_complex*) echo "No such filter: \'libvmaf\'" >&2; exit 8;; esac\n'
        '"$REAL" "$@" 2>&1 | sed s/--enable-libvmaf// >&2',
    )
    out = vmafx("score", REF, str(MEDIA / "dis.mp4"), env={"VMAFX_FFMPEG": fake})
    assert out.returncode == 11
    assert fake in out.stderr and "no libvmaf filter" in out.stderr and "VMAFX_FFMPEG" in out.stderr


def test_ffmpeg_killed_mid_run_is_reported_and_nothing_is_printed(tmp_path):
    fake = _fake_ffmpeg(tmp_path, 'case "$*" in *libvmaf*) kill -9 $$ ;; esac\nexec "$REAL" "$@"')
    out = vmafx(
        "score", REF, str(MEDIA / "dis.mp4"), "--format", "json", env={"VMAFX_FFMPEG": fake}
    )
    assert out.returncode == 130
    assert "killed by signal 9" in out.stderr
    assert out.stdout == ""


def test_help_teaches_by_example():
    out = vmafx("score", "--help")
    assert out.returncode == 0
    assert "vmafx score ref.mp4 enc_crf23.mp4" in out.stdout
    assert "--sync" in out.stdout


@pytest.mark.parametrize(
    "args", [["nope"], ["score", "only-one.mp4"], ["score", "--threads", "x", "a", "b"]]
)
def test_usage_mistakes_print_the_usage_line_and_exit_2_without_a_traceback(args):
    out = vmafx(*args)
    assert out.returncode == 2
    assert "Usage: vmafx" in out.stderr
    assert "Traceback" not in out.stderr


def test_local_scoring_takes_the_metric_names_a_farm_job_takes():
    out = vmafx("score", REF, str(MEDIA / "dis.mp4"), "-f", "ssim", "-f", "ciede2000",
                "--format", "json", "--no-features")  # fmt: skip
    assert out.returncode == 0, out.stderr
    pooled = json.loads(out.stdout)["results"][0]["pooled"]
    assert {"vmaf_v0.6.1", "ssim_all", "ssim_y", "ciede2000"} <= set(pooled)
