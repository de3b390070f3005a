"""One clip of a corpus: what to score, and how its outcome becomes output columns or a failure.

`score_clip` is what every executor runs per clip (the local pool in a worker process, a farm
node through its score handler). A clip's failure is a value, never an exception, so one bad
clip cannot stop a run of 150,000.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from typing import Any

from vmafx.core.features import NAMES_V1, SCHEMA_V1
from vmafx.core.media import RawFormat, VideoInfo
from vmafx.core.pooling import POOL_METHODS
from vmafx.core.scores import LEGACY_VMAF_KEY
from vmafx.errors import InputError, VmafxError, exit_code_for
from vmafx.media.graph import ScoreOptions, model_refs
from vmafx.media.probe import probe
from vmafx.media.runner import CancelToken
from vmafx.media.scorer import Scorer, ScoreRequest

log = logging.getLogger(__name__)

#: Measured columns every scored clip has, before the pooled metrics and the feature vector.
GEOMETRY_COLUMNS: tuple[str, ...] = ("width", "height", "fps", "frame_count", "scored_frames")
VERSION_COLUMNS: tuple[str, ...] = ("ffmpeg_version", "libvmaf_version")
#: Columns the output adds beside the measured ones (id and paths come from the manifest).
IDENTITY_COLUMNS: tuple[str, ...] = ("id", "distorted", "reference", "no_reference")
#: Per-frame features computed from the reference alone (or from one input), so they still mean
#: something when a no-reference clip is compared with itself. Everything else is trivially
#: "identical" then (VMAF of a clip against itself, PSNR 60, ADM/VIF 1, MSE 0).
_REFERENCE_ONLY_PREFIXES = (
    "integer_motion",
    "VMAF_integer_feature_motion",
    "float_motion",
    "motion",
    "cambi",
)

Value = str | int | float | bool | None


@dataclasses.dataclass(frozen=True)
class ClipSettings:
    """How every clip of a run is scored: the same for all clips, so rows are comparable."""

    options: ScoreOptions = dataclasses.field(default_factory=lambda: ScoreOptions(threads=1))
    raw: RawFormat | None = None
    #: Score only the frames both inputs have (else differing frame counts fail the clip).
    shortest: bool = False
    #: Wall-clock limit per clip; None = none.
    timeout_s: float | None = None
    #: Refuse clips with more frames than this (a guard against a stray feature film); None = none.
    max_frames: int | None = None

    def as_dict(self) -> dict[str, Any]:
        options = dataclasses.asdict(self.options)
        options["models"] = list(self.options.models)
        options["features"] = list(self.options.features)
        raw: dict[str, Any] | None = None
        if self.raw is not None:
            raw = {"width": self.raw.width, "height": self.raw.height}
            raw |= {"pix_fmt": self.raw.pix_fmt, "fps": str(self.raw.fps)}
        return {
            "options": options,
            "raw": raw,
            "shortest": self.shortest,
            "timeout_s": self.timeout_s,
            "max_frames": self.max_frames,
        }

    def fingerprint(self) -> dict[str, Any]:
        """What must not change between a run and its resumption (threads may)."""
        data = self.as_dict()
        data["options"].pop("threads", None)
        data["options"].pop("decode_threads", None)
        data.pop("timeout_s")
        data.pop("max_frames")
        return data


@dataclasses.dataclass(frozen=True)
class ClipJob:
    """One clip to score, by id, with resolved paths (`reference` None: no-reference)."""

    id: str
    distorted: str
    reference: str | None


@dataclasses.dataclass(frozen=True)
class ClipScored:
    id: str
    #: Measured columns: geometry, pooled metrics, the feature vector, versions.
    values: dict[str, Value]
    elapsed_s: float = 0.0


@dataclasses.dataclass(frozen=True)
class ClipFailed:
    id: str
    error_type: str
    message: str
    exit_code: int
    elapsed_s: float = 0.0


ClipOutcome = ClipScored | ClipFailed


def model_columns(options: ScoreOptions) -> list[str]:
    """Pooled columns the models will yield (`vmaf_v0.6.1_mean`, ..., and for one release the
    alias `vmaf_mean`, ... with one model), known before any clip is scored."""
    names = [m.name for m in model_refs(options.models)]
    if len(names) == 1:
        names.append(LEGACY_VMAF_KEY)
    return [f"{name}_{p}" for name in names for p in POOL_METHODS]


def reserved_columns(options: ScoreOptions) -> set[str]:
    """Output columns a manifest's metadata columns must not be named like."""
    names = {*IDENTITY_COLUMNS, *GEOMETRY_COLUMNS, *VERSION_COLUMNS, *model_columns(options)}
    return names | (set(NAMES_V1) if options.feature_vector else set())


