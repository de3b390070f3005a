"""Swapped reference and distorted inputs are told from what probing knows, and only warned of."""

from __future__ import annotations

from fractions import Fraction

from vmafx.core.media import VideoInfo
from vmafx.core.scores import ScoreResult
from vmafx.core.swapcheck import format_rate, swap_warning, with_swap_warnings

MB = 1_000_000 // 8  # bytes per second of 1 Mb/s


def video(path: str, *, width=1920, height=1080, codec="h264", container="mov,mp4,m4a,3gp,3g2,mj2"):
    return VideoInfo(
        path=path, width=width, height=height, pix_fmt="yuv420p", bit_depth=8,
        fps=Fraction(24), variable_frame_rate=False, frame_count=240, duration_s=10.0,
        codec=codec, container=container,
    )  # fmt: skip


def test_a_reference_far_smaller_than_the_distorted_input_is_called_a_swap():
    warning = swap_warning(video("crf38.mp4"), int(0.9 * MB * 10), video("ref.mp4"), 12 * MB * 10)
    assert warning == (
        "the reference (crf38.mp4, 0.9 Mb/s) is smaller than the distorted input ref.mp4 "
        "(12 Mb/s): did you swap them? The reference comes first, as in libvmaf. "
        "Pass --no-swap-check to silence this."
    )


def test_inputs_in_the_right_order_get_no_warning():
    assert swap_warning(video("ref.mp4"), 12 * MB * 10, video("crf38.mp4"), MB * 10) is None


def test_a_distorted_input_slightly_larger_than_its_reference_is_not_a_swap():
    assert swap_warning(video("ref.mp4"), 8 * MB * 10, video("x264.mp4"), 12 * MB * 10) is None


def test_lossless_or_raw_inputs_are_not_compared():
    big = video("decoded.y4m", codec="rawvideo", container="yuv4mpegpipe")
    assert swap_warning(video("ref.mp4"), MB * 10, big, 600 * MB * 10) is None
    prores = video("master.mov", codec="prores")
    assert swap_warning(prores, MB * 10, video("enc.mp4"), 10 * MB * 10) is None


def test_a_reference_larger_in_pixels_is_not_compared_by_bit_rate():
    low_rung = video("enc_1080p.mp4")
    uhd = video("ref_2160p.mp4", width=3840, height=2160)
    assert swap_warning(uhd, MB * 10, low_rung, 6 * MB * 10) is None


def test_an_input_without_a_duration_is_not_compared():
    unknown = VideoInfo(
        path="x.mkv", width=1920, height=1080, pix_fmt="yuv420p", bit_depth=8, fps=Fraction(0),
        variable_frame_rate=False, frame_count=None, duration_s=None, codec="h264",
        container="matroska,webm",
    )  # fmt: skip
    assert swap_warning(unknown, MB, video("ref.mp4"), 100 * MB) is None


def test_rates_are_written_as_people_read_them():
    assert [format_rate(r) for r in (360_000, 900_000, 12_400_000, 2_560)] == [
        "0.4 Mb/s", "0.9 Mb/s", "12 Mb/s", "3 kb/s",
    ]  # fmt: skip


def test_the_warning_goes_to_the_result_of_the_swapped_input_only():
    results = [
        ScoreResult(path, 240, 240, {}, {}, (), None, warnings=("flat",) if i else ())
        for i, path in enumerate(("ref.mp4", "crf28.mp4"))
    ]
    sizes = {"crf38.mp4": MB * 10, "ref.mp4": 12 * MB * 10, "crf28.mp4": MB * 10}
    checked = with_swap_warnings(
        results, video("crf38.mp4"), [video("ref.mp4"), video("crf28.mp4")], sizes.__getitem__
    )
    assert len(checked[0].warnings) == 1 and "did you swap them?" in checked[0].warnings[0]
    assert checked[1].warnings == ("flat",)
