"""`vmafx score` reaches its scoring ffmpeg quickly (issue 13): no ffmpeg run before it for a
small local pair (one where the graph needs both frame rates or the inputs are long), and none
of the heavy modules imported before it starts."""

from __future__ import annotations

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

#: What the import-time work took off `vmafx score`'s path before its scoring ffmpeg starts.
NOT_BEFORE_SCORING = (
    "typer",
    "click",
    "pydantic",
    "rich",
    "numpy",
    "av",
    "vmafx.cli.app",
    # the services' settings: large dataclasses, ~5 ms to build (they left `vmafx.config`)
    "vmafx.controller.settings",
    "vmafx.ai.trainer.settings",
)

_PROBE = """
import gc, json, sys
from vmafx.media import runner
real = runner.SubprocessRunner.run
def run(self, argv, **kw):
    if "-filter_complex" in argv:
        print("MODULES " + json.dumps(sorted(sys.modules)), file=sys.stderr)
        print("GC " + json.dumps([gc.isenabled(), gc.get_freeze_count()]), file=sys.stderr)
    return real(self, argv, **kw)
runner.SubprocessRunner.run = run
sys.argv = ["vmafx", "score", *sys.argv[1:]]
from vmafx.cli.entry import main
main()
"""


def _when_scoring_starts(*args: str) -> dict[str, object]:
    """What `_PROBE` printed as the scoring ffmpeg started, by label (MODULES, GC)."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return {
        label: json.loads(line.removeprefix(label + " "))
        for line in out.stderr.splitlines()
        for label in ("MODULES", "GC")
        if line.startswith(label + " ")
    }


def _modules_when_scoring_starts(*args: str) -> set[str]:
    return set(_when_scoring_starts(*args)["MODULES"])  # type: ignore[call-overload]


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_vmafx_score_imports_no_typer_rich_numpy_or_pyav_before_ffmpeg_starts(fmt: str):
    modules = _modules_when_scoring_starts(REF, str(MEDIA / "dis.mp4"), "--format", fmt)
    heavy = sorted(m for m in modules if m.split(".")[0] in NOT_BEFORE_SCORING)
    heavy += [m for m in NOT_BEFORE_SCORING if "." in m and m in modules]
    assert heavy == []


def test_the_garbage_collector_is_back_on_for_the_run_with_start_up_frozen():
    """The console script pauses collection while `vmafx score` loads (cli.entry.main); the run
    itself (a long one's progress bar makes garbage) has it on again, with what start-up
    loaded moved out of every later collection."""
    seen = _when_scoring_starts(REF, str(MEDIA / "dis.mp4"), "--format", "json")
    enabled, frozen = seen["GC"]  # type: ignore[misc]
    assert enabled is True
    assert frozen > 10_000  # the objects of ~150 modules


def _ffmpeg_runs(tmp_path: Path, *args: str) -> list[str]:
    """The argv of every ffmpeg run `vmafx score ARGS` made, in order."""
    calls = tmp_path / "calls"
    fake = tmp_path / "ffmpeg"
    fake.write_text(f"#!/bin/sh\necho \"$*\" >> '{calls}'\nexec '{locate()}' \"$@\"\n")
    fake.chmod(0o755)
    env = {**os.environ, "VMAFX_FFMPEG": str(fake)}
    out = subprocess.run(
        [sys.executable, "-m", "vmafx", "score", *args, "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return calls.read_text().splitlines()


def test_a_small_local_pair_is_scored_by_one_ffmpeg_run_and_no_probe(tmp_path: Path):
    runs = _ffmpeg_runs(tmp_path, REF, str(MEDIA / "dis.mp4"))
    assert len(runs) == 1
    assert "-filter_complex" in runs[0]


def test_a_pair_that_needs_scaling_costs_a_second_run_but_no_probe(tmp_path: Path):
    """The first run's dump says the sizes differ: the scaled graph runs next, unprobed."""
    runs = _ffmpeg_runs(tmp_path, REF, str(MEDIA / "dis_small.mp4"))
    assert len(runs) == 2
    assert all("-filter_complex" in run for run in runs)
    assert "scale=" not in runs[0] and "scale=80:48:flags=bicubic" in runs[1]


def test_a_frame_rate_sync_is_probed_once_before_the_scoring_run(tmp_path: Path):
    """`--sync fps` builds its graph from both rates: one probe first, then the scoring run."""
    runs = _ffmpeg_runs(tmp_path, REF, str(MEDIA / "dis.mp4"), "--sync", "fps")
    assert len(runs) == 2
    assert "-filter_complex" not in runs[0] and "-filter_complex" in runs[1]


def test_inputs_over_the_size_limit_are_probed_first(tmp_path: Path):
    """Long inputs keep the probe: its frame total gives the progress bar an end."""
    from vmafx.cli.scoring import UNPROBED_MAX_BYTES, ScoreArgs, _unprobed_fits

    big = tmp_path / "big.mp4"
    with big.open("wb") as handle:
        handle.truncate(UNPROBED_MAX_BYTES + 1)  # sparse: no disk used
    assert _unprobed_fits(ScoreArgs(reference=REF, distorted=[str(MEDIA / "dis.mp4")]))
    assert not _unprobed_fits(ScoreArgs(reference=str(big), distorted=[str(MEDIA / "dis.mp4")]))
    assert not _unprobed_fits(
        ScoreArgs(reference=REF, distorted=[str(MEDIA / "dis.mp4")], decode="auto")
    )
    assert not _unprobed_fits(ScoreArgs(reference=REF, distorted=[str(tmp_path / "missing.mp4")]))


def test_a_frame_count_mismatch_is_still_refused_after_the_one_probe(tmp_path: Path):
    out = subprocess.run(
        [sys.executable, "-m", "vmafx", "score", REF, str(MEDIA / "dis_short.mp4")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 6, out.stderr
    assert "frames but the distorted" in out.stderr
    assert "--sync shortest" in out.stderr


def test_a_misspelt_option_still_gets_typers_usage_error():
    out = subprocess.run(
        [sys.executable, "-m", "vmafx", "score", REF, str(MEDIA / "dis.mp4"), "--modle", "x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert "No such option" in out.stderr


def test_an_input_ffmpeg_cannot_open_is_named_with_ffmpegs_reason(tmp_path: Path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    out = subprocess.run(
        [sys.executable, "-m", "vmafx", "score", REF, str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 4, out.stderr
    assert f"The input {bad} is not a video vmafx can read (Invalid data found" in out.stderr


def test_a_whole_vmafx_score_run_never_imports_numpy_or_pyav():
    """Pooling and the feature vector are plain Python: nothing heavy after the run either."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "vmafx", "score", REF, str(MEDIA / "dis.mp4"),
         "-f", "psnr", "--format", "json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    imported = {line.split("|")[-1].strip() for line in out.stderr.splitlines() if "|" in line}
    assert not {"numpy", "av", "typer", "pydantic"} & imported
    # JSON output needs no rich, and the bundled ffmpeg is found without importing its package
    assert not {"rich", "imageio_ffmpeg"} & imported


def test_the_bundled_ffmpeg_is_found_where_imageio_ffmpeg_says():
    import imageio_ffmpeg

    from vmafx.media.inputprobe import _bundled_binary

    assert _bundled_binary() == imageio_ffmpeg.get_ffmpeg_exe()


_ORDER = """
import json, sys
from vmafx.media import runner
real = runner.SubprocessRunner.start
def start(self, argv, on_progress=None):
    print("START " + json.dumps({"scoring": "-filter_complex" in argv,
          "scorer_imported": "vmafx.media.scorer" in sys.modules}), file=sys.stderr)
    return real(self, argv, on_progress)
runner.SubprocessRunner.start = start
sys.argv = ["vmafx", "score", *sys.argv[1:]]
from vmafx.cli.entry import main
main()
"""


def test_the_probe_starts_before_the_scorer_is_imported():
    """Where a probe runs (here `--sync fps`), it runs while the rest of the scoring path is
    imported (`vmafx.media.prestart`)."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _ORDER,
            REF,
            str(MEDIA / "dis.mp4"),
            "--sync",
            "fps",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    starts = [json.loads(x[6:]) for x in out.stderr.splitlines() if x.startswith("START ")]
    assert starts == [
        {"scoring": False, "scorer_imported": False},
        {"scoring": True, "scorer_imported": True},
    ]