def no_reference_meaningful(columns: list[str]) -> list[str]:
    """Of the measured columns, those that mean something for a clip compared with itself."""
    return [c for c in columns if c in GEOMETRY_COLUMNS or c.startswith(_REFERENCE_ONLY_PREFIXES)]


def score_clip(
    job: ClipJob, settings: ClipSettings, scorer: Scorer, cancel: CancelToken | None = None
) -> ClipOutcome:
    """Score one clip; any error it raises becomes a ClipFailed (with the reason)."""
    started = time.monotonic()
    try:
        values = _measure(job, settings, scorer, cancel)
    except VmafxError as exc:
        return ClipFailed(
            job.id, type(exc).__name__, str(exc), exit_code_for(exc), time.monotonic() - started
        )
    except Exception as exc:  # isolate the clip: an unexpected error must not stop the run
        log.exception("unexpected error scoring clip %s", job.id, extra={"clip_id": job.id})
        return ClipFailed(job.id, type(exc).__name__, f"unexpected error: {exc}", 1)
    return ClipScored(job.id, values, time.monotonic() - started)


def _measure(
    job: ClipJob, settings: ClipSettings, scorer: Scorer, cancel: CancelToken | None
) -> dict[str, Value]:
    info = probe(job.distorted, settings.raw)
    check_frame_limit(job, info, settings.max_frames)
    request = ScoreRequest(
        reference=job.reference or job.distorted,
        distorted=(job.distorted,),
        options=settings.options,
        raw=settings.raw,
        shortest=settings.shortest,
        timeout_s=settings.timeout_s,
    )
    report = scorer.score(request, cancel=cancel)
    return result_values(info, report.results[0].as_dict(), report.versions)


def check_frame_limit(job: ClipJob, info: VideoInfo, limit: int | None) -> None:
    """Refuse a clip with more frames than `--max-frames` (InputError)."""
    if limit is not None and (info.frame_count or 0) > limit:
        raise InputError(
            f"The clip {job.distorted} has {info.frame_count} frames, more than the "
            f"--max-frames limit of {limit}; it was not scored.",
            path=job.distorted,
            hint="Raise --max-frames if the clip belongs in the corpus.",
        )


def result_values(
    info: VideoInfo,
    result: Mapping[str, Any],
    versions: Mapping[str, str],
    *,
    feature_vector: bool = True,
) -> dict[str, Value]:
    """A clip's measured columns from its probe and one score result in its JSON form
    (`ScoreResult.as_dict()`, as a farm score job's result holds it)."""
    values: dict[str, Value] = {
        "width": info.width,
        "height": info.height,
        "fps": float(info.fps),
        "frame_count": result["frame_count"],
        "scored_frames": result["scored_frames"],
    }
    for metric, pooled in result["pooled"].items():
        values.update({f"{metric}_{k}": v for k, v in pooled.items()})
    features = result.get("features")
    if features is not None and feature_vector:
        if features["schema"] != SCHEMA_V1:  # pragma: no cover - a future schema
            raise VmafxError(f"Unexpected feature schema {features['schema']}.")
        values.update(zip(features["names"], features["values"], strict=True))
    values["ffmpeg_version"] = versions.get("ffmpeg", "unknown")
    values["libvmaf_version"] = versions.get("libvmaf", "unknown")
    return values
