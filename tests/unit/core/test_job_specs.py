"""Per-kind spec validation: defaults, normalisation, and errors that name the field."""

from __future__ import annotations

import pytest

from vmafx.core.jobs import JobKind
from vmafx.core.specs import json_depth, validate_spec
from vmafx.errors import UsageError


def test_score_spec_gets_defaults_and_a_single_distorted_becomes_a_list():
    spec = validate_spec(JobKind.SCORE, {"reference": "/r.mp4", "distorted": "/d.mp4"})
    assert spec == {
        "reference": "/r.mp4",
        "distorted": ["/d.mp4"],
        "models": ["vmaf_v0.6.1"],
        "metrics": ["vmaf"],
        "subsample": 1,
        "scaling": "bicubic",
        "per_frame": True,
    }


def test_a_missing_required_field_is_named_with_an_example():
    with pytest.raises(UsageError, match=r"'score spec.reference' is required") as caught:
        validate_spec(JobKind.SCORE, {"distorted": "/d.mp4"})
    assert "/media/ref.mp4" in str(caught.value)


def test_an_unknown_field_is_refused_listing_the_allowed_ones():
    with pytest.raises(UsageError, match="unknown field 'refrence'") as caught:
        validate_spec(JobKind.SCORE, {"refrence": "/r.mp4", "distorted": "/d.mp4"})
    assert "reference" in str(caught.value)


def test_encode_spec_checks_codec_and_hw_preference():
    with pytest.raises(UsageError, match="'encode spec.codec' must be one of h264, hevc"):
        validate_spec(JobKind.ENCODE, {"source": "/a", "output": "/b", "codec": "h266"})
    spec = validate_spec(JobKind.ENCODE, {"source": "/a", "output": "/b", "codec": "av1"})
    assert spec["hw"] == "prefer"


def test_nested_fields_are_named_by_their_full_path():
    bad = {
        "source": "/a",
        "output": "/b",
        "codec": "hevc",
        "rate_control": {"mode": "crf", "value": "high"},
    }
    with pytest.raises(UsageError, match=r"'encode spec.rate_control.value' must be a finite"):
        validate_spec(JobKind.ENCODE, bad)


def test_numbers_are_range_checked_and_booleans_are_not_numbers():
    base = {"reference": "/r", "distorted": "/d"}
    with pytest.raises(UsageError, match="subsample"):
        validate_spec(JobKind.SCORE, {**base, "subsample": 0})
    with pytest.raises(UsageError, match="subsample"):
        validate_spec(JobKind.SCORE, {**base, "subsample": True})


def test_metrics_must_come_from_the_known_list():
    with pytest.raises(UsageError, match=r"metrics\[1\]"):
        validate_spec(
            JobKind.SCORE, {"reference": "/r", "distorted": "/d", "metrics": ["vmaf", "lpips"]}
        )


def test_infer_rows_must_be_equally_long_lists_of_numbers():
    ok = validate_spec(JobKind.INFER, {"model": "tiny", "rows": [[1, 2], [3, 4.5]]})
    assert ok["rows"] == [[1.0, 2.0], [3.0, 4.5]]
    with pytest.raises(UsageError, match=r"rows\[1\]"):
        validate_spec(JobKind.INFER, {"model": "tiny", "rows": [[1, 2], [3]]})
    with pytest.raises(UsageError, match="finite"):
        validate_spec(JobKind.INFER, {"model": "tiny", "rows": [[float("nan")]]})


def test_a_target_tune_needs_a_target_and_an_ordered_crf_range():
    with pytest.raises(UsageError, match="target_vmaf"):
        validate_spec(JobKind.TUNE, {"source": "/a", "codec": "av1"})
    with pytest.raises(UsageError, match="min_crf"):
        validate_spec(
            JobKind.TUNE,
            {"source": "/a", "codec": "av1", "target_vmaf": 93, "min_crf": 40, "max_crf": 20},
        )
    ladder = validate_spec(JobKind.TUNE, {"source": "/a", "codec": "av1", "mode": "ladder"})
    assert (ladder["max_probes"], ladder["parallel"]) == (12, 2)


@pytest.mark.parametrize("kind", list(JobKind))
def test_every_kind_refuses_a_spec_that_is_not_an_object(kind):
    with pytest.raises(UsageError, match="must be an object"):
        validate_spec(kind, ["not", "an", "object"])  # type: ignore[arg-type]


def test_thumbnail_and_filmstrip_take_light_decode_only_fields():
    thumb = validate_spec(JobKind.THUMBNAIL, {"source": "/a", "output": "/t.jpg", "at_s": 3})
    strip = validate_spec(JobKind.FILMSTRIP, {"source": "/a", "output": "/s.jpg"})
    assert (thumb["at_s"], strip["count"]) == (3.0, 10)


def test_a_spec_nested_deeper_than_the_limit_is_refused_before_its_fields_are_read():
    deep: dict[str, object] = {"a": 1}
    for _ in range(40):
        deep = {"a": deep}
    with pytest.raises(UsageError, match="score spec nests JSON more than 32 levels deep"):
        validate_spec(JobKind.SCORE, {"reference": "/r", "distorted": ["/d"], "x": deep})


def test_json_depth_counts_nested_objects_and_arrays_without_recursion():
    value: object = 1
    for index in range(50_000):
        value = [value] if index % 2 else {"k": value}
    assert json_depth(value) == 50_000
    assert json_depth({"a": [1, {"b": 2}], "c": 2}) == 3
    assert json_depth("text") == 0
