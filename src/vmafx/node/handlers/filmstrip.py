"""`filmstrip` jobs: `count` frames spread evenly over the source, side by side in one image.

Each tile is `width` pixels wide (default: the source's width, at most 320); the height keeps
the aspect ratio. The source is decoded once, start to end.
"""

from __future__ import annotations

from vmafx.core.specs import FilmstripSpec
from vmafx.media.images import DEFAULT_TILE_WIDTH, filmstrip_argv, filmstrip_step
from vmafx.media.runner import FfmpegRunner
from vmafx.node.handlers.base import JobContext, JobOutput
from vmafx.node.handlers.stills import render, source_info


class FilmstripHandler:
    def __init__(self, ffmpeg: str, runner: FfmpegRunner, *, timeout_s: float | None = None):
        self.ffmpeg = ffmpeg
        self.runner = runner
        self.timeout_s = timeout_s

    def run(self, context: JobContext) -> JobOutput:
        spec = context.spec_as(FilmstripSpec)
        source, info = source_info(context, spec.source)
        count = spec.count
        frames = info.frame_count if info and info.frame_count else count
        default_width = min(info.width, DEFAULT_TILE_WIDTH) if info else DEFAULT_TILE_WIDTH
        width = spec.width or default_width
        width += width % 2
        result = render(
            context,
            self.runner,
            lambda target: filmstrip_argv(
                self.ffmpeg, source, target, count=count, frame_count=frames, width=width
            ),
            source=source,
            destination=spec.output,
            total_frames=frames,
            timeout_s=self.timeout_s,
        )
        step = filmstrip_step(frames, count)
        result.update(
            count=count,
            tile_width=width,
            frame_nums=list(range(0, frames, step))[:count],
        )
        return JobOutput(result=result)
