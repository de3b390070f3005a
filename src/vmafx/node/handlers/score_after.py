"""An encode job's optional `score_after`: VMAF of the output against its source.

A trimmed encode is compared with the same range of the source, cut losslessly (FFV1) with the
very `-ss`/`-t` the encode used, so both sides hold the same frames. A source in object storage
is read by the URL signed for the claim (`EncodeSpec.source_signed`) and named by its s3://
name in the result. A score that cannot be computed (a frame count that differs) is recorded in
the result with why; the encode itself still succeeded. The model is the spec's `score_model`
(vmaf_v0.6.1 when unset), named in the result's `model`. A cancel, or ffmpeg killed by a signal,
ends the job as usual.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from vmafx.core import frames
from vmafx.core.jobs import JsonObject
from vmafx.core.remote import RemoteInput
from vmafx.core.scores import DEFAULT_MODEL
from vmafx.errors import FfmpegCancelledError, VmafxError
from vmafx.media.encoders import EncodeSpec, source_input
from vmafx.media.graph import ScoreOptions
from vmafx.media.runner import CancelToken, FfmpegRunner, check_returncode
from vmafx.media.scorer import Scorer, ScoreRequest, default_threads
from vmafx.media.urls import output_url, whitelist_args
from vmafx.node.handlers.files import local_path
from vmafx.node.handlers.score import inline_series, series_body


def reference_cut_argv(ffmpeg: str, spec: EncodeSpec, target: Path) -> list[str]:
    """The source's trimmed range, video only, losslessly to `target` (an .mkv)."""
    url, whitelist = source_input(spec)
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-v", "error", "-y"]
    argv += whitelist_args(whitelist)
    if spec.trim_start_s > 0:
        argv += ["-ss", f"{spec.trim_start_s:.3f}"]
    if spec.trim_duration_s is not None:
        argv += ["-t", f"{spec.trim_duration_s:.3f}"]
    return [*argv, "-i", url, "-map", "0:v:0", "-c:v", "ffv1", output_url(str(target))]


def score_after(
    scorer: Scorer,
    runner: FfmpegRunner,
    ffmpeg: str,
    spec: EncodeSpec,
    output: Path,
    cancel: CancelToken,
    timeout_s: float | None,
    *,
    on_progress: Callable[[int, int], None] | None = None,
    model: str = DEFAULT_MODEL,
) -> JsonObject:
    """VMAF of `output` against `spec`'s source (its trimmed range) with `model`: `vmaf` is the
    model's pooled mean, `pooled` every statistic of it (a tune probe on p5 reads its `p5`)."""
    trimmed = spec.trim_start_s > 0 or spec.trim_duration_s is not None
    try:
        with tempfile.TemporaryDirectory(prefix="vmafx-score-after-") as folder:
            reference = local_path(spec.source) or spec.source
            remote: tuple[RemoteInput, ...] = ()
            if spec.source_signed is not None:  # read by its signed URL, named by its s3:// name
                remote = (RemoteInput(name=spec.source, url=spec.source_signed),)
            if trimmed:
                cut = Path(folder) / "reference.mkv"
                result = runner.run(
                    reference_cut_argv(ffmpeg, spec, cut), timeout_s=timeout_s, cancel=cancel
                )
                check_returncode(result, f"cutting {spec.source} for score_after")
                reference, remote = str(cut), ()
            request = ScoreRequest(
                reference=reference,
                distorted=(str(output),),
                options=ScoreOptions(models=(model,), threads=default_threads()),
                timeout_s=timeout_s,
                remote=remote,
            )
            report = scorer.score(request, cancel=cancel, on_progress=on_progress)
    except FfmpegCancelledError:
        raise
    except VmafxError as error:
        return {"reference": spec.source, "trimmed": trimmed, "error": str(error)}
    scored = report.results[0]
    data = frames.pack(series_body(scored))
    after: JsonObject = {
        "reference": spec.source,
        "trimmed": trimmed,
        "vmaf": scored.model_score(model),
        "model": model,
        "pooled": scored.pooled_json(),
        "frame_count": scored.frame_count,
        "versions": dict(report.versions),
        # The Job page's chart, and the full series shipped (when it fits) for download.
        "series": inline_series(scored),
        "per_frame": {
            "frames": len(scored.frame_nums),
            "series": sorted(scored.frames),
            "bytes": len(data),
        },
    }
    frames.attach({"score_after": after}, {0: data})
    return after
