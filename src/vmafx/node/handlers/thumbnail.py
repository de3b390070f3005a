"""`thumbnail` jobs: one frame at `at_s` seconds, as a JPEG or PNG (decode only)."""

from __future__ import annotations

from vmafx.media.images import thumbnail_argv
from vmafx.media.runner import FfmpegRunner
from vmafx.node.handlers.base import JobContext, JobOutput
from vmafx.node.handlers.stills import check_time, render, source_info


class ThumbnailHandler:
    def __init__(self, ffmpeg: str, runner: FfmpegRunner, *, timeout_s: float | None = None):
        self.ffmpeg = ffmpeg
        self.runner = runner
        self.timeout_s = timeout_s

    def run(self, context: JobContext) -> JobOutput:
        spec = context.job.spec
        source, info = source_info(context)
        at_s = float(spec.get("at_s", 0.0))
        width = spec.get("width")
        check_time(at_s, info, source)
        result = render(
            context,
            self.runner,
            lambda target: thumbnail_argv(self.ffmpeg, source, target, at_s=at_s, width=width),
            timeout_s=self.timeout_s,
        )
        result.update(at_s=at_s, width=width or (info.width if info else None))
        return JobOutput(result=result)
