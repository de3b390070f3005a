"""`health` jobs: decode every frame of the source and report decode errors with their times
(`vmafx.media.health`). A broken file completes the job with `ok: false` and its errors: that
is the answer the job was asked for; only a file the node cannot find or read fails it."""

from __future__ import annotations

from vmafx.core.specs import HealthSpec
from vmafx.node.handlers.base import JobContext, JobOutput, JobProgress
from vmafx.node.handlers.files import check_input


class HealthHandler:
    def run(self, context: JobContext) -> JobOutput:
        # PyAV when a health job runs, not when the node starts: `vmafx node --probe` runs on
        # machines without it (the GPU device image) and must not fail on an import.
        from vmafx.media.health import check_health  # noqa: PLC0415

        spec = context.spec_as(HealthSpec)
        source = check_input(spec.source, context.scoring_roots, field="source")

        def on_progress(done: int, expected: int | None, elapsed_s: float) -> None:
            context.progress(JobProgress.of_frames(done, expected, elapsed_s, phase="decoding"))

        context.progress(JobProgress(fraction=0.0, phase="decoding"))
        report = check_health(
            source, max_errors=spec.max_errors, cancel=context.cancel, on_progress=on_progress
        )
        return JobOutput(result=report.to_json())
