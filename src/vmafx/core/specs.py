"""Per-kind job specs: which fields each kind takes, their types and ranges, and their defaults.

`validate_spec(kind, spec)` returns a normalised copy (defaults filled in) or raises UsageError
naming the field and how to fix it. Unknown fields are refused so a typo never goes unnoticed.
`check_json_depth` bounds how deeply a spec or result may nest (`MAX_JSON_DEPTH`), measured
without recursion, so a hostile document is refused with a message rather than a crash.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

from vmafx.core.jobs import JobKind, JsonObject
from vmafx.core.metrics import METRIC_NAMES
from vmafx.errors import UsageError

#: A check takes (field path, value) and returns the normalised value or raises UsageError.
Check = Callable[[str, Any], Any]

MAX_INFER_ROWS = 10_000
#: How deeply objects and arrays may nest in a spec or a result; real ones need fewer than ten.
MAX_JSON_DEPTH = 32
MAX_DISTORTED = 32
CODECS = ("h264", "hevc", "av1", "vp9")


@dataclasses.dataclass(frozen=True, slots=True)
class Field:
    check: Check
    required: bool = False
    default: Any = None
    #: What to write instead, shown when the value is missing or wrong.
    example: str = ""


def _fail(path: str, problem: str, example: str = "") -> UsageError:
    return UsageError(
        f"spec field {path!r} {problem}.", hint=f"For example: {example}." if example else None
    )


def text(path: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, f"must be a non-empty string, got {value!r}")
    return value


def one_of(*choices: str) -> Check:
    def check(path: str, value: Any) -> str:
        if value not in choices:
            raise _fail(path, f"must be one of {', '.join(choices)}, got {value!r}")
        return str(value)

    return check


def number(low: float | None = None, high: float | None = None, *, integer: bool = False) -> Check:
    def check(path: str, value: Any) -> float | int:
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if not numeric or not math.isfinite(value) or (integer and not isinstance(value, int)):
            kind = "an integer" if integer else "a finite number"
            raise _fail(path, f"must be {kind}, got {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise _fail(path, f"must lie in [{low}, {high}], got {value!r}")
        return int(value) if integer else float(value)

    return check


def flag(path: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(path, f"must be true or false, got {value!r}")
    return value


def text_list(*, most: int, choices: tuple[str, ...] = ()) -> Check:
    """A string or a non-empty list of strings (normalised to a list)."""

    def check(path: str, value: Any) -> list[str]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or len(items) > most:
            raise _fail(path, f"must be a string or a list of 1 to {most} strings, got {value!r}")
        checker = one_of(*choices) if choices else text
        return [checker(f"{path}[{index}]", item) for index, item in enumerate(items)]

    return check


def nested(fields: Mapping[str, Field]) -> Check:
    def check(path: str, value: Any) -> JsonObject:
        if not isinstance(value, dict):
            raise _fail(path, f"must be an object, got {value!r}")
        return _validate_fields(path, fields, value)

    return check


def rows(path: str, value: Any) -> list[list[float]]:
    """Feature rows for inference: a non-empty list of equally long lists of numbers."""
    if not isinstance(value, list) or not value or len(value) > MAX_INFER_ROWS:
        raise _fail(path, f"must be a list of 1 to {MAX_INFER_ROWS} rows", "[[0.93, 0.71, ...]]")
    to_number = number()
    width = len(value[0]) if isinstance(value[0], list) else -1
    result: list[list[float]] = []
    for index, row in enumerate(value):
        if not isinstance(row, list) or not row or len(row) != width:
            raise _fail(f"{path}[{index}]", "must be a non-empty list of numbers as long as row 0")
        result.append([to_number(f"{path}[{index}][{col}]", cell) for col, cell in enumerate(row)])
    return result


def _validate_fields(path: str, fields: Mapping[str, Field], spec: Mapping[str, Any]) -> JsonObject:
    unknown = sorted(set(spec) - set(fields))
    if unknown:
        raise UsageError(
            f"unknown field {unknown[0]!r} in {path}.",
            hint=f"Allowed fields: {', '.join(sorted(fields))}.",
        )
    result: JsonObject = {}
    for name, rule in fields.items():
        field_path = f"{path}.{name}"
        value = spec.get(name)
        if value is None:
            if rule.required:
                raise _fail(field_path, "is required", rule.example)
            if rule.default is not None:
                result[name] = rule.default
            continue
        result[name] = rule.check(field_path, value)
    return result


_RAW = nested(
    {
        "width": Field(number(1, 16384, integer=True), required=True, example="1920"),
        "height": Field(number(1, 16384, integer=True), required=True, example="1080"),
        "pix_fmt": Field(text, required=True, example='"yuv420p"'),
        "fps": Field(number(0.001, 1000)),
    }
)
_RATE_CONTROL = nested(
    {
        "mode": Field(one_of("crf", "cq", "qp", "bitrate"), required=True, example='"crf"'),
        "value": Field(number(0, 1e9), required=True, example="23"),
    }
)
_SIZE = nested(
    {
        "width": Field(number(16, 16384, integer=True), required=True, example="1280"),
        "height": Field(number(16, 16384, integer=True), required=True, example="720"),
    }
)
_TRIM = nested(
    {
        "start_s": Field(number(0), default=0.0),
        "duration_s": Field(number(0.001), example="10"),
    }
)

SPEC_FIELDS: Mapping[JobKind, Mapping[str, Field]] = {
    JobKind.SCORE: {
        "reference": Field(text, required=True, example='"/media/ref.mp4"'),
        "distorted": Field(
            text_list(most=MAX_DISTORTED), required=True, example='["/media/dist.mp4"]'
        ),
        "models": Field(text_list(most=8), default=["vmaf_v0.6.1"]),
        "metrics": Field(text_list(most=len(METRIC_NAMES), choices=METRIC_NAMES), default=["vmaf"]),
        "subsample": Field(number(1, 1000, integer=True), default=1),
        "scaling": Field(one_of("bicubic", "none"), default="bicubic"),
        "reference_raw": Field(_RAW),
        "distorted_raw": Field(_RAW),
        "per_frame": Field(flag, default=True),
        "threads": Field(number(0, 1024, integer=True)),
    },
    JobKind.ENCODE: {
        "source": Field(text, required=True, example='"/media/master.mov"'),
        "output": Field(text, required=True, example='"/media/out/master_1080p.mp4"'),
        "codec": Field(one_of(*CODECS), required=True, example='"hevc"'),
        "hw": Field(one_of("prefer", "require", "never"), default="prefer"),
        "encoder": Field(text, example='"hevc_nvenc"'),
        "rate_control": Field(_RATE_CONTROL, example='{"mode": "crf", "value": 23}'),
        "preset": Field(text),
        "resolution": Field(_SIZE),
        "trim": Field(_TRIM),
        "audio": Field(one_of("copy", "none", "aac"), default="copy"),
        "score_after": Field(flag, default=False),
    },
    JobKind.THUMBNAIL: {
        "source": Field(text, required=True, example='"/media/master.mov"'),
        "output": Field(text, required=True, example='"/media/thumbs/master.jpg"'),
        "at_s": Field(number(0), default=0.0),
        "width": Field(number(16, 8192, integer=True)),
    },
    JobKind.FILMSTRIP: {
        "source": Field(text, required=True, example='"/media/master.mov"'),
        "output": Field(text, required=True, example='"/media/thumbs/master_strip.jpg"'),
        "count": Field(number(1, 200, integer=True), default=10),
        "width": Field(number(16, 8192, integer=True)),
    },
    JobKind.INFER: {
        "model": Field(text, required=True, example='"vmafx-tiny"'),
        "version": Field(text, example='"latest-stable"'),
        "rows": Field(rows, required=True, example="[[0.93, 0.71, ...]]"),
    },
    JobKind.TUNE: {
        "source": Field(text, required=True, example='"/media/master.mov"'),
        "codec": Field(one_of(*CODECS), required=True, example='"av1"'),
        "mode": Field(one_of("target", "ladder"), default="target"),
        "target_vmaf": Field(number(0, 100), example="93"),
        "encoder": Field(text),
        "resolutions": Field(text_list(most=16)),
        "min_crf": Field(number(0, 255, integer=True)),
        "max_crf": Field(number(0, 255, integer=True)),
        "max_probes": Field(number(1, 64, integer=True), default=8),
    },
}


def validate_spec(kind: JobKind, spec: Mapping[str, Any]) -> JsonObject:
    """A normalised copy of `spec` for a job of `kind`, or UsageError naming the bad field."""
    if not isinstance(spec, Mapping):
        raise UsageError(f"a {kind} spec must be an object, got {type(spec).__name__}.")
    check_json_depth(dict(spec), f"{kind} spec")
    result = _validate_fields(f"{kind} spec", SPEC_FIELDS[kind], spec)
    if kind is JobKind.TUNE:
        _check_tune(result)
    return result


def _check_tune(spec: JsonObject) -> None:
    if spec["mode"] == "target" and "target_vmaf" not in spec:
        raise _fail("tune spec.target_vmaf", "is required when mode is 'target'", "93")
    low, high = spec.get("min_crf"), spec.get("max_crf")
    if low is not None and high is not None and low > high:
        raise _fail("tune spec.min_crf", f"({low}) must not exceed max_crf ({high})")


def check_finite_json(value: Any, path: str = "result") -> None:
    """Raise UsageError if a JSON value holds NaN or infinity anywhere (no store keeps them)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise UsageError(
            f"{path} is {value}, which cannot be stored.",
            hint="Report the job as failed with the reason instead of a non-finite number.",
        )
    if isinstance(value, dict):
        for key, item in value.items():
            check_finite_json(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_finite_json(item, f"{path}[{index}]")


_CONTAINERS = (dict, list, tuple)


def json_depth(value: Any) -> int:
    """How deeply objects and arrays nest in a JSON value (a scalar is 0, `{}` is 1), counted
    with an explicit stack so that no depth can exhaust Python's recursion limit."""
    if not isinstance(value, _CONTAINERS):
        return 0
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, _CONTAINERS))
    return deepest


def too_deep(what: str) -> UsageError:
    return UsageError(
        f"{what} nests JSON more than {MAX_JSON_DEPTH} levels deep.",
        hint="A job spec or result needs only a few levels: send the fields documented for "
        "its kind (DESIGN.md 3.2), without deeper structure.",
    )


def check_json_depth(value: Any, what: str) -> None:
    """UsageError naming `what` if `value` nests deeper than MAX_JSON_DEPTH."""
    if json_depth(value) > MAX_JSON_DEPTH:
        raise too_deep(what)
