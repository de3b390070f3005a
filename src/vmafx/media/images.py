"""Decode-only jobs as ffmpeg argv: a thumbnail at a timestamp, a filmstrip of N frames.

Pure builders (no process, no file): the node runs them through the `FfmpegRunner` port.
Sources go through `vmafx.media.urls` (a `file:` URL, protocol and format whitelists); the image
format follows the output's extension (`.jpg`/`.jpeg` or `.png`).
"""

from __future__ import annotations

from pathlib import PurePath

from vmafx.errors import UsageError
from vmafx.media.urls import output_url, source_url, whitelist_args

_IMAGE_ARGS = {
    ".jpg": ["-c:v", "mjpeg", "-q:v", "3", "-strict", "unofficial"],
    ".jpeg": ["-c:v", "mjpeg", "-q:v", "3", "-strict", "unofficial"],
    ".png": ["-c:v", "png"],
}
#: Tile width of a filmstrip whose job names none, unless the source is narrower.
DEFAULT_TILE_WIDTH = 320


def image_args(output: str) -> list[str]:
    """Encoder options for the image format `output`'s extension names."""
    suffix = PurePath(output).suffix.lower()
    try:
        return list(_IMAGE_ARGS[suffix])
    except KeyError:
        raise UsageError(
            f"output {output!r} must end in .jpg, .jpeg or .png (the image format).",
            hint="For example: /media/thumbs/master.jpg.",
        ) from None


def _head(ffmpeg: str, source: str) -> tuple[list[str], str]:
    url, whitelist = source_url(source)
    head = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-v", "error", "-y"]
    return [*head, *whitelist_args(whitelist)], url


def _tail(output: str) -> list[str]:
    return [*image_args(output), "-f", "image2", "-update", "1", output_url(output)]


def _scale(width: int | None) -> str | None:
    return None if width is None else f"scale={width}:-2:flags=bicubic"


def thumbnail_argv(
    ffmpeg: str, source: str, output: str, *, at_s: float = 0.0, width: int | None = None
) -> list[str]:
    """One frame of `source` at `at_s` seconds (seeking, not decoding from the start)."""
    if at_s < 0:
        raise UsageError(f"thumbnail time {at_s} must be 0 or more seconds.")
    argv, url = _head(ffmpeg, source)
    argv += ["-ss", f"{at_s:.3f}", "-i", url, "-map", "0:v:0", "-frames:v", "1"]
    scale = _scale(width)
    if scale:
        argv += ["-vf", scale]
    return argv + _tail(output)


def filmstrip_step(frame_count: int, count: int) -> int:
    """Every how many frames a filmstrip of `count` tiles takes one."""
    return max(1, frame_count // max(1, count))


def filmstrip_argv(
    ffmpeg: str, source: str, output: str, *, count: int, frame_count: int, width: int
) -> list[str]:
    """`count` frames spread evenly over `source`, each `width` wide, side by side in one image
    (a source with fewer frames leaves the last tiles black). Reports `-progress` on stdout."""
    if count < 1 or width < 16:
        raise UsageError(f"a filmstrip needs at least 1 tile 16 px wide (got {count}, {width}).")
    step = filmstrip_step(frame_count, count)
    chain = f"select=not(mod(n\\,{step})),{_scale(width)},tile={count}x1"
    argv, url = _head(ffmpeg, source)
    argv += ["-progress", "pipe:1", "-stats_period", "0.5"]
    argv += ["-i", url, "-map", "0:v:0", "-vf", chain, "-frames:v", "1"]
    return argv + _tail(output)
