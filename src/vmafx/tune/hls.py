"""An HLS master playlist over the rung renditions. Pure.

Each rendition is a media playlist made by ffmpeg's hls muxer (fMP4 segments). BANDWIDTH is the
peak segment bitrate and AVERAGE-BANDWIDTH the whole encode's (RFC 8216 §4.3.4.2). CODECS is
left out: vmafx does not derive RFC 6381 codec strings, and players then probe the segments.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence


@dataclasses.dataclass(frozen=True)
class Rendition:
    uri: str
    width: int
    height: int
    average_bps: int
    peak_bps: int


def master_playlist(renditions: Sequence[Rendition]) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for r in sorted(renditions, key=lambda r: r.average_bps):
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={max(r.peak_bps, r.average_bps)},"
            f"AVERAGE-BANDWIDTH={r.average_bps},RESOLUTION={r.width}x{r.height}"
        )
        lines.append(r.uri)
    return "\n".join(lines) + "\n"


def segment_durations(media_playlist: str) -> list[tuple[str, float]]:
    """(segment URI, seconds) for each segment of a media playlist."""
    out: list[tuple[str, float]] = []
    duration: float | None = None
    for line in media_playlist.splitlines():
        match = re.match(r"#EXTINF:([\d.]+)", line)
        if match:
            duration = float(match.group(1))
        elif line and not line.startswith("#") and duration is not None:
            out.append((line.strip(), duration))
            duration = None
    return out
