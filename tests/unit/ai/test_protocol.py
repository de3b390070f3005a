"""The trainer's wire format: what is accepted, what is refused (and how precisely), the acks."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from vmafx.ai import protocol
from vmafx.errors import BadSampleError

N = 80


def line(**overrides: object) -> bytes:
    body: dict[str, object] = {"job_id": "job-1", "features": [0.5] * N, "true_score": 87.5}
    body.update(overrides)
    return json.dumps(body).encode()


def refusal(raw: bytes) -> BadSampleError:
    with pytest.raises(BadSampleError) as info:
        protocol.parse_sample(raw, N)
    return info.value


def test_a_valid_line_becomes_a_float32_sample():
    sample = protocol.parse_sample(line(features=list(range(N))), N)
    assert sample.job_id == "job-1"
    assert sample.features.dtype == np.float32
    assert sample.features.tolist() == [float(i) for i in range(N)]
    assert sample.true_score == 87.5


def test_unknown_keys_are_ignored_for_forward_compatibility():
    assert protocol.parse_sample(line(codec="av1"), N).job_id == "job-1"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"not json", "malformed JSON at column 1"),
        (b'{"job_id": "a", ', "malformed JSON"),
        (b"[1, 2, 3]", "expected a JSON object with job_id, features and true_score; got an array"),
        (b'"text"', "got a string"),
        (b"\xff\xfe{}", "the line is not UTF-8 (byte 0)"),
        (b"[" * 100_000, "unreadable JSON"),
        (b'{"features": [], "true_score": 1}', "missing key 'job_id'"),
        (
            b'{"job_id": 7, "features": [], "true_score": 1}',
            "job_id must be a non-empty string; got int",
        ),
        (b'{"job_id": "", "features": [], "true_score": 1}', "job_id must be a non-empty string"),
    ],
)
def test_unreadable_lines_are_refused_with_the_reason(raw, message):
    assert message in refusal(raw).message


def test_a_job_id_longer_than_256_characters_is_refused():
    assert "job_id has 300 characters; at most 256" in refusal(line(job_id="x" * 300)).message


def test_a_wrong_feature_length_is_refused_naming_both_lengths():
    error = refusal(line(features=[1.0] * 79))
    assert error.message == "features has 79 values; this trainer expects 80"
    assert error.job_id == "job-1"


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("NaN", "features[3] is nan; values must be finite (no NaN or infinity)"),
        ("Infinity", "features[3] is inf; values must be finite"),
        ("-Infinity", "features[3] is -inf; values must be finite"),
        ("1e999", "features[3] is inf; values must be finite"),
        ("1" + "0" * 400, "features[3] = 100000000000…(401 digits) is outside the float32 range"),
        ("1e39", "features[3] = 1e+39 is outside the float32 range"),
        ('"0.5"', "features[3] is a string, not a number"),
        ("true", "features[3] is a boolean, not a number"),
        ("null", "features[3] is null, not a number"),
        ("[1]", "features[3] is an array, not a number"),
    ],
    ids=["nan", "inf", "-inf", "1e999", "huge-int", "1e39", "string", "bool", "null", "array"],
)
def test_each_bad_feature_value_is_refused_at_its_index(token, message):
    values = ["0.5"] * N
    values[3] = token
    raw = b'{"job_id": "j", "features": [' + ",".join(values).encode() + b'], "true_score": 1}'
    assert message in refusal(raw).message


@pytest.mark.parametrize(
    ("score", "message"),
    [
        ("NaN", "true_score is nan; it must be finite"),
        ("Infinity", "true_score is inf; it must be finite"),
        ('"90"', "true_score is a string, not a number"),
        ("true", "true_score is a boolean, not a number"),
    ],
)
def test_a_bad_true_score_is_refused(score, message):
    raw = (
        b'{"job_id": "j", "features": ['
        + b",".join([b"1"] * N)
        + b'], "true_score": '
        + score.encode()
        + b"}"
    )
    assert message in refusal(raw).message


def test_a_missing_true_score_is_refused():
    assert refusal(b'{"job_id": "j", "features": [' + b",".join([b"1"] * N) + b"]}").message == (
        "missing key 'true_score'"
    )


def test_the_client_encoding_round_trips_float32_exactly():
    rng = np.random.default_rng(1)
    features = (rng.normal(0, 1e3, N) * rng.choice([1e-9, 1.0, 1e9], N)).astype(np.float32)
    raw = protocol.encode_sample('job-é"1', features.tolist(), 93.25)
    assert raw.endswith(b"\n")
    sample = protocol.parse_sample(raw[:-1], N)
    assert np.array_equal(sample.features, features)
    assert sample.job_id == 'job-é"1'
    assert sample.true_score == 93.25


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_the_client_refuses_to_encode_non_finite_values(bad):
    with pytest.raises(ValueError, match="NaN or infinite"):
        protocol.encode_sample("j", [1.0, bad], 1.0)
    with pytest.raises(ValueError, match="true_score"):
        protocol.encode_sample("j", [1.0], bad)


def test_acks_are_exactly_the_designed_objects_plus_the_echoed_job_id():
    assert json.loads(protocol.ack_buffered(3, None)) == {"ok": True, "step": 3, "trained": False}
    assert json.loads(protocol.ack_buffered(3, "j")) == {
        "ok": True,
        "step": 3,
        "trained": False,
        "job_id": "j",
    }
    assert json.loads(protocol.ack_trained(4, 0.25, "/m/model_v000001.onnx", "j")) == {
        "ok": True,
        "step": 4,
        "trained": True,
        "loss": 0.25,
        "checkpoint": "/m/model_v000001.onnx",
        "job_id": "j",
    }
    assert json.loads(protocol.ack_trained(4, 0.25, None, None))["checkpoint"] is None
    assert json.loads(protocol.ack_backpressure("full", "j")) == {
        "ok": False,
        "retryable": True,
        "error": "full",
        "job_id": "j",
    }
    assert json.loads(protocol.ack_bad("bad", None)) == {"ok": False, "error": "bad"}
    retry = json.loads(protocol.ack_retry_queued(5, "boom", "j"))
    assert retry == {
        "ok": True,
        "step": 5,
        "trained": False,
        "retry_queued": True,
        "training_error": "boom",
        "job_id": "j",
    }


def test_every_ack_is_one_line():
    for ack in (
        protocol.ack_buffered(1, 'we"ird\nid'),
        protocol.ack_trained(1, 1.0, None, "j"),
        protocol.ack_bad("multi\nline", None),
    ):
        assert ack.count(b"\n") == 1
        assert ack.endswith(b"\n")


def test_the_client_reads_every_ack_variant():
    assert protocol.parse_ack(protocol.ack_trained(2, 1.5, "p", "j")) == protocol.Ack(
        ok=True, trained=True, step=2, loss=1.5, checkpoint="p", job_id="j"
    )
    backpressure = protocol.parse_ack(protocol.ack_backpressure("full", None))
    assert (backpressure.ok, backpressure.retryable, backpressure.error) == (False, True, "full")
    assert protocol.parse_ack(protocol.ack_retry_queued(1, "e", None)).retry_queued
    with pytest.raises(ValueError, match="not an ack"):
        protocol.parse_ack(b'{"step": 1}\n')
