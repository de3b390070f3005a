"""`vmafx.media.health`: every frame decoded, errors pinned to their time and frame (real
libavcodec through PyAV, on clips made here and broken on purpose)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vmafx.errors import FfmpegCancelledError, InputNotFoundError
from vmafx.media.ffmpeg import locate
from vmafx.media.health import check_health
from vmafx.media.runner import CancelToken, SubprocessRunner, check_returncode

pytestmark = pytest.mark.integration
MEDIA = Path(__file__).resolve().parents[2] / "fixtures" / "media"


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("health") / "clean.mp4"
    argv = [locate(), "-hide_banner", "-v", "error", "-y", "-f", "lavfi",
            "-i", "testsrc2=size=320x240:rate=24:duration=3",
            "-c:v", "libx264", "-g", "24", "-crf", "20", str(path)]  # fmt: skip
    check_returncode(SubprocessRunner().run(argv, timeout_s=60), "making the clip")
    return path


def broken_copy(clean: Path, target: Path, fractions=(0.3, 0.6)) -> Path:
    shutil.copy(clean, target)
    size = target.stat().st_size
    with target.open("r+b") as handle:
        for fraction in fractions:
            handle.seek(int(size * fraction))
            handle.write(bytes(1500))
    return target


def test_a_clean_file_is_healthy_with_every_frame_decoded(clean):
    report = check_health(str(clean))
    assert report.ok and report.error_count == 0 and report.errors == ()
    assert (report.frames_decoded, report.frames_expected) == (72, 72)
    assert report.decoded_s == pytest.approx(3.0)
    assert report.to_json()["ok"] is True
    assert report.summary() == "ok: 72 of 72 frames decoded, 3.000 s"


def test_overwritten_bytes_are_reported_with_their_time_and_frame(clean, tmp_path):
    report = check_health(str(broken_copy(clean, tmp_path / "broken.mp4")))
    assert not report.ok
    video = [error for error in report.errors if error.stream == "video"]
    times = [error.time_s for error in video if error.time_s is not None]
    # The damage sits at 30 % and 60 % of the bytes: about 0.9 s and 1.8 s into the clip.
    assert any(0.5 < t < 1.5 for t in times) and any(1.5 < t < 2.5 for t in times), times
    for error in video:
        assert error.frame is not None
        if error.time_s is not None:  # a decode error: its packet's time and frame
            assert error.frame == round(error.time_s * 24)
        else:  # frames missing at the end, counted from where decoding stopped
            assert "frames missing" in error.message
    assert report.error_count == len(report.errors)


def test_max_errors_lists_fewer_but_counts_them_all(clean, tmp_path):
    broken = broken_copy(clean, tmp_path / "broken.mp4", fractions=(0.2, 0.4, 0.6, 0.8))
    full = check_health(str(broken))
    assert full.error_count >= 3
    short = check_health(str(broken), max_errors=1)
    assert len(short.errors) == 1 and short.error_count == full.error_count


def test_a_truncated_file_is_a_report_not_a_crash(clean, tmp_path):
    cut = tmp_path / "cut.mp4"
    data = clean.read_bytes()
    cut.write_bytes(data[: len(data) // 2])  # mp4 without faststart: the index is lost
    report = check_health(str(cut))
    assert not report.ok and report.frames_decoded == 0
    [error] = report.errors
    assert error.stream == "container" and "cannot be opened" in error.message


def test_a_file_cut_short_misses_frames_counted_against_its_header(clean, tmp_path):
    mkv = tmp_path / "whole.mkv"
    argv = [locate(), "-hide_banner", "-v", "error", "-y", "-i", str(clean), "-c", "copy", str(mkv)]
    check_returncode(SubprocessRunner().run(argv, timeout_s=60), "remuxing to mkv")
    cut = tmp_path / "cut.mkv"
    data = mkv.read_bytes()
    cut.write_bytes(data[: len(data) * 7 // 10])  # the header says 3 s; the end is gone
    report = check_health(str(cut))
    assert not report.ok
    assert report.frames_expected == 72 and report.frames_decoded < 60
    missing = [error for error in report.errors if "frames missing" in error.message]
    assert len(missing) == 1 and missing[0].frame == report.frames_decoded


def test_a_missing_file_is_an_error_and_a_cancel_stops_the_check(clean, tmp_path):
    with pytest.raises(InputNotFoundError, match="does not exist"):
        check_health(str(tmp_path / "absent.mp4"))
    token = CancelToken()
    token.cancel("test")
    with pytest.raises(FfmpegCancelledError, match="stopped before it finished"):
        check_health(str(clean), cancel=token)


def test_a_check_that_ends_does_not_silence_one_still_running():
    import av.logging

    from vmafx.media import health

    before = (av.logging.get_level(), av.logging.get_skip_repeated())
    with health._LIBAV_ERRORS.logged():  # a check in one thread
        with health._LIBAV_ERRORS.logged():  # another one, which ends first
            pass
        assert av.logging.get_level() == av.logging.ERROR
        assert av.logging.get_skip_repeated() is False
    assert (av.logging.get_level(), av.logging.get_skip_repeated()) == before


def test_concurrent_checks_each_report_every_damaged_spot(clean, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    paths = [str(broken_copy(clean, tmp_path / f"broken{i}.mp4")) for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        reports = list(pool.map(check_health, paths * 3))
    for report in reports:
        times = [e.time_s for e in report.errors if e.stream == "video" and e.time_s is not None]
        assert any(0.5 < t < 1.5 for t in times) and any(1.5 < t < 2.5 for t in times), times
