"""The trainer's wire format: newline-delimited JSON over a Unix stream socket (DESIGN.md §6).

Request, one object per line: `{"job_id": str, "features": [float × n], "true_score": float}`;
features must be finite float32 numbers and `true_score` a finite score from 0 to 100 (VMAF's
range): anything else is refused in its ack, so it never reaches training.
One ack per request line, in order, compatible with the original sidecar (which also echoes
`job_id`, as vmafx does):

    buffered      {"ok":true,"step":N,"trained":false}
    trained       {"ok":true,"step":N,"trained":true,"loss":x,"checkpoint":path|null}
    retry queued  {"ok":true,"step":N,"trained":false,"retry_queued":true,"training_error":...}
                  (admitted; the training step failed and will be retried: counts as delivered)
    step dropped  {"ok":true,"step":N,"trained":false,"step_dropped":true,"training_error":...}
                  (admitted; the step turned non-finite and its batch was discarded for good)
    backpressure  {"ok":false,"retryable":true,"error":...}   (keep the sample, retry it first)
    bad input     {"ok":false,"error":...}                     (terminal for this sample)
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence

import numpy as np

from vmafx.errors import BadSampleError

MAX_JOB_ID_CHARS = 256
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_NUMBER_TYPES = frozenset((float, int))
#: The range of a true score: VMAF's (libvmaf clips its scores to it).
SCORE_MIN, SCORE_MAX = 0.0, 100.0


@dataclasses.dataclass(frozen=True, slots=True)
class Sample:
    """One validated training sample: finite float32 features of the trainer's length."""

    job_id: str
    features: np.ndarray
    true_score: float


@dataclasses.dataclass(frozen=True, slots=True)
class Ack:
    """One parsed ack line (the client's view)."""

    ok: bool
    retryable: bool = False
    trained: bool = False
    step: int | None = None
    loss: float | None = None
    checkpoint: str | None = None
    error: str | None = None
    job_id: str | None = None
    retry_queued: bool = False
    step_dropped: bool = False


def encode_sample(job_id: str, features: Sequence[float], true_score: float) -> bytes:
    """One request line (with its newline); ValueError for a non-finite or non-numeric value.

    Features go out with 9 significant digits: the trainer keeps float32, which 9 digits
    round-trip exactly, and the line is ~40% shorter and ~3× faster to parse than with
    Python's 17-digit floats.
    """
    values = ",".join([format(v, ".9g") for v in features])
    if "n" in values:  # "nan" or "inf": format() writes nothing else with an n
        raise ValueError("a feature is NaN or infinite")
    if not math.isfinite(true_score):
        raise ValueError("true_score is NaN or infinite")
    if not SCORE_MIN <= true_score <= SCORE_MAX:
        raise ValueError(f"true_score is {true_score!r}; {_SCORE_RANGE}")
    head = json.dumps({"job_id": job_id})[:-1]
    return f'{head},"features":[{values}],"true_score":{float(true_score)!r}}}\n'.encode()


_SCORE_RANGE = f"a score must be from {SCORE_MIN:g} to {SCORE_MAX:g} (VMAF's range)"


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | dict):
        return "an array" if isinstance(value, list) else "an object"
    return type(value).__name__


def _decode(line: bytes) -> dict[str, object]:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadSampleError(f"the line is not UTF-8 (byte {exc.start})") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadSampleError(f"malformed JSON at column {exc.colno}: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:  # 4,300-digit integers, deep nesting
        raise BadSampleError(f"unreadable JSON: {str(exc)[:120]}") from None
    if not isinstance(obj, dict):
        raise BadSampleError(
            f"expected a JSON object with job_id, features and true_score; got {_kind(obj)}"
        )
    return obj


def _job_id(obj: dict[str, object]) -> str:
    job_id = obj.get("job_id")
    if not isinstance(job_id, str) or not job_id:
        raise BadSampleError(f"job_id must be a non-empty string; got {_kind(job_id)}")
    if len(job_id) > MAX_JOB_ID_CHARS:
        raise BadSampleError(f"job_id has {len(job_id)} characters; at most {MAX_JOB_ID_CHARS}")
    return job_id


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:12]}…({len(text)} digits)"


def _bad_feature(values: list[object]) -> str:
    for i, v in enumerate(values):
        if type(v) not in _NUMBER_TYPES:
            return f"features[{i}] is {_kind(v)}, not a number"
        try:
            as_float = float(v)  # type: ignore[arg-type]
        except OverflowError:  # an integer beyond float64
            as_float = _FLOAT32_MAX * 2
        if not math.isfinite(as_float):
            return f"features[{i}] is {v!r}; values must be finite (no NaN or infinity)"
        if abs(as_float) > _FLOAT32_MAX:
            return f"features[{i}] = {_short(v)} is outside the float32 range"
    return "features are not all finite float32 numbers"


