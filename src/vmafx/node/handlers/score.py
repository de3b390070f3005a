"""`score` jobs: the real libvmaf through `LibvmafScorer`, one ffmpeg run for every distorted input.

The result holds, per distorted input, the pooled metrics, feature vector v1, the frame count
and the adjustments made (a bicubic scale), plus the ffmpeg and libvmaf versions, and warnings
(per input, and all of them at the top: VMAF on a flat reference means little). Per-frame
series are kept out of the job row:

- every series (each model, metric and libvmaf feature, frame by frame) goes to a gzip-compressed
  JSON file `<results dir>/<job id>/frames-<i>.json.gz` on the node, named in the result
  (`per_frame: {path, bytes, sha256, frames, series}`), when the job asks for per-frame values;
- the result itself carries only each model's series decimated to at most `INLINE_POINTS`
  points (the mean of each run of frames), enough for the Job page's chart;
- the files' bytes also ride in the final report when a job's together fit
  `vmafx.core.frames.SHIP_LIMIT`: the controller keeps them and serves them (API, UI, CLI).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

from vmafx.core import frames
from vmafx.core.features import FeatureVector
from vmafx.core.input_policy import is_model_path
from vmafx.core.jobs import JsonObject
from vmafx.core.media import RawFormat
from vmafx.core.metrics import METRICS
from vmafx.core.remote import RemoteInput, is_object_url
from vmafx.core.scores import ScoreReport, ScoreResult, headline_score
from vmafx.core.specs import ScoreSpec
from vmafx.errors import OutputWriteError, UsageError
from vmafx.media.graph import ScoreOptions
from vmafx.media.scorer import Scorer, ScoreRequest, default_threads
from vmafx.node.handlers.base import JobContext, JobOutput, JobProgress
from vmafx.node.handlers.files import check_input

INLINE_POINTS = 200

#: Called with (job id, report) after a successful score (the trainer feedback).
OnScored = Callable[[str, ScoreReport], None]
#: The served model's `{"score", "model_version"}` for a feature vector, None without a model.
Predict = Callable[[FeatureVector | None], JsonObject | None]


def _raw(spec: ScoreSpec) -> RawFormat | None:
    ref, dis = spec.reference_raw, spec.distorted_raw
    if ref and dis and ref != dis:
        raise UsageError(
            "reference_raw and distorted_raw differ; vmafx scores raw inputs of one format.",
            hint="Convert one of them, or give the distorted input in a container.",
        )
    raw = ref or dis
    if not raw:
        return None
    fps = Fraction(str(raw.fps)).limit_denominator(1001) if raw.fps else Fraction(24)
    return RawFormat(raw.width, raw.height, raw.pix_fmt, fps)


def score_request(spec: ScoreSpec, *, timeout_s: float | None = None) -> ScoreRequest:
    """The scorer's request for a score job's typed spec."""
    options = ScoreOptions(
        models=spec.models,
        features=tuple(METRICS[m].request for m in spec.metrics if METRICS[m].request),
        subsample=spec.subsample,
        threads=spec.threads or default_threads(),
        scale=spec.scaling != "none",
    )
    return ScoreRequest(
        reference=spec.reference,
        distorted=spec.distorted,
        options=options,
        raw=_raw(spec),
        timeout_s=timeout_s,
    )


def decimate(values: Sequence[float], points: int = INLINE_POINTS) -> list[float]:
    """At most `points` values: the mean of each consecutive run (all of them when fewer)."""
    if len(values) <= points:
        return [round(v, 4) for v in values]
    size = math.ceil(len(values) / points)
    return [
        round(sum(chunk) / len(chunk), 4)
        for chunk in (values[i : i + size] for i in range(0, len(values), size))
    ]


def inline_series(result: ScoreResult) -> JsonObject:
    """The pooled metrics' per-frame series, decimated for the job row."""
    names = [name for name in result.pooled if name in result.frames]
    nums = list(result.frame_nums)
    step = max(1, math.ceil(len(nums) / INLINE_POINTS))
    return {
        "frame_nums": nums[::step],
        **{name: decimate(result.frames[name]) for name in names},
    }


def series_body(result: ScoreResult) -> JsonObject:
    """Every per-frame series of `result`, as the node keeps and ships it (`vmafx.core.frames`)."""
    return {
        "distorted": result.distorted,
        "frame_nums": list(result.frame_nums),
        "series": {name: [round(v, 6) for v in values] for name, values in result.frames.items()},
    }


