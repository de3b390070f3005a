"""Were the reference and a distorted input given the wrong way round?

`vmafx score` takes the reference first, as libvmaf does; ffmpeg-quality-metrics takes the
distorted first, so swapped inputs happen, and VMAF does not refuse them: it scores the pair
the other way round, silently wrong (65.9 instead of 50.5 for a CRF 38 encode). A reference is
normally the better-kept copy: when it carries far fewer bits per second than a distorted input
at least as small in pixels, the pair was most likely swapped, and the result gets a warning
(the score is kept; `--no-swap-check` leaves it out).

Only what probing already knows is used (sizes on disk, durations, frame sizes), so the check
costs nothing. Uncompressed and lossless inputs (raw YUV, Y4M, FFV1, ProRes…) say nothing about
quality by their size and are never compared.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from vmafx.core.media import VideoInfo
from vmafx.core.scores import ScoreResult

#: A reference below 1/RATIO of a distorted input's bit rate is suspicious.
RATIO = 2.0
#: Codecs and containers whose size says nothing about quality.
UNCOMPRESSED = frozenset(
    {
        "rawvideo", "wrapped_avframe", "yuv4", "v210", "v308", "v408", "v410", "r210",
        "ffv1", "huffyuv", "ffvhuff", "utvideo", "magicyuv", "png", "qtrle", "prores",
        "prores_ks", "dnxhd", "yuv4mpegpipe",
    }
)  # fmt: skip
SILENCE = "Pass --no-swap-check to silence this."


def bit_rate(info: VideoInfo, size_bytes: int) -> float | None:
    """Bits per second of the whole file, or None without a duration."""
    duration = info.duration_s
    if not duration and info.frame_count and info.fps:
        duration = float(info.frame_count / info.fps)
    if not duration or duration <= 0 or size_bytes <= 0:
        return None
    return size_bytes * 8 / duration


def _uncompressed(info: VideoInfo) -> bool:
    return info.codec in UNCOMPRESSED or info.container in UNCOMPRESSED


def swap_warning(
    reference: VideoInfo, reference_bytes: int, distorted: VideoInfo, distorted_bytes: int
) -> str | None:
    """The warning for a reference that looks like the distorted input of the pair, else None."""
    if _uncompressed(reference) or _uncompressed(distorted):
        return None
    if reference.width * reference.height > distorted.width * distorted.height:
        return None  # a downscaled rung may well carry more bits per second than its source
    ref_rate = bit_rate(reference, reference_bytes)
    dis_rate = bit_rate(distorted, distorted_bytes)
    if ref_rate is None or dis_rate is None or ref_rate * RATIO > dis_rate:
        return None
    return (
        f"the reference ({reference.path}, {format_rate(ref_rate)}) is smaller than the "
        f"distorted input {distorted.path} ({format_rate(dis_rate)}): did you swap them? "
        f"The reference comes first, as in libvmaf. {SILENCE}"
    )


def format_rate(bits_per_s: float) -> str:
    """`0.9 Mb/s`, `12 Mb/s`, `350 kb/s`."""
    if bits_per_s < 100_000:
        return f"{bits_per_s / 1000:.0f} kb/s"
    mbps = bits_per_s / 1_000_000
    return f"{mbps:.0f} Mb/s" if mbps >= 10 else f"{mbps:.1f} Mb/s"


def with_swap_warnings(
    results: Sequence[ScoreResult],
    reference: VideoInfo,
    distorted: Sequence[VideoInfo],
    size_of: Callable[[str], int],
) -> list[ScoreResult]:
    """`results` (one per distorted input, in order) with the swap warning added where due;
    `size_of(path)` gives a file's size in bytes (the one thing probing does not keep)."""
    checked = []
    reference_bytes = size_of(reference.path)
    for result, info in zip(results, distorted, strict=True):
        warning = swap_warning(reference, reference_bytes, info, size_of(info.path))
        if warning is None:
            checked.append(result)
        else:
            checked.append(dataclasses.replace(result, warnings=(*result.warnings, warning)))
    return checked
