"""Flat-reference detection from libvmaf's own per-frame features (values as libvmaf logs them)."""

from __future__ import annotations

from vmafx.core.flatness import flat_content_warning, flat_reference_frames

# Black reference vs white distorted, as libvmaf logs it (VMAF 97.43).
FLAT = {
    **{f"integer_adm_scale{i}": [1.0] * 4 for i in range(4)},
    **{f"integer_vif_scale{i}": [1.0] * 4 for i in range(4)},
    "integer_aim": [0.0] * 4,
    "mse_y": [47961.0] * 4,
}


def series(**values: list[float]) -> dict[str, list[float]]:
    return {**FLAT, **values}


def test_black_vs_white_is_warned_about_and_the_warning_says_why():
    warning = flat_content_warning(FLAT)
    assert warning is not None
    assert "flat" in warning and "4 of 4" in warning and "unreliable" in warning


def test_identical_frames_are_not_flagged_even_when_flat():
    assert flat_reference_frames(series(mse_y=[0.0] * 4)) == 0
    assert flat_content_warning(series(mse_y=[0.0] * 4)) is None


def test_a_textured_reference_is_not_flagged_even_with_only_a_brightness_shift():
    # Measured: testsrc2 vs itself +20 in luma gives ADM scales 1.00002 / 0.99999.
    shifted = series(integer_adm_scale0=[1.00002] * 4, integer_adm_scale3=[0.99999] * 4)
    assert flat_reference_frames(shifted) == 0


def test_a_fade_to_black_in_a_few_frames_does_not_warn():
    frames = 40
    flat = {k: v[:1] * 2 + [0.9] * (frames - 2) for k, v in FLAT.items()}
    flat["mse_y"] = [100.0] * frames
    assert flat_reference_frames(flat) == 2
    assert flat_content_warning(flat) is None


def test_without_mse_a_flat_reference_shows_in_aim_or_vif():
    textured_distorted = {k: v for k, v in FLAT.items() if k != "mse_y"}
    textured_distorted["integer_aim"] = [5.2] * 4
    assert flat_reference_frames(textured_distorted) == 4
    no_clue = {k: v for k, v in FLAT.items() if k != "mse_y"}
    assert flat_reference_frames(no_clue) == 0


def test_a_log_without_adm_scales_says_nothing():
    assert flat_reference_frames({"vmaf": [97.4]}) is None
    assert flat_content_warning({"vmaf": [97.4]}) is None
