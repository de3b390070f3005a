"""The one metric vocabulary: local scoring, farm jobs, the corpus and the node take the same names."""

from __future__ import annotations

import pytest

from vmafx.cli.options import Sync, score_options
from vmafx.core.metrics import METRIC_NAMES, METRICS, libvmaf_feature, metric_named, metric_names
from vmafx.core.scores import shown_pooled
from vmafx.core.specs import ScoreSpec
from vmafx.corpus.clips import ClipJob, ClipSettings
from vmafx.corpus.farm_jobs import check_farm_settings, score_spec
from vmafx.errors import UnknownFeatureError
from vmafx.media.metric_outputs import feature_prefixes
from vmafx.node.handlers.score import score_request


def local_features(*names: str) -> tuple[str, ...]:
    return score_options(["vmaf_v0.6.1"], list(names), 1, 1, False, Sync.none, False).features


def test_local_scoring_takes_the_metric_names_a_farm_job_takes():
    assert local_features("ssim", "ms_ssim", "ciede2000", "float_ssim") == (
        "ffmpeg:ssim",
        "float_ms_ssim",
        "ciede",
        "float_ssim",
    )


def test_psnr_and_ssim_are_ffmpegs_own_filters_and_libvmafs_keep_their_libvmaf_names():
    assert (METRICS["psnr"].engine, METRICS["psnr"].filter) == ("ffmpeg", "psnr")
    assert (METRICS["ssim"].engine, METRICS["ssim"].filter) == ("ffmpeg", "ssim")
    assert METRICS["ssim"].outputs == ("ssim_all", "ssim_y", "ssim_u", "ssim_v")
    assert METRICS["psnr"].outputs == ("psnr_avg", "psnr_y", "psnr_u", "psnr_v")
    for name in ("float_ssim", "float_psnr", "ms_ssim"):
        assert METRICS[name].engine == "libvmaf"
    assert metric_named("float_ms_ssim").name == "ms_ssim"


def test_local_scoring_still_passes_any_other_libvmaf_feature_through():
    assert local_features("float_psnr", "cambi:window_size=63", "psnr_y", "motion") == (
        "float_psnr", "cambi:window_size=63", "psnr_y", "motion",
    )  # fmt: skip


@pytest.mark.parametrize("name", METRIC_NAMES[1:])
def test_each_metric_is_computed_alike_locally_on_the_farm_and_in_the_corpus(name):
    metric = METRICS[name]
    local = local_features(name)
    spec = ScoreSpec.from_json({"reference": "/r", "distorted": "/d", "metrics": [name]})
    assert score_request(spec).options.features == local == (metric.request,)
    settings = ClipSettings(options=score_options([], [name], 1, 1, False, Sync.none, False))
    check_farm_settings(settings)
    assert score_spec(ClipJob("c", "/d.mp4", "/r.mp4"), settings)["metrics"] == ["vmaf", name]
    if metric.engine == "libvmaf":
        assert feature_prefixes(metric.feature) == metric.outputs


def test_a_metric_is_accepted_by_its_libvmaf_feature_name_too():
    assert metric_names(["float_ms_ssim", "ms_ssim", "ciede", "psnr"]) == [
        "vmaf",
        "ms_ssim",
        "ciede2000",
        "psnr",
    ]
    assert metric_named("float_ms_ssim").name == "ms_ssim"
    assert libvmaf_feature("ciede2000") == "ciede"


def test_an_unknown_metric_is_refused_with_the_names_to_use():
    with pytest.raises(UnknownFeatureError) as caught:
        metric_named("vif")
    assert "cannot compute the feature 'vif'" in caught.value.message
    assert "ciede2000" in (caught.value.hint or "") and "ssim" in (caught.value.hint or "")


def test_a_person_sees_the_only_models_figures_once_under_its_name():
    figures = {"mean": 90.0}
    assert shown_pooled({"vmaf_v0.6.1": figures, "vmaf": figures, "psnr_y": {"mean": 30.0}}) == {
        "vmaf_v0.6.1": figures, "psnr_y": {"mean": 30.0},
    }  # fmt: skip
    assert shown_pooled({"vmaf": figures, "psnr_y": figures}) == {
        "vmaf": figures,
        "psnr_y": figures,
    }
