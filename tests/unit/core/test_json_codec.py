"""One JSON codec for specs and results: the wire, the API and the stores hold the same document."""

from __future__ import annotations

import math

import pytest

from vmafx.api import convert as cv
from vmafx.core import json_codec
from vmafx.core.messages import JobRequest
from vmafx.core.specs import ScoreSpec
from vmafx.errors import UsageError


def test_a_typed_spec_and_its_json_encode_alike():
    spec = ScoreSpec.from_json({"reference": "/r.mp4", "distorted": "/d.mp4"})
    assert json_codec.encode(spec) == json_codec.encode(spec.to_json())
    assert json_codec.decode_object(json_codec.encode(spec), "spec_json") == spec.to_json()


def test_a_spec_crosses_the_wire_as_the_codec_writes_it():
    spec = ScoreSpec.from_json({"reference": "/r.mp4", "distorted": "/d.mp4"})
    wire = cv.job_request_to_pb(JobRequest(spec=spec))
    assert wire.spec_json == json_codec.encode(spec)
    assert cv.job_request_from_pb(wire).spec == spec


def test_encoding_is_compact_and_key_sorted():
    assert json_codec.encode({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'


def test_a_non_finite_number_is_refused_naming_where_it_is():
    with pytest.raises(UsageError, match=r"result.score is nan"):
        json_codec.encode({"score": math.nan}, field="result")


@pytest.mark.parametrize(
    ("text", "problem"), [("[]", "must be a JSON object"), ("{", "is not valid JSON")]
)
def test_a_bad_document_is_refused_naming_the_field(text, problem):
    with pytest.raises(UsageError, match=f"spec_json {problem}"):
        json_codec.decode_object(text, "spec_json")
