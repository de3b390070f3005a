"""The tune spec's metric and scale, and the probe encode's score_model: what a farm search
measures is in the spec, checked where it enters, with errors that name the fix."""

from __future__ import annotations

import pytest

from vmafx.core.jobs import JobKind
from vmafx.core.specs import TUNE_METRICS, EncodeSpec, Size, TuneSpec, validate_spec
from vmafx.errors import UsageError
from vmafx.tune.plan import METRICS

TARGET = {"source": "/a.mov", "codec": "h264", "target_vmaf": 93}
LADDER = {"source": "/a.mov", "codec": "h264", "mode": "ladder"}
ENCODE = {"source": "/a.mov", "output": "/b.mkv", "codec": "h264"}


def test_a_tune_spec_measures_vmaf_at_the_sources_size_unless_told():
    spec = TuneSpec.from_json(TARGET)
    assert (spec.metric, spec.scale) == ("vmaf", None)
    assert validate_spec(JobKind.TUNE, TARGET)["metric"] == "vmaf"
    assert "scale" not in validate_spec(JobKind.TUNE, TARGET)


@pytest.mark.parametrize("metric", ["vmaf", "vmaf_neg", "vmaf_4k", "p5"])
def test_a_target_search_takes_every_metric_the_local_tuner_takes(metric):
    assert TuneSpec.from_json({**TARGET, "metric": metric}).metric == metric


def test_the_farm_and_the_local_tuner_read_one_metric_table():
    assert dict(TUNE_METRICS) == METRICS


def test_a_target_search_takes_a_scale_and_writes_it_back():
    body = {**TARGET, "scale": {"width": 96, "height": 54}}
    assert TuneSpec.from_json(body).scale == Size(width=96, height=54)
    assert validate_spec(JobKind.TUNE, body)["scale"] == {"width": 96, "height": 54}


def test_an_unknown_metric_is_refused_naming_the_ones_there_are():
    with pytest.raises(UsageError, match=r"'tune spec.metric' must be one of vmaf, vmaf_neg, "):
        TuneSpec.from_json({**TARGET, "metric": "psnr"})


def test_a_scale_too_small_to_encode_is_refused_with_its_path():
    with pytest.raises(UsageError, match=r"'tune spec.scale.width' must lie in \[16, 16384\]"):
        TuneSpec.from_json({**TARGET, "scale": {"width": 8, "height": 54}})


def test_a_ladder_refuses_another_metric_and_says_to_drop_it():
    with pytest.raises(UsageError, match="a ladder measures vmaf") as error:
        TuneSpec.from_json({**LADDER, "metric": "p5"})
    assert "drop metric" in str(error.value) and '"metric": "vmaf"' in str(error.value.hint)


def test_a_ladder_refuses_a_scale_and_points_at_its_resolutions():
    with pytest.raises(UsageError, match="'tune spec.scale' is for mode 'target'") as error:
        TuneSpec.from_json({**LADDER, "scale": {"width": 96, "height": 54}})
    assert "resolutions" in str(error.value.hint)


def test_a_score_model_is_left_out_of_an_encode_spec_unless_set():
    assert "score_model" not in validate_spec(JobKind.ENCODE, {**ENCODE, "score_after": True})
    spec = EncodeSpec.from_json({**ENCODE, "score_after": True, "score_model": "vmaf_4k_v0.6.1"})
    assert spec.score_model == "vmaf_4k_v0.6.1"


def test_a_score_model_without_score_after_is_refused_naming_the_fix():
    with pytest.raises(UsageError, match="'encode spec.score_model' needs score_after true"):
        EncodeSpec.from_json({**ENCODE, "score_model": "vmaf_v0.6.1neg"})


def test_a_score_model_libvmaf_does_not_ship_is_refused():
    with pytest.raises(UsageError, match="'encode spec.score_model' must be one of"):
        EncodeSpec.from_json({**ENCODE, "score_after": True, "score_model": "my_model"})
