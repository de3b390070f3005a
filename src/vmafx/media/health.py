"""A health check of a video file: decode every frame and say where it is broken.

What Tdarr calls a "thorough" health check: every packet of the first video stream (and of every
audio stream) is decoded with libavcodec (through PyAV, the libraries `vmafx.media.probe` already
uses), one packet at a time on the calling thread, so each error the decoder logs or raises is
pinned to the packet that caused it: its presentation time and frame number. One decoder
thread: frame threads would report an error some frames after the packet that caused it, and
slice threads log a slice's errors from whichever thread ran it, where the capture of this
thread's log (other health checks may run in other threads of the same process) does not see
them: under load a damaged packet went unreported (a flaky test showed it).

The report says frames decoded against frames expected (the container's count, or its duration
times the frame rate), the duration, and each error (`frame`, `time_s`, `stream`, `message`), at
most `max_errors` of them listed (all of them counted). A file is healthy when nothing was
logged or raised and no frame is missing. A file that cannot be opened at all gets
a report too (ok false, one `container` error), since finding such files is the point; only a
missing file is an error.

This is also what `ffmpeg -v error -i FILE -f null -` tells, but with timestamps: ffmpeg's own
log lines name the decoder instance, not the frame.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import Any

import av
import av.logging

from vmafx.core.jobs import JsonObject
from vmafx.errors import FfmpegCancelledError, InputNotFoundError
from vmafx.media.runner import CancelToken

#: Errors listed in a report by default (every error is counted).
MAX_ERRORS = 100
#: Frames between two progress callbacks.
PROGRESS_EVERY = 24

#: (frames decoded, frames expected or None, seconds elapsed)
HealthProgress = Callable[[int, int | None, float], None]


@dataclasses.dataclass(frozen=True, slots=True)
class DecodeError:
    frame: int | None
    time_s: float | None
    stream: str
    message: str

    def to_json(self) -> JsonObject:
        return {
            "frame": self.frame,
            "time_s": round(self.time_s, 3) if self.time_s is not None else None,
            "stream": self.stream,
            "message": self.message,
        }


@dataclasses.dataclass(frozen=True, slots=True)
class HealthReport:
    source: str
    frames_decoded: int
    frames_expected: int | None
    duration_s: float | None
    decoded_s: float | None
    codec: str
    width: int
    height: int
    errors: tuple[DecodeError, ...]
    error_count: int
    elapsed_s: float

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def to_json(self) -> JsonObject:
        return {
            "source": self.source,
            "ok": self.ok,
            "frames_decoded": self.frames_decoded,
            "frames_expected": self.frames_expected,
            "duration_s": _round(self.duration_s),
            "decoded_s": _round(self.decoded_s),
            "codec": self.codec,
            "width": self.width,
            "height": self.height,
            "error_count": self.error_count,
            "errors": [error.to_json() for error in self.errors],
            "elapsed_s": round(self.elapsed_s, 3),
            "decoder": f"PyAV {av.__version__}",
        }

    def summary(self) -> str:
        """One line: `ok: 72 of 72 frames decoded, 3.000 s` or what is wrong."""
        expected = f" of {self.frames_expected}" if self.frames_expected else ""
        frames = f"{self.frames_decoded}{expected} frames decoded"
        if self.ok:
            return f"ok: {frames}, {self.decoded_s or 0:.3f} s"
        plural = "s" if self.error_count != 1 else ""
        return f"{self.error_count} decode error{plural}: {frames}"


def _round(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


class _Errors:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.listed: list[DecodeError] = []
        self.count = 0

    def add(self, error: DecodeError) -> None:
        self.count += 1
        if len(self.listed) < self.limit:
            self.listed.append(error)


def _seconds(value: int | None, base: Fraction | None) -> float | None:
    return float(value * base) if value is not None and base is not None else None


def check_health(
    path: str,
    *,
    max_errors: int = MAX_ERRORS,
    cancel: CancelToken | None = None,
    on_progress: HealthProgress | None = None,
) -> HealthReport:
    """Decode every frame of `path`; raise NotVideoError when it cannot be opened at all."""
    started = time.monotonic()
    try:
        container = av.open(path)
    except FileNotFoundError:
        raise InputNotFoundError(f"{path} does not exist.", path=path) from None
    except (av.error.FFmpegError, OSError) as error:
        # A broken file is what a health check is for: a report, not a failure.
        reason = f"the file cannot be opened as a video: {error}"
        return _unreadable(path, reason, time.monotonic() - started)
    with container:
        if not container.streams.video:
            return _unreadable(path, "the file has no video stream", time.monotonic() - started)
        video = container.streams.video[0]
        video.codec_context.thread_count = 1  # every error logged on this thread (see above)
        streams: list[Any] = [video, *container.streams.audio]
        rate = video.average_rate or video.guessed_rate
        expected = _expected_frames(video, container, rate)
        errors = _Errors(max_errors)
        progress = (on_progress, expected, started)
        decoded, first, last = _decode(container, streams, video, rate, errors, cancel, progress)
        if expected and decoded < expected:
            errors.add(
                DecodeError(
                    frame=decoded,  # where the missing frames start; no packet to time it by
                    time_s=None,
                    stream="video",
                    message=f"{expected - decoded} of {expected} frames missing "
                    f"({decoded} decoded): the file ends early or frames were dropped",
                )
            )
        decoded_s = None
        if first is not None and last is not None and video.time_base is not None:
            decoded_s = float((last - first) * video.time_base) + (float(1 / rate) if rate else 0)
        return HealthReport(
            source=path,
            frames_decoded=decoded,
            frames_expected=expected,
            duration_s=_duration(video, container),
            decoded_s=decoded_s,
            codec=video.codec_context.name,
            width=video.codec_context.width,
            height=video.codec_context.height,
            errors=tuple(errors.listed),
            error_count=errors.count,
            elapsed_s=time.monotonic() - started,
        )


def _unreadable(path: str, reason: str, elapsed_s: float) -> HealthReport:
    return HealthReport(
        source=path,
        frames_decoded=0,
        frames_expected=None,
        duration_s=None,
        decoded_s=None,
        codec="",
        width=0,
        height=0,
        errors=(DecodeError(None, None, "container", reason),),
        error_count=1,
        elapsed_s=elapsed_s,
    )


def _duration(video: Any, container: Any) -> float | None:
    if video.duration and video.time_base:
        return float(video.duration * video.time_base)
    return container.duration / 1_000_000 if container.duration else None


def _expected_frames(video: Any, container: Any, rate: Fraction | None) -> int | None:
    if video.frames:
        return int(video.frames)
    duration = _duration(video, container)
    return round(duration * rate) if duration and rate else None


def _decode(
    container: Any,
    streams: list[Any],
    video: Any,
    rate: Fraction | None,
    errors: _Errors,
    cancel: CancelToken | None,
    progress: tuple[HealthProgress | None, int | None, float],
) -> tuple[int, int | None, int | None]:
    """Decode packet by packet; errors logged or raised go to `errors` with their packet's
    time. Returns (video frames decoded, first and last video pts)."""
    on_progress, expected, started = progress
    decoded = 0
    first: int | None = None
    last: int | None = None
    start_pts = video.start_time or 0
    with _LIBAV_ERRORS.logged(), av.logging.Capture(local=True) as logs:
        packets = container.demux(streams)
        while True:
            if cancel is not None and cancel.cancelled:
                raise FfmpegCancelledError(
                    f"the health check was stopped before it finished ({cancel.reason}).",
                    hint="Nothing was reported; run it again.",
                )
            seen = len(logs)
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.error.FFmpegError as error:  # the container breaks off
                when = _seconds(last, video.time_base)
                errors.add(DecodeError(decoded, when, "container", f"reading stopped: {error}"))
                break
            is_video = packet.stream.index == video.index
            where = packet.pts if packet.pts is not None else packet.dts
            message = ""
            try:
                frames = packet.decode()
            except av.error.FFmpegError as error:
                frames = []
                message = str(error).split("; last error log:")[0].rstrip(".")
            logged = [
                text.strip().rstrip(".")
                for level, _, text in logs[seen:]
                if level <= av.logging.ERROR
            ]
            if logged or message:
                frame = decoded
                if where is not None and rate and packet.time_base is not None:
                    frame = round(float((where - start_pts) * packet.time_base * rate))
                errors.add(
                    DecodeError(
                        frame=frame if is_video else None,
                        time_s=_seconds(where, packet.time_base),
                        stream="video" if is_video else f"audio #{packet.stream.index}",
                        message="; ".join(dict.fromkeys(logged or [message])),
                    )
                )
            if not is_video:
                continue
            for frame_out in frames:
                decoded += 1
                pts = frame_out.pts
                if pts is not None:
                    first = pts if first is None else min(first, pts)
                    last = pts if last is None else max(last, pts)
                if on_progress is not None and decoded % PROGRESS_EVERY == 0:
                    on_progress(decoded, expected, time.monotonic() - started)
    return decoded, first, last


class _LibavErrors:
    """libav's errors reach PyAV's log while any health check runs. PyAV's level is one for the
    whole process: a check that put back the level it found while another check in another
    thread still decoded silenced that one's errors (a damaged packet went unreported), so the
    first check to start sets it and the last to end restores it. PyAV also drops a log line
    identical to the one before it, process-wide: a second damaged packet with the first's
    complaint would go unreported, so that is off meanwhile too."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._saved: tuple[Any, bool] = (None, True)

    @contextlib.contextmanager
    def logged(self) -> Iterator[None]:
        with self._lock:
            if self._running == 0:
                self._saved = (av.logging.get_level(), av.logging.get_skip_repeated())
                av.logging.set_level(av.logging.ERROR)
                av.logging.set_skip_repeated(False)
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                if self._running == 0:
                    av.logging.set_level(self._saved[0])
                    av.logging.set_skip_repeated(self._saved[1])


_LIBAV_ERRORS = _LibavErrors()
