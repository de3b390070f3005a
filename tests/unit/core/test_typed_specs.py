"""Typed specs: one frozen dataclass per kind is the schema; JSON in once, typed from there."""

from __future__ import annotations

import dataclasses

import pytest

from vmafx.core.jobs import JobKind
from vmafx.core.specs import (
    SPEC_TYPES,
    EncodeSpec,
    InferSpec,
    RawInput,
    ScoreSpec,
    Size,
    parse_spec,
    validate_spec,
)
from vmafx.errors import UsageError

EXAMPLES = {
    JobKind.SCORE: {
        "reference": "/r.y4m",
        "distorted": ["/d.yuv"],
        "metrics": ["vmaf", "ssim"],
        "distorted_raw": {"width": 64, "height": 48, "pix_fmt": "yuv420p", "fps": 25},
    },
    JobKind.ENCODE: {
        "source": "/a.mov",
        "output": "/b.mp4",
        "codec": "hevc",
        "resolution": {"width": 1280, "height": 720},
        "trim": {"duration_s": 4},
        "pix_fmt": "yuv420p10le",
    },
    JobKind.THUMBNAIL: {"source": "/a.mov", "output": "/a.jpg", "at_s": 2},
    JobKind.FILMSTRIP: {"source": "/a.mov", "output": "/s.jpg", "count": 4},
    JobKind.INFER: {"model": "vmafx-tiny", "rows": [[0.5, 1], [0.25, 2]]},
    JobKind.TUNE: {"source": "/a.mov", "codec": "av1", "target_vmaf": 93},
    JobKind.HEALTH: {"source": "/a.mkv", "max_errors": 20},
}


def test_every_kind_has_one_typed_spec():
    assert set(SPEC_TYPES) == set(JobKind) == set(EXAMPLES)


@pytest.mark.parametrize("kind", list(JobKind))
def test_a_spec_parsed_and_written_back_is_its_normalised_json(kind):
    spec = parse_spec(kind, EXAMPLES[kind])
    assert type(spec) is SPEC_TYPES[kind] and spec.kind is kind
    assert spec.to_json() == validate_spec(kind, EXAMPLES[kind])
    assert type(spec).from_json(spec.to_json()) == spec


def test_typed_fields_carry_typed_values():
    score = ScoreSpec.from_json(EXAMPLES[JobKind.SCORE])
    assert score.distorted == ("/d.yuv",) and score.models == ("vmaf_v0.6.1",)
    assert score.distorted_raw == RawInput(width=64, height=48, pix_fmt="yuv420p", fps=25.0)
    encode = EncodeSpec.from_json(EXAMPLES[JobKind.ENCODE])
    assert encode.resolution == Size(width=1280, height=720) and encode.trim is not None
    assert (encode.trim.start_s, encode.trim.duration_s) == (0.0, 4.0)
    infer = InferSpec.from_json(EXAMPLES[JobKind.INFER])
    assert infer.rows == ((0.5, 1.0), (0.25, 2.0))


def test_an_encode_job_may_name_its_pixel_format():
    spec = validate_spec(JobKind.ENCODE, EXAMPLES[JobKind.ENCODE])
    assert spec["pix_fmt"] == "yuv420p10le"


def test_a_typed_spec_is_frozen():
    spec = ScoreSpec.from_json(EXAMPLES[JobKind.SCORE])
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.reference = "/other"  # type: ignore[misc]


def test_a_nested_part_is_refused_with_its_full_path():
    with pytest.raises(UsageError, match=r"'encode spec.resolution.width' must lie in"):
        EncodeSpec.from_json({**EXAMPLES[JobKind.ENCODE], "resolution": {"width": 8, "height": 8}})
