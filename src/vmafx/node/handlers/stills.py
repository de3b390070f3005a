"""What `thumbnail` and `filmstrip` share: check the source and output, run one decode-only
ffmpeg into a temporary image, and move it over the output when it worked."""

from __future__ import annotations

import time
from collections.abc import Callable

from vmafx.core.jobs import JsonObject
from vmafx.core.media import VideoInfo
from vmafx.errors import FfmpegError, NotVideoError, UsageError
from vmafx.media.probe import probe
from vmafx.media.runner import FfmpegRunner, Progress
from vmafx.node.handlers.base import JobContext, JobProgress
from vmafx.node.handlers.files import (
    check_input,
    check_output,
    commit,
    discard,
    local_path,
    raise_for_write_failure,
    temp_output,
)

#: Builds the argv that writes the image to the given (temporary) path.
ArgvFor = Callable[[str], list[str]]


def source_info(context: JobContext, source: str) -> tuple[str, VideoInfo | None]:
    """The job's source, checked; its probe when it is a local file (None for a URL)."""
    check_input(source, context.scoring_roots, field="source")
    path = local_path(source)
    return source, probe(path) if path is not None else None


def render(
    context: JobContext,
    runner: FfmpegRunner,
    argv_for: ArgvFor,
    *,
    source: str,
    destination: str,
    total_frames: int | None = None,
    timeout_s: float | None = None,
) -> JsonObject:
    """Run the image job; the result names the output and its size."""
    output = check_output(destination, context.scoring_roots)
    temp = temp_output(output, context.job.id)
    started = time.monotonic()

    def on_progress(step: Progress) -> None:
        done = JobProgress.of_frames(step.frame, total_frames, time.monotonic() - started)
        context.progress(done)

    try:
        argv = argv_for(str(temp))
        result = runner.run(
            argv, timeout_s=timeout_s, cancel=context.cancel, on_progress=on_progress
        )
        if result.returncode != 0:
            raise_for_write_failure(result.stderr, output)
            raise _failure(source, argv, result.returncode, result.tail())
        commit(temp, output)
    finally:
        discard(temp)
    return {
        "output": str(output),
        "bytes": output.stat().st_size,
        "elapsed_s": round(time.monotonic() - started, 3),
    }


def _failure(source: str, argv: list[str], returncode: int, tail: str) -> Exception:
    if "Invalid data found" in tail or "could not find codec parameters" in tail:
        return NotVideoError(
            f"ffmpeg could not decode {source}; it may be corrupt or truncated.",
            path=source,
            hint="Re-encode or re-copy the file, then submit the job again.\n" + tail,
        )
    return FfmpegError(
        f"ffmpeg could not make the image from {source} (exit code {returncode}).",
        argv=argv,
        returncode=returncode,
        stderr_tail=tail,
        hint="The last lines of ffmpeg's output below say why.",
    )


def check_time(at_s: float, info: VideoInfo | None, source: str) -> None:
    if info is not None and info.duration_s is not None and at_s >= info.duration_s:
        raise UsageError(
            f"at_s {at_s:g} is past the end of {source}, which lasts {info.duration_s:.3f} s.",
            hint=f"Ask for a time below {info.duration_s:.3f}.",
        )
