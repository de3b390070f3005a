"""Typed job specs, one frozen dataclass per job kind: the single schema of what a job asks for.

Each kind's fields, their checks, defaults and examples live on its dataclass (`ScoreSpec`,
`EncodeSpec`, `ThumbnailSpec`, `FilmstripSpec`, `InferSpec`, `TuneSpec`, `HealthSpec`). A spec
is parsed once where it enters (`parse_spec(kind, json)`, or `Spec.from_json`: UsageError naming
the field and how to fix it; unknown fields refused so a typo never goes unnoticed) and carried
typed from there;
`to_json()` is its one JSON form (defaults filled in, what is unset left out), the form stored in
a job and sent on the wire. `validate_spec(kind, json)` is both in one step.

`check_json_depth` bounds how deeply a spec or result may nest (`MAX_JSON_DEPTH`), measured
without recursion, so a hostile document is refused with a message rather than a crash.
A new field is one line on its dataclass (plus, if a flag sets it, the CLI's flag).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from vmafx.core.jobs import JobKind, JsonObject
from vmafx.core.metrics import METRIC_NAMES
from vmafx.core.scores import DEFAULT_MODEL
from vmafx.core.spec_checks import (
    MAX_INFER_ROWS,
    fail,
    flag,
    nested,
    number,
    number_list,
    one_of,
    parse_fields,
    rows,
    spec_field,
    text,
    text_list,
    to_json,
)
from vmafx.errors import UsageError

__all__ = ["MAX_INFER_ROWS"]

#: How deeply objects and arrays may nest in a spec or a result; real ones need fewer than ten.
MAX_JSON_DEPTH = 32
MAX_DISTORTED = 32
CODECS = ("h264", "hevc", "av1", "vp9")
#: The models an encode's `score_after` may score with (libvmaf's built-in ones).
SCORE_MODELS = ("vmaf_v0.6.1", "vmaf_v0.6.1neg", "vmaf_4k_v0.6.1", "vmaf_4k_v0.6.1neg")
#: A tune job's `metric` → (libvmaf model, pooled statistic), as the local tuner measures it
#: (`vmafx.tune.plan.METRICS` is this table).
TUNE_METRICS: Mapping[str, tuple[str, str]] = {
    "vmaf": ("vmaf_v0.6.1", "mean"),
    "vmaf_neg": ("vmaf_v0.6.1neg", "mean"),
    "vmaf_4k": ("vmaf_4k_v0.6.1", "mean"),
    "p5": ("vmaf_v0.6.1", "p5"),
}


class _Spec:
    """What every typed spec has: its kind, parsing from JSON and its JSON form."""

    __slots__ = ()
    kind: ClassVar[JobKind]

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """The typed spec of `data` (a JSON object), or UsageError naming the bad field."""
        what = f"{cls.kind} spec"
        if not isinstance(data, Mapping):
            raise UsageError(f"a {what} must be an object, got {type(data).__name__}.")
        check_json_depth(dict(data), what)
        return parse_fields(cls, what, data)

    def to_json(self) -> JsonObject:
        out: JsonObject = to_json(self)
        return out


# --- parts ---------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RawInput:
    """How to read a raw YUV input."""

    width: int = spec_field(number(1, 16384, integer=True), example="1920")
    height: int = spec_field(number(1, 16384, integer=True), example="1080")
    pix_fmt: str = spec_field(text, example='"yuv420p"')
    fps: float | None = spec_field(number(0.001, 1000), default=None)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RateControl:
    mode: str = spec_field(one_of("crf", "cq", "qp", "bitrate"), example='"crf"')
    value: float = spec_field(number(0, 1e9), example="23")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Size:
    width: int = spec_field(number(16, 16384, integer=True), example="1280")
    height: int = spec_field(number(16, 16384, integer=True), example="720")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Trim:
    start_s: float = spec_field(number(0), default=0.0)
    duration_s: float | None = spec_field(number(0.001), default=None, example="10")


_RAWINPUT, _RATECONTROL, _SIZE, _TRIM = (nested(c) for c in (RawInput, RateControl, Size, Trim))


# --- one spec per kind ---------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ScoreSpec(_Spec):
    kind: ClassVar[JobKind] = JobKind.SCORE

    reference: str = spec_field(text, example='"/media/ref.mp4"')
    distorted: tuple[str, ...] = spec_field(
        text_list(most=MAX_DISTORTED), example='["/media/dist.mp4"]'
    )
    models: tuple[str, ...] = spec_field(text_list(most=8), default=(DEFAULT_MODEL,))
    #: Metric names from the vocabulary (`vmafx.core.metrics`).
    metrics: tuple[str, ...] = spec_field(
        text_list(most=len(METRIC_NAMES), choices=METRIC_NAMES), default=("vmaf",)
    )
    subsample: int = spec_field(number(1, 1000, integer=True), default=1)
    scaling: str = spec_field(one_of("bicubic", "none"), default="bicubic")
    reference_raw: RawInput | None = spec_field(_RAWINPUT, default=None)  # noqa: RUF009 (a field specifier)
    distorted_raw: RawInput | None = spec_field(_RAWINPUT, default=None)  # noqa: RUF009 (a field specifier)
    per_frame: bool = spec_field(flag, default=True)
    threads: int | None = spec_field(number(0, 1024, integer=True), default=None)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EncodeSpec(_Spec):
    kind: ClassVar[JobKind] = JobKind.ENCODE

    source: str = spec_field(text, example='"/media/master.mov"')
    output: str = spec_field(text, example='"/media/out/master_1080p.mp4"')
    codec: str = spec_field(one_of(*CODECS), example='"hevc"')
    hw: str = spec_field(one_of("prefer", "require", "never"), default="prefer")
    encoder: str | None = spec_field(text, default=None, example='"hevc_nvenc"')
    rate_control: RateControl | None = spec_field(  # noqa: RUF009 (a field specifier)
        _RATECONTROL, default=None, example='{"mode": "crf", "value": 23}'
    )
    preset: str | None = spec_field(text, default=None)
    resolution: Size | None = spec_field(_SIZE, default=None)  # noqa: RUF009 (a field specifier)
    trim: Trim | None = spec_field(_TRIM, default=None)  # noqa: RUF009 (a field specifier)
    #: The output's pixel format (unset: the encoder's 8-bit 4:2:0); which ones an encoder
    #: takes is checked with the encoder (`vmafx.media.encoders`).
    pix_fmt: str | None = spec_field(text, default=None, example='"yuv420p10le"')
    audio: str = spec_field(one_of("copy", "none", "aac"), default="copy")
    score_after: bool = spec_field(flag, default=False)
    #: The libvmaf model `score_after` scores with (unset: vmaf_v0.6.1); a tune job's probes
    #: set it for `metric` vmaf_neg or vmaf_4k.
    score_model: str | None = spec_field(one_of(*SCORE_MODELS), default=None)

    def __post_init__(self) -> None:
        if self.score_model is not None and not self.score_after:
            raise fail("encode spec.score_model", "needs score_after true", '"score_after": true')


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ThumbnailSpec(_Spec):
    kind: ClassVar[JobKind] = JobKind.THUMBNAIL

    source: str = spec_field(text, example='"/media/master.mov"')
    output: str = spec_field(text, example='"/media/thumbs/master.jpg"')
    at_s: float = spec_field(number(0), default=0.0)
    width: int | None = spec_field(number(16, 8192, integer=True), default=None)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FilmstripSpec(_Spec):
    kind: ClassVar[JobKind] = JobKind.FILMSTRIP

    source: str = spec_field(text, example='"/media/master.mov"')
    output: str = spec_field(text, example='"/media/thumbs/master_strip.jpg"')
    count: int = spec_field(number(1, 200, integer=True), default=10)
    width: int | None = spec_field(number(16, 8192, integer=True), default=None)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class InferSpec(_Spec):
    kind: ClassVar[JobKind] = JobKind.INFER

    model: str = spec_field(text, example='"vmafx-tiny"')
    version: str | None = spec_field(text, default=None, example='"latest-stable"')
    rows: tuple[tuple[float, ...], ...] = spec_field(rows, example="[[0.93, 0.71, ...]]")


def _sha256(path: str, value: Any) -> str:
    if not (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    ):
        raise fail(path, f"must be 64 lower-case hex digits (a SHA-256), got {value!r}")
    return value


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TuneSpec(_Spec):
    """A target-quality search (`mode` target) or a per-title ladder (`mode` ladder), run by the
    controller's tuner (`vmafx.controller.tuning`): each probe is a child `encode` job with
    `score_after`, placed on the nodes like any encode; the search itself is the local tuner's.

    `output`: target mode, the file the chosen encode is delivered as (probes go in a hidden
    folder beside it); ladder mode, the folder the rung encodes go in. `metric` (target mode):
    what the target is on, as `vmafx tune crf --metric` (p5: the 5th-percentile frame of
    vmaf_v0.6.1). `scale` (target mode): encode every probe and the deliverable at that size,
    scored after bicubic upscaling to the source's, as `--scale`. The `source_*` facts
    (filled by `vmafx tune --controller`, which probes the source) let cheap probes encode
    sample segments; without them every probe encodes the whole input.
    """

    kind: ClassVar[JobKind] = JobKind.TUNE

    source: str = spec_field(text, example='"/media/master.mov"')
    codec: str = spec_field(one_of(*CODECS), example='"av1"')
    mode: str = spec_field(one_of("target", "ladder"), default="target")
    target_vmaf: float | None = spec_field(number(0, 100), default=None, example="93")
    metric: str = spec_field(one_of(*TUNE_METRICS), default="vmaf")
    scale: Size | None = spec_field(  # noqa: RUF009 (a field specifier)
        _SIZE, default=None, example='{"width": 1280, "height": 720}'
    )
    output: str | None = spec_field(text, default=None, example='"/media/out/master.mkv"')
    encoder: str | None = spec_field(text, default=None)
    hw: str = spec_field(one_of("prefer", "require", "never"), default="prefer")
    preset: str | None = spec_field(text, default=None)
    resolutions: tuple[str, ...] | None = spec_field(text_list(most=16), default=None)
    min_crf: int | None = spec_field(number(0, 255, integer=True), default=None)
    max_crf: int | None = spec_field(number(0, 255, integer=True), default=None)
    crf_step: float = spec_field(number(0.05, 16), default=1.0)
    tolerance: float = spec_field(number(0, 100), default=0.0)
    #: Most probe jobs (speculative ones included) one search may spend.
    max_probes: int = spec_field(number(1, 64, integer=True), default=12)
    #: Most probe jobs running at once (2: a bracket's two candidates side by side).
    parallel: int = spec_field(number(1, 16, integer=True), default=2)
    #: Cheap probes from sample segments when the input is long enough (else whole input).
    samples: bool = spec_field(flag, default=True)
    #: Ladder mode: how rungs are picked (count or VMAF targets), limits, CRF grid points.
    rungs: int | None = spec_field(number(1, 16, integer=True), default=None)
    targets: tuple[float, ...] | None = spec_field(number_list(0, 100, most=16), default=None)
    max_kbps: float | None = spec_field(number(1), default=None)
    top_vmaf: float | None = spec_field(number(0, 100), default=None)
    min_gap: str | None = spec_field(text, default=None, example='"1.5x"')
    points: int = spec_field(number(2, 16, integer=True), default=6)
    source_width: int | None = spec_field(number(2, 16384, integer=True), default=None)
    source_height: int | None = spec_field(number(2, 16384, integer=True), default=None)
    source_frames: int | None = spec_field(number(1, 10**9, integer=True), default=None)
    source_fps: float | None = spec_field(number(0.001, 1000), default=None)
    #: The source's identity as the submitter saw it (`vmafx tune --controller` fills them
    #: when it can read the source): the SHA-256 of its content (`vmafx.tune.cache.
    #: content_hash`), its size and mtime. With them, probes measured by earlier searches of
    #: the same content are reused (docs/tune.md, "Probes kept across searches").
    source_sha256: str | None = spec_field(_sha256, default=None)
    source_size: int | None = spec_field(number(0, 2**63 - 1, integer=True), default=None)
    source_mtime_ns: int | None = spec_field(number(0, 2**63 - 1, integer=True), default=None)

    def __post_init__(self) -> None:
        identity = (self.source_sha256, self.source_size, self.source_mtime_ns)
        if any(v is not None for v in identity) and any(v is None for v in identity):
            raise fail(
                "tune spec.source_sha256",
                "source_size and source_mtime_ns name the source together; give all three or none",
            )
        if self.mode == "target" and self.target_vmaf is None:
            raise fail("tune spec.target_vmaf", "is required when mode is 'target'", "93")
        low, high = self.min_crf, self.max_crf
        if low is not None and high is not None and low > high:
            raise fail("tune spec.min_crf", f"({low}) must not exceed max_crf ({high})")
        if self.rungs is not None and self.targets:
            raise fail("tune spec.rungs", "and targets both pick rungs; give one of them")
        if self.mode == "ladder" and self.metric != "vmaf":
            raise fail(
                "tune spec.metric",
                f"is {self.metric!r}, but a ladder measures vmaf (its hull and rungs are on "
                "vmaf_v0.6.1's mean); drop metric, or use mode 'target'",
                '"metric": "vmaf"',
            )
        if self.mode == "ladder" and self.scale is not None:
            raise fail(
                "tune spec.scale",
                "is for mode 'target'; a ladder's sizes are its resolutions",
                '"resolutions": ["1280x720"]',
            )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HealthSpec(_Spec):
    """A health check: decode every frame of `source`, report errors with their times."""

    kind: ClassVar[JobKind] = JobKind.HEALTH

    source: str = spec_field(text, example='"/media/master.mov"')
    #: Errors listed in the result (all of them are counted).
    max_errors: int = spec_field(number(1, 10000, integer=True), default=100)


JobSpec = ScoreSpec | EncodeSpec | ThumbnailSpec | FilmstripSpec | InferSpec | TuneSpec | HealthSpec
#: The typed spec of each kind.
SPEC_TYPES: Mapping[JobKind, type[JobSpec]] = {
    spec.kind: spec
    for spec in (
        ScoreSpec,
        EncodeSpec,
        ThumbnailSpec,
        FilmstripSpec,
        InferSpec,
        TuneSpec,
        HealthSpec,
    )
}


def parse_spec(kind: JobKind, spec: Any) -> JobSpec:
    """The typed spec of a job of `kind`, or UsageError naming the bad field."""
    return SPEC_TYPES[kind].from_json(spec)


def validate_spec(kind: JobKind, spec: Any) -> JsonObject:
    """`spec` for a job of `kind` in its one JSON form (defaults filled in), or UsageError."""
    return parse_spec(kind, spec).to_json()


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
