"""The probe of `vmafx score` starts before the rest of the scoring path is imported
(`vmafx.media.prestart`, issue 13): same figures, still one probe, nothing left running."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import MEDIA

from vmafx.media.graph import ScoreOptions
from vmafx.media.inputprobe import locate_ffmpeg, probe_command
from vmafx.media.prestart import PrestartedRunner, prestart_probe
from vmafx.media.runner import Started, SubprocessRunner
from vmafx.media.scorer import LibvmafScorer, ScoreRequest

pytestmark = pytest.mark.integration
REF = str(MEDIA / "ref.y4m")
DIS = str(MEDIA / "dis.mp4")
OPTIONS = ScoreOptions(threads=2, feature_vector=False)


@pytest.fixture
def starts(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every ffmpeg argv started, in order."""
    seen: list[list[str]] = []
    real = SubprocessRunner.start

    def start(self: SubprocessRunner, argv: list[str], on_progress: object = None) -> Started:
        seen.append(list(argv))
        return real(self, argv, on_progress)  # type: ignore[arg-type]

    monkeypatch.setattr(SubprocessRunner, "start", start)
    return seen


def test_a_prestarted_probe_is_the_one_probe_and_the_figures_do_not_change(
    starts: list[list[str]],
):
    ffmpeg = locate_ffmpeg()
    plain = LibvmafScorer(ffmpeg, SubprocessRunner()).score(ScoreRequest(REF, (DIS,), OPTIONS))
    starts.clear()
    runner = prestart_probe(ffmpeg, [REF, DIS], has_raw=False)
    assert runner.prestarted
    assert starts == [probe_command(ffmpeg, [REF, DIS])]
    early = LibvmafScorer(ffmpeg, runner).score(ScoreRequest(REF, (DIS,), OPTIONS))
    assert not runner.prestarted
    assert len(starts) == 2 and "-filter_complex" in starts[1]
    assert early.results[0].pooled == plain.results[0].pooled


@pytest.mark.parametrize(
    ("paths", "has_raw"),
    [
        ([REF, "missing.mp4"], False),
        ([REF, "https://example.com/enc.mp4"], False),
        ([str(MEDIA / "ref_10bit.yuv"), str(MEDIA / "dis_10bit.yuv")], False),
        ([REF, DIS], True),
    ],
    ids=["missing-file", "url", "raw-yuv", "raw-options"],
)
def test_nothing_starts_early_where_the_normal_path_must_answer_first(
    starts: list[list[str]], paths: list[str], has_raw: bool
):
    runner = prestart_probe(locate_ffmpeg(), paths, has_raw=has_raw)
    assert not runner.prestarted
    assert starts == []


def test_another_argv_stops_the_early_run_and_starts_its_own(tmp_path: Path):
    ffmpeg = locate_ffmpeg()
    inner = SubprocessRunner()
    early = inner.start(probe_command(ffmpeg, [REF]))
    runner = PrestartedRunner(inner, early)
    result = runner.run(probe_command(ffmpeg, [REF, DIS]), timeout_s=60)
    assert early.proc.poll() is not None
    assert "Input #1" in result.stderr and not runner.prestarted


def test_close_stops_a_run_nobody_claimed():
    ffmpeg = locate_ffmpeg()
    inner = SubprocessRunner()
    # An ffmpeg that would run for a minute: close() must not wait for it.
    long = inner.start(
        [ffmpeg, "-nostdin", "-f", "lavfi", "-i", "testsrc2=d=60", "-f", "null", "-"]
    )
    runner = PrestartedRunner(inner, long)
    runner.close()
    assert long.proc.poll() is not None and not runner.prestarted
