"""`vmafx jobs submit` flags to job requests: absolute paths, checks before any call."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmafx.cli import jobspecs
from vmafx.cli.jobspecs import Placement
from vmafx.core.jobs import JobKind
from vmafx.errors import InputNotFoundError, UnknownFeatureError, UsageError


@pytest.fixture
def media(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("ref.mp4", "dis.mp4", "master.mov"):
        (tmp_path / name).write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _score(*distorted: str, **options: object):
    return jobspecs.score_request("ref.mp4", distorted, options=options, placement=Placement())


def test_relative_paths_become_absolute_and_urls_stay(media):
    request = jobspecs.score_request(
        "ref.mp4", ["./dis.mp4", "s3://bucket/x.mp4"], options={}, placement=Placement()
    )
    assert request.kind is JobKind.SCORE
    assert request.spec.to_json()["reference"] == str(media / "ref.mp4")
    assert request.spec.to_json()["distorted"] == [str(media / "dis.mp4"), "s3://bucket/x.mp4"]


def test_features_map_to_metrics_by_either_name(media):
    request = _score("dis.mp4", features=["float_ssim", "ssim", "ciede", "psnr"])
    assert request.spec.to_json()["metrics"] == ["vmaf", "float_ssim", "ssim", "ciede2000", "psnr"]
    with pytest.raises(UnknownFeatureError, match="'vif'"):
        _score("dis.mp4", features=["vif"])


def test_a_missing_input_names_the_field_unless_checks_are_off(media):
    with pytest.raises(InputNotFoundError, match=r"distorted\[1\] .*gone\.mp4 does not exist"):
        _score("dis.mp4", "gone.mp4")
    request = jobspecs.score_request(
        "ref.mp4", ["gone.mp4"], options={}, placement=Placement(), check_inputs=False
    )
    assert request.spec.to_json()["distorted"] == [str(media / "gone.mp4")]


def _encode(**options: object):
    options.setdefault("codec", "h264")
    return jobspecs.encode_request(
        "master.mov",
        "out.mp4",
        options=options,
        placement=Placement(encoder=options.get("encoder")),
    )


def test_encode_flags_become_the_spec_fields(media):
    request = _encode(crf=23.0, preset="medium", width=1280, height=720, start=2.0, duration=5.0,
                      score_after=True)  # fmt: skip
    spec = request.spec.to_json()
    assert spec["rate_control"] == {"mode": "crf", "value": 23}
    assert spec["resolution"] == {"width": 1280, "height": 720}
    assert spec["trim"] == {"start_s": 2.0, "duration_s": 5.0}
    assert (spec["output"], spec["score_after"], spec["hw"]) == (
        str(media / "out.mp4"),
        True,
        "prefer",
    )


def test_a_pinned_encoder_is_also_a_requirement(media):
    request = _encode(codec="hevc", encoder="hevc_nvenc", cq=28.0)
    assert request.spec.to_json()["encoder"] == "hevc_nvenc"
    assert request.requirements.encoder == "hevc_nvenc"


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"encoder": "x265"}, "not one vmafx can drive"),
        ({"codec": "h264", "encoder": "hevc_nvenc"}, "hevc"),
        ({"width": 1280}, "--width and --height go together"),
        ({"crf": 23.0, "qp": 30.0}, "give only one of them"),
        ({"codec": "h265"}, "must be one of h264, hevc, av1, vp9"),
        ({"preset": "Very Slow"}, "preset"),
    ],
)
def test_wrong_encode_flags_are_refused_with_the_fix(media, options, says):
    with pytest.raises(UsageError, match=says):
        _encode(**options)


def test_labels_must_be_key_value(media):
    placement = Placement(labels=["tier=heavy", "site = zampp2"])
    assert placement.requirements().labels == {"tier": "heavy", "site": "zampp2"}
    with pytest.raises(UsageError, match="KEY=VALUE"):
        Placement(labels=["heavy"]).requirements()


def test_an_encode_of_objects_keeps_its_urls_for_the_controller_to_sign(media):
    request = jobspecs.encode_request(
        "s3://media/in/master.mov", "s3://media/out/enc.mp4", options={"codec": "h264"},
        placement=Placement(),
    )  # fmt: skip
    spec = request.spec.to_json()
    assert (spec["source"], spec["output"]) == (
        "s3://media/in/master.mov",
        "s3://media/out/enc.mp4",
    )
    with pytest.raises(UsageError, match="gopher: scheme"):  # what encodes never read
        jobspecs.encode_request(
            "gopher://h/x.mov", "out.mp4", options={"codec": "h264"}, placement=Placement()
        )
