"""One clip as a farm `score` job, and a finished job back as the clip's outcome.

The spec asks for what local mode computes (the same models, metrics, subsampling and scaling;
no per-frame file), with absolute paths. A succeeded job's result (a `ScoreReport` as JSON)
becomes the very row local mode writes: geometry and frame rate come from probing the clip
here, as local mode does, and the rest from the result. A failed or cancelled job becomes a
failure entry naming the farm job.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from os.path import abspath
from typing import Any

from vmafx.core.jobs import Job, JobState
from vmafx.core.media import RawFormat, VideoInfo
from vmafx.core.messages import JobRequest
from vmafx.core.metrics import BY_ANY_NAME, METRIC_NAMES, VMAF, metric_names
from vmafx.core.remote import is_object_url
from vmafx.core.specs import ScoreSpec
from vmafx.corpus.clips import (
    ClipFailed,
    ClipJob,
    ClipOutcome,
    ClipScored,
    ClipSettings,
    check_frame_limit,
    result_values,
)
from vmafx.errors import UsageError, VmafxError, exit_code_for

_ERROR_PREFIX = re.compile(r"^([A-Z][A-Za-z0-9]*(?:Error|Exception)): (.*)$", re.DOTALL)
#: The error type of a failed farm job whose error names no exception class.
FARM_FAILED = "FarmJobFailed"

Probe = Callable[[str, RawFormat | None], VideoInfo]


def check_farm_settings(settings: ClipSettings) -> None:
    """Refuse options a farm score job cannot express (UsageError naming them)."""
    refused = []
    if settings.shortest:
        refused.append("--sync shortest")
    if settings.options.sync_fps:
        refused.append("--sync fps")
    if settings.timeout_s is not None:
        refused.append("--timeout (the nodes' job timeout applies)")
    unknown = [f for f in settings.options.features if f not in BY_ANY_NAME or f == VMAF.name]
    if unknown:
        refused.append(f"--feature {', '.join(unknown)}")
    if refused:
        raise UsageError(
            f"farm mode (--controller) cannot score with {'; '.join(refused)}.",
            hint="Leave those options out, or score on this machine (no --controller). "
            f"Farm jobs take the metrics {', '.join(METRIC_NAMES[1:])}.",
        )


def _raw(raw: RawFormat) -> dict[str, Any]:
    return {
        "width": raw.width,
        "height": raw.height,
        "pix_fmt": raw.pix_fmt,
        "fps": float(raw.fps),
    }


def score_spec(job: ClipJob, settings: ClipSettings) -> dict[str, Any]:
    """The score job's spec for one clip, as JSON (see `typed_score_spec`)."""
    return typed_score_spec(job, settings).to_json()


def typed_score_spec(job: ClipJob, settings: ClipSettings) -> ScoreSpec:
    """The score job's spec for one clip (absolute paths; no-reference: the clip itself)."""
    options = settings.options
    distorted = _absolute(job.distorted)
    spec: dict[str, Any] = {
        "reference": _absolute(job.reference) if job.reference else distorted,
        "distorted": [distorted],
        "models": list(options.models) or None,  # none: the default model, as locally
        "metrics": metric_names(options.features),
        "subsample": options.subsample,
        "scaling": "bicubic" if options.scale else "none",
        "per_frame": False,
    }
    if settings.raw is not None:
        spec["reference_raw"] = spec["distorted_raw"] = _raw(settings.raw)
    return ScoreSpec.from_json(spec)  # parsed here, once, as every door parses a spec


def score_request(job: ClipJob, settings: ClipSettings, key: str) -> JobRequest:
    return JobRequest(spec=typed_score_spec(job, settings), idempotency_key=key)


def _elapsed(job: Job) -> float:
    if job.started_at is None or job.finished_at is None:
        return 0.0
    return max(0.0, (job.finished_at - job.started_at).total_seconds())


def job_outcome(clip: ClipJob, job: Job, settings: ClipSettings, probe: Probe) -> ClipOutcome:
    """The outcome of a clip whose farm job ended (any error becomes a ClipFailed)."""
    elapsed = _elapsed(job)
    if job.state is not JobState.COMPLETED:
        return _failed(clip, job, elapsed)
    try:
        info = probe(clip.distorted, settings.raw)
        check_frame_limit(clip, info, settings.max_frames)
    except VmafxError as exc:
        return ClipFailed(clip.id, type(exc).__name__, str(exc), exit_code_for(exc), elapsed)
    except Exception as exc:  # isolate the clip, as local mode does
        return ClipFailed(clip.id, type(exc).__name__, f"unexpected error: {exc}", 1, elapsed)
    try:
        result = job.result or {}
        versions = result.get("versions", {})
        vector = settings.options.feature_vector
        values = result_values(info, result["results"][0], versions, feature_vector=vector)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        message = f"farm job {job.id} succeeded but its result is not a score report ({exc!r})"
        return ClipFailed(clip.id, "BadFarmResult", message, 1, elapsed)
    return ClipScored(clip.id, values, elapsed)


def _failed(clip: ClipJob, job: Job, elapsed: float) -> ClipFailed:
    error = job.error or f"the farm job ended {job.state}"
    found = _ERROR_PREFIX.match(error)
    error_type, message = (found.group(1), found.group(2)) if found else (FARM_FAILED, error)
    if job.state is JobState.CANCELLED:
        error_type = "FarmJobCancelled"
    return ClipFailed(clip.id, error_type, f"{message} (farm job {job.id})", 1, elapsed)


def _absolute(path: str) -> str:
    """A local path made absolute (the nodes' view); an object URL as it is."""
    return path if is_object_url(path) else abspath(path)
