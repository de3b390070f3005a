"""`thumbnail` jobs: one frame at `at_s` seconds, as a JPEG or PNG (decode only)."""

from __future__ import annotations

from vmafx.core.specs import ThumbnailSpec
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
        spec = context.spec_as(ThumbnailSpec)
        source, info = source_info(context, spec.source)
        at_s, width = spec.at_s, spec.width
        check_time(at_s, info, source)
        result = render(
            context,
            self.runner,
            lambda target: thumbnail_argv(self.ffmpeg, source, target, at_s=at_s, width=width),
            source=source,
            destination=spec.output,
            timeout_s=self.timeout_s,
        )
        result.update(at_s=at_s, width=width or (info.width if info else None))
        return JobOutput(result=result)
