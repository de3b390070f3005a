"""The measured minimum sizes of libvmaf's extractors, and the refusal before a run."""

from __future__ import annotations

import pytest

from vmafx.errors import InputTooSmallError, MetricUnavailableError, UsageError
from vmafx.media.size_limits import (
    Frame,
    cambi_min_height,
    cambi_window,
    model_needs,
    refuse_unscorable,
    unmet,
    unusual,
)


@pytest.mark.parametrize(
    ("size", "pix_fmt", "fits"),
    [
        ((17, 17), "yuv420p", True),
        ((16, 100), "yuv420p", False),
        ((100, 16), "yuv420p", False),
        ((16, 16), "yuv420p", False),
        ((17, 17), "yuv444p", True),
        ((16, 64), "yuv444p", False),
        ((17, 17), "yuv420p10le", True),
    ],
)
def test_the_vmaf_features_need_17_by_17(size, pix_fmt, fits):
    assert (unmet("vmaf", Frame(*size, pix_fmt)) is None) is fits


@pytest.mark.parametrize(
    ("size", "fits"), [((176, 176), True), ((175, 176), False), ((176, 175), False)]
)
def test_ms_ssim_needs_176_by_176(size, fits):
    for pix_fmt in ("yuv420p", "yuv444p", "yuv420p10le"):
        assert (unmet("float_ms_ssim", Frame(*size, pix_fmt)) is None) is fits


def test_ms_ssim_refused_on_160x90_says_the_minimum_and_the_size():
    reason = unmet("float_ms_ssim", Frame(160, 90, "yuv420p"))
    assert reason is not None and "176x176" in reason


@pytest.mark.parametrize(
    ("size", "fits"),
    [((215, 215), False), ((216, 18), True), ((18, 216), True), ((192, 108), False)],
)
def test_cambi_needs_a_width_or_a_height_of_216(size, fits):
    assert (unmet("cambi", Frame(*size, "yuv420p")) is None) is fits


# Measured by bisection on the bundled ffmpeg: the least height cambi survives at a width.
@pytest.mark.parametrize(
    ("width", "least"),
    [(560, 33), (712, 49), (960, 65), (1142, 81), (1280, 97), (1920, 161), (3840, 337)],
)
def test_cambi_on_wide_short_frames_needs_the_measured_height(width, least):
    for pix_fmt in ("yuv420p", "yuv444p", "yuv420p10le"):
        assert unmet("cambi", Frame(width, least, pix_fmt)) is None
        assert unmet("cambi", Frame(width, least - 1, pix_fmt)) is not None


def test_cambis_window_is_65_at_4k_and_its_height_rule_follows_it():
    assert cambi_window(3840, 2160) == 65
    assert cambi_min_height(1920, 161) == 161


def test_options_after_a_feature_name_do_not_hide_its_limit():
    assert unmet("cambi:window_size=63", Frame(160, 90, "yuv420p")) is not None


def test_speed_features_need_80_pixels_of_luma_and_of_chroma():
    assert unmet("speed_temporal", Frame(79, 400, "yuv420p")) is not None
    assert unmet("speed_temporal", Frame(80, 80, "yuv420p")) is None
    assert unmet("speed_chroma", Frame(159, 400, "yuv420p")) is not None
    assert unmet("speed_chroma", Frame(80, 80, "yuv444p")) is None


def test_the_v1_0_16_models_carry_cambi_and_speed_limits():
    assert set(model_needs("vmaf_v1.0.16_3d0h")) == {"cambi", "speed_chroma", "speed_temporal"}
    assert model_needs("vmaf_v0.6.1") == ()


def test_a_16x16_reference_is_refused_as_too_small_for_libvmaf():
    with pytest.raises(InputTooSmallError) as caught:
        refuse_unscorable(Frame(16, 16, "yuv420p"), "tiny.mp4", ("vmaf_v0.6.1",), ())
    assert caught.value.exit_code == 4
    assert "17x17" in str(caught.value) and "tiny.mp4 is 16x16" in str(caught.value)


def test_cambi_on_160x90_is_refused_naming_the_metric_the_size_and_the_fix():
    with pytest.raises(MetricUnavailableError) as caught:
        refuse_unscorable(Frame(160, 90, "yuv420p"), "ref.mp4", ("vmaf_v0.6.1",), ("cambi",))
    error = caught.value
    assert isinstance(error, UsageError) and error.exit_code == 2
    assert error.metric == "cambi" and error.size == "160x90"
    assert "216" in error.message and "ref.mp4 is 160x90" in error.message
    assert error.hint is not None and "Drop cambi" in error.hint


def test_a_v1_0_16_model_on_a_small_reference_is_refused_with_another_model_suggested():
    with pytest.raises(MetricUnavailableError) as caught:
        refuse_unscorable(Frame(160, 90, "yuv420p"), "ref.mp4", ("vmaf_v1.0.16_3d0h",), ())
    assert caught.value.metric == "vmaf_v1.0.16_3d0h"
    assert caught.value.hint is not None and "vmaf_v0.6.1" in caught.value.hint


def test_ordinary_sizes_pass_every_check():
    features = ("float_ms_ssim", "cambi", "ciede", "psnr_hvs", "speed_chroma")
    refuse_unscorable(Frame(1920, 1080, "yuv420p"), "ref.mp4", ("vmaf_v1.0.16_3d0h",), features)


def test_small_odd_and_extreme_frames_are_unusual_and_1080p_is_not():
    assert unusual(Frame(160, 90, "yuv420p"))
    assert unusual(Frame(1921, 1080, "yuv420p"))
    assert unusual(Frame(3840, 240, "yuv420p"))
    assert not unusual(Frame(1920, 1080, "yuv420p"))
