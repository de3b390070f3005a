"""Every metric asked for must be in the log of every distorted input, or a precise error."""

from __future__ import annotations

import pytest

from vmafx.errors import MissingMetricError, ScoreLogError
from vmafx.media.metric_outputs import check_complete, expected, libvmaf_reasons, missing
from vmafx.media.size_limits import Frame

VMAF_KEYS = ["integer_adm2", "integer_vif_scale0", "integer_motion2", "vmaf"]
MODELS = {"vmaf": "vmaf_v0.6.1"}
BIG = Frame(1920, 1080, "yuv420p")


def test_a_log_with_every_metric_asked_for_passes():
    keys = [*VMAF_KEYS, "float_ms_ssim", "ciede2000", "psnr_y", "psnr_cb", "psnr_cr"]
    check_complete(keys, MODELS, ["float_ms_ssim", "ciede", "psnr"], distorted="d", frame=BIG)


def test_a_missing_feature_is_an_error_naming_it_and_the_input():
    with pytest.raises(MissingMetricError) as caught:
        check_complete(VMAF_KEYS, MODELS, ["float_ms_ssim"], distorted="dis.mp4", frame=BIG)
    error = caught.value
    assert isinstance(error, ScoreLogError) and error.exit_code == 9
    assert (error.metric, error.distorted) == ("float_ms_ssim", "dis.mp4")
    assert "no float_ms_ssim values for dis.mp4" in error.message


def test_cambi_dropping_ciede_too_names_both():
    with pytest.raises(MissingMetricError) as caught:
        check_complete(VMAF_KEYS, MODELS, ["cambi", "ciede"], distorted="d", frame=BIG)
    assert "no cambi values" in caught.value.message and "nor ciede" in caught.value.message


def test_the_reason_comes_from_the_size_limits_when_the_frame_is_too_small():
    with pytest.raises(MissingMetricError) as caught:
        check_complete(
            VMAF_KEYS, MODELS, ["float_ms_ssim"], distorted="d", frame=Frame(160, 90, "yuv420p")
        )
    assert "176x176" in caught.value.message and "160x90" in caught.value.message


def test_the_reason_comes_from_libvmaf_when_it_gave_one():
    stderr = 'libvmaf WARNING problem with feature extractor "float_ssim" at index 0\n'
    with pytest.raises(MissingMetricError) as caught:
        check_complete(VMAF_KEYS, MODELS, ["float_ssim"], distorted="d", frame=BIG, stderr=stderr)
    assert "problem with feature extractor float_ssim" in caught.value.message


def test_a_model_without_its_score_is_missing():
    keys = [k for k in VMAF_KEYS if k != "vmaf"]
    with pytest.raises(MissingMetricError) as caught:
        check_complete(keys, MODELS, [], distorted="d", frame=BIG)
    assert caught.value.metric == "vmaf"


def test_float_extractors_are_found_under_the_names_libvmaf_gives_them():
    keys = [*VMAF_KEYS, "adm2", "adm_scale0", "aim", "vif_scale0", "motion2"]
    assert missing(keys, ["vmaf"], ["float_adm", "float_vif", "float_motion"]) == []


def test_a_feature_with_options_is_found_under_its_base_name():
    keys = [*VMAF_KEYS, "cambi_hrs_1080"]
    assert missing(keys, ["vmaf"], ["cambi:high_res_speedup=1080"]) == []


def test_expected_keys_keep_log_order_and_skip_others():
    items = expected(["vmaf"], ["psnr"])
    keys = ["psnr_y", "vmaf", "psnr_cb", "mse_y"]
    assert [item.keys(keys) for item in items] == [["vmaf"], ["psnr_y", "psnr_cb"]]


def test_libvmaf_reasons_read_model_features_it_could_not_compute():
    stderr = "libvmaf ERROR vmaf_predict_score_at_index(): no feature 'cambi_hrs_1080' at index 0"
    assert "cambi_hrs_1080" in libvmaf_reasons(stderr)["cambi"]