def write_series(
    result: ScoreResult, folder: Path, index: int, shipped: dict[int, bytes] | None = None
) -> JsonObject:
    """Every per-frame series of `result` to a gzip JSON file; what the result says of it.
    With `shipped`, the file's bytes also go there (index → bytes) to ship to the controller."""
    data = frames.pack(series_body(result))
    if shipped is not None:
        shipped[index] = data
    path = folder / f"frames-{index}.json.gz"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, path)
    except OSError as error:
        raise OutputWriteError(
            f"the per-frame series could not be written to {path}: {error.strerror or error}.",
            path=str(path),
            hint="Fix VMAFX_NODE_RESULTS_DIR, or submit the job with per_frame false.",
        ) from error
    return {
        "path": str(path),
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "frames": len(result.frame_nums),
        "series": sorted(result.frames),
    }


def signed_input(value: str, context: JobContext, field: str) -> RemoteInput:
    """The object `value` as ffmpeg reads it: by the URL the controller signed for this claim
    (the node holds no credentials, so an object without one cannot be read)."""
    url = context.signed_inputs.get(value)
    if url is None:
        raise UsageError(
            f"{field} {value!r} is an object URL, and the controller sent no signed URL for "
            "it with this claim.",
            hint="Configure object storage for the job's tenant on the controller "
            "(--storage-dir, docs/storage.md); nodes hold no cloud credentials.",
        )
    return RemoteInput(name=value, url=url)


class ScoreHandler:
    def __init__(
        self,
        scorer: Scorer,
        results_dir: Path,
        *,
        timeout_s: float | None = None,
        on_scored: OnScored | None = None,
        predict: Predict | None = None,
        decode: str = "cpu",
        nvidia_gpu: bool = False,
    ) -> None:
        self.scorer = scorer
        #: The node's `VMAFX_NODE_DECODE`, and whether it has an NVIDIA GPU (for `auto`).
        self.decode = decode
        self.nvidia_gpu = nvidia_gpu
        self.results_dir = results_dir
        self.timeout_s = timeout_s
        self.on_scored = on_scored
        self.predict = predict

    def run(self, context: JobContext) -> JobOutput:
        job, spec = context.job, context.spec_as(ScoreSpec)
        request = score_request(spec, timeout_s=self.timeout_s)
        request = dataclasses.replace(request, decode=self.decode, nvidia_gpu=self.nvidia_gpu)
        remote: list[RemoteInput] = []
        for index, path in enumerate((request.reference, *request.distorted)):
            field = "reference" if index == 0 else f"distorted[{index - 1}]"
            if is_object_url(path):
                remote.append(signed_input(path, context, field))
                continue
            check_input(path, context.scoring_roots, field=field)
        if remote:
            request = dataclasses.replace(request, remote=tuple(remote))
        for index, model in enumerate(request.options.models):
            if is_model_path(model):  # libvmaf opens it: the roots hold for it too
                check_input(model, context.scoring_roots, field=f"models[{index}]")
        started = time.monotonic()

        def on_progress(done: int, expected: int) -> None:
            elapsed = time.monotonic() - started
            context.progress(JobProgress.of_frames(done, expected, elapsed, phase="scoring"))

        report = self.scorer.score(request, on_progress=on_progress, cancel=context.cancel)
        result = self._result(report, job.id, spec.per_frame)
        if self.on_scored is not None:
            self.on_scored(job.id, report)
        first = report.results[0].features
        features = dict(zip(first.names, first.values, strict=True)) if first else {}
        return JobOutput(result=result, score=headline_score(result), features=features)

    def _result(self, report: ScoreReport, job_id: str, per_frame: bool) -> JsonObject:
        result = report.as_dict()
        shipped: dict[int, bytes] = {}
        for index, (item, scored) in enumerate(zip(result["results"], report.results, strict=True)):
            item["series"] = inline_series(scored)
            if per_frame:
                folder = self.results_dir / job_id
                item["per_frame"] = write_series(scored, folder, index, shipped)
            item["prediction"] = self.predict(scored.features) if self.predict else None
        # The headline input's prediction, beside the headline score.
        result["prediction"] = result["results"][0]["prediction"] if result["results"] else None
        result["elapsed_s"] = round(report.elapsed_s, 3)
        # Every input's warnings (a flat reference...), where the job's reader looks first.
        result["warnings"] = [f"{r.distorted}: {w}" for r in report.results for w in r.warnings]
        frames.attach(result, shipped)  # the controller keeps them when they fit
        return result