def _features(obj: dict[str, object], n_features: int, job_id: str) -> np.ndarray:
    if "features" not in obj:
        raise BadSampleError("missing key 'features'", job_id=job_id)
    values = obj["features"]
    if not isinstance(values, list):
        raise BadSampleError(f"features must be an array; got {_kind(values)}", job_id=job_id)
    if len(values) != n_features:
        raise BadSampleError(
            f"features has {len(values)} values; this trainer expects {n_features}",
            job_id=job_id,
        )
    if {type(v) for v in values} <= _NUMBER_TYPES:
        try:
            arr = np.array(values, dtype=np.float64)
        except OverflowError:
            arr = None
        if arr is not None and np.isfinite(arr).all() and np.abs(arr).max() <= _FLOAT32_MAX:
            return arr.astype(np.float32)
    raise BadSampleError(_bad_feature(values), job_id=job_id)


def _score(obj: dict[str, object], job_id: str) -> float:
    if "true_score" not in obj:
        raise BadSampleError("missing key 'true_score'", job_id=job_id)
    score = obj["true_score"]
    if type(score) not in _NUMBER_TYPES:
        raise BadSampleError(f"true_score is {_kind(score)}, not a number", job_id=job_id)
    try:
        value = float(score)  # type: ignore[arg-type]
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise BadSampleError(
            f"true_score is {_short(score)}; it must be finite, from {SCORE_MIN:g} to "
            f"{SCORE_MAX:g}",
            job_id=job_id,
        )
    if not SCORE_MIN <= value <= SCORE_MAX:
        raise BadSampleError(f"true_score is {_short(score)}; {_SCORE_RANGE}", job_id=job_id)
    return value


def parse_sample(line: bytes, n_features: int) -> Sample:
    """A validated sample, or BadSampleError with the precise reason (and `job_id` if readable)."""
    obj = _decode(line)
    if "job_id" not in obj:
        raise BadSampleError("missing key 'job_id'")
    job_id = _job_id(obj)
    features = _features(obj, n_features, job_id)
    return Sample(job_id, features, _score(obj, job_id))


def _ack(body: dict[str, object], job_id: str | None) -> bytes:
    if job_id is not None:
        body["job_id"] = job_id
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode() + b"\n"


def ack_buffered(step: int, job_id: str | None) -> bytes:
    if job_id is None:
        return b'{"ok":true,"step":%d,"trained":false}\n' % step
    return b'{"ok":true,"step":%d,"trained":false,"job_id":%s}\n' % (step, _json_str(job_id))


def _json_str(text: str) -> bytes:
    return json.dumps(text).encode()


def ack_trained(step: int, loss: float, checkpoint: str | None, job_id: str | None) -> bytes:
    loss_value = loss if math.isfinite(loss) else None
    body: dict[str, object] = {"ok": True, "step": step, "trained": True, "loss": loss_value}
    body["checkpoint"] = checkpoint
    return _ack(body, job_id)


def ack_retry_queued(step: int, error: str, job_id: str | None) -> bytes:
    body: dict[str, object] = {"ok": True, "step": step, "trained": False, "retry_queued": True}
    body["training_error"] = error
    return _ack(body, job_id)


def ack_step_dropped(step: int, error: str, job_id: str | None) -> bytes:
    body: dict[str, object] = {"ok": True, "step": step, "trained": False, "step_dropped": True}
    body["training_error"] = error
    return _ack(body, job_id)


def ack_backpressure(error: str, job_id: str | None) -> bytes:
    return _ack({"ok": False, "retryable": True, "error": error}, job_id)


def ack_bad(error: str, job_id: str | None) -> bytes:
    return _ack({"ok": False, "error": error}, job_id)


def parse_ack(line: bytes) -> Ack:
    """An ack line as the client sees it; an unreadable ack is a ValueError (a broken peer)."""
    obj = json.loads(line)
    if not isinstance(obj, dict) or not isinstance(obj.get("ok"), bool):
        raise ValueError(f"not an ack: {line[:80]!r}")
    return Ack(
        ok=obj["ok"],
        retryable=bool(obj.get("retryable", False)),
        trained=bool(obj.get("trained", False)),
        step=obj.get("step"),
        loss=obj.get("loss"),
        checkpoint=obj.get("checkpoint"),
        error=obj.get("error") or obj.get("training_error"),
        job_id=obj.get("job_id"),
        retry_queued=bool(obj.get("retry_queued", False)),
        step_dropped=bool(obj.get("step_dropped", False)),
    )
