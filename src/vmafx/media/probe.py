"""Probing inputs: geometry, pixel format, frame rate (and whether it varies), frame count.

Containers are read with PyAV (imageio-ffmpeg ships no ffprobe) under the input policy
(`vmafx.core.input_policy`: regular files only, checked before anything is opened; `file:` only;
single-file containers only); raw YUV is measured from its size on disk. Demuxing counts
packets when the container does not store a frame count, which reads the file but decodes
nothing.
"""

from __future__ import annotations

import itertools
import os
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from vmafx.core.input_policy import (
    READABLE,
    check_path_text,
    check_regular_file,
    check_single_file_name,
    multi_file_error,
    multi_file_kind,
)
from vmafx.core.media import RawFormat, VideoInfo, bit_depth_of
from vmafx.core.remote import RemoteInput, redact
from vmafx.errors import InputNotFoundError, NotVideoError, RawVideoError
from vmafx.media.urls import local_url, probe_options

if TYPE_CHECKING:
    import av

#: Extensions read as headerless YUV (they need width, height, pixel format and frame rate).
RAW_EXTENSIONS = (".yuv", ".raw")
#: Packets whose timing is checked to tell a variable frame rate.
_VFR_SAMPLE = 240


def is_raw(path: str) -> bool:
    return Path(path).suffix.lower() in RAW_EXTENSIONS


def _check_exists(path: str) -> None:
    """The input policy before anything opens `path`: a sane name, a single-file format by its
    extension, a regular file (stat only, so a FIFO cannot block), readable."""
    check_path_text(path, "input")
    check_single_file_name(path, "input")
    check_regular_file(path, "input")
    if not os.access(path, os.R_OK):
        raise InputNotFoundError(
            f"The input {path} cannot be read (permission denied).",
            path=path,
            hint="Fix its permissions or run as a user that can read it.",
        )


def _sniffed_multi_file(path: str) -> str | None:
    """What `path` is when its first bytes say playlist or list of files (a regular file)."""
    try:
        with open(path, "rb") as handle:
            return multi_file_kind(handle.read(4096))
    except OSError:
        return None


def probe_raw(path: str, raw: RawFormat | None) -> VideoInfo:
    _check_exists(path)
    if raw is None:
        raise RawVideoError(
            f"The input {path} is raw YUV, which has no header, and no size was given.",
            path=path,
            hint="Give --width, --height (and --pix-fmt, --fps if not yuv420p at 24 fps).",
        )
    size = Path(path).stat().st_size
    frames, rest = divmod(size, raw.frame_bytes)
    if size == 0 or rest:
        raise RawVideoError(
            f"The raw input {path} has {size} bytes, which is not a whole number of "
            f"{raw.size} {raw.pix_fmt} frames ({raw.frame_bytes} bytes each).",
            path=path,
            hint="Check --width, --height and --pix-fmt against how the file was written.",
        )
    return VideoInfo(
        path=path,
        width=raw.width,
        height=raw.height,
        pix_fmt=raw.pix_fmt,
        bit_depth=raw.bit_depth,
        fps=raw.fps,
        variable_frame_rate=False,
        frame_count=frames,
        duration_s=float(frames / raw.fps),
        codec="rawvideo",
        container="rawvideo",
    )


def _is_variable(deltas: list[int]) -> bool:
    """Frame durations (in stream time base) that differ by more than rounding: VFR."""
    if len(deltas) < 3:
        return False
    typical = sorted(deltas)[len(deltas) // 2]
    return any(abs(d - typical) > max(1, typical // 20) for d in deltas)


def probe(path: str, raw: RawFormat | None = None, remote: RemoteInput | None = None) -> VideoInfo:
    """Probe one input; a clear error for a missing, unreadable or non-video file. A remote
    input (checked and sniffed by `vmafx.storage` already) is read from its signed URL."""
    if remote is not None:
        return _probe_remote(remote)
    if is_raw(path):
        return probe_raw(path, raw)
    _check_exists(path)
    import av  # noqa: PLC0415 - PyAV only where probing needs it, not on `vmafx score`'s path

    try:
        with av.open(
            local_url(path), container_options=probe_options(), metadata_errors="ignore"
        ) as container:
            return _probe_container(path, container)
    except av.error.FFmpegError as exc:
        kind = _sniffed_multi_file(path)
        if kind is not None:
            raise multi_file_error(path, "input", kind) from None
        raise NotVideoError(
            f"The input {path} is not a video vmafx can read ({exc.strerror or exc}).",
            path=path,
            hint=f"Check that the file is complete and in a container vmafx reads ({READABLE}); "
            "raw YUV needs a .yuv extension plus --width and --height.",
        ) from None


def _probe_remote(remote: RemoteInput) -> VideoInfo:
    import av  # noqa: PLC0415

    try:
        with av.open(
            remote.url, container_options=probe_options(remote.protocols), metadata_errors="ignore"
        ) as container:
            return _probe_container(remote.name, container)
    except av.error.FFmpegError as exc:
        from vmafx.media.remote import remote_error, unreadable_remote  # noqa: PLC0415

        reason = redact(str(exc.strerror or exc), [remote])
        raise remote_error([remote], reason) or unreadable_remote(remote, reason) from None


def _probe_container(path: str, container: av.container.InputContainer) -> VideoInfo:
    if not container.streams.video:
        raise NotVideoError(
            f"The input {path} has no video stream.",
            path=path,
            hint="Point vmafx at the video file (audio-only or subtitle files cannot be scored).",
        )
    stream = container.streams.video[0]
    ctx = stream.codec_context
    if not ctx.width or not ctx.height or ctx.format is None:
        raise NotVideoError(
            f"The input {path} has a video stream without a readable size or pixel format.",
            path=path,
            hint="The file may be truncated or corrupt; re-encode or re-download it.",
        )
    fps = stream.average_rate or stream.guessed_rate or stream.base_rate or Fraction(0)
    count, deltas = _demux_count(container, stream) if not stream.frames else (stream.frames, [])
    if stream.frames:
        deltas = _sample_deltas(container, stream)
    duration = (
        float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
    )
    if duration is None and container.duration:
        duration = container.duration / 1_000_000
    if count == 0:
        raise NotVideoError(
            f"The input {path} has a video stream with no frames in it.",
            path=path,
            hint="The file may be truncated or corrupt; re-encode or re-download it.",
        )
    return VideoInfo(
        path=path,
        width=ctx.width,
        height=ctx.height,
        pix_fmt=ctx.format.name,
        bit_depth=bit_depth_of(ctx.format.name),
        fps=Fraction(fps),
        variable_frame_rate=_is_variable(deltas),
        frame_count=count,
        duration_s=duration,
        codec=ctx.name,
        container=container.format.name,
    )


def _sample_deltas(container: av.container.InputContainer, stream: av.VideoStream) -> list[int]:
    pts: list[int] = []
    for packet in container.demux(stream):
        if packet.pts is not None:
            pts.append(packet.pts)
        if len(pts) >= _VFR_SAMPLE:
            break
    pts.sort()
    return [b - a for a, b in itertools.pairwise(pts)]


def _demux_count(
    container: av.container.InputContainer, stream: av.VideoStream
) -> tuple[int, list[int]]:
    count = 0
    pts: list[int] = []
    for packet in container.demux(stream):
        if packet.size == 0:  # the flush packet PyAV yields at the end
            continue
        count += 1
        if packet.pts is not None and len(pts) < _VFR_SAMPLE:
            pts.append(packet.pts)
    pts.sort()
    return count, [b - a for a, b in itertools.pairwise(pts)]
