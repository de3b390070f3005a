"""Media values: raw video formats and what probing learns about an input."""

from __future__ import annotations

import dataclasses
import re
from fractions import Fraction

from vmafx.errors import RawVideoError

#: Raw YUV layouts vmafx reads: (chroma width divisor, chroma height divisor) per family.
_CHROMA = {"yuv420p": (2, 2), "yuv422p": (2, 1), "yuv444p": (1, 1)}
_DEPTHS = {"": 8, "10le": 10, "12le": 12, "16le": 16}

RAW_PIX_FMTS: tuple[str, ...] = tuple(family + suffix for family in _CHROMA for suffix in _DEPTHS)


def bit_depth_of(pix_fmt: str) -> int:
    """Bits per sample of a pixel format name such as `yuv420p10le` (8 when it names none)."""
    match = re.search(r"(?:p|gray)(9|1[0-6])(le|be)?$", pix_fmt)
    return int(match.group(1)) if match else 8


@dataclasses.dataclass(frozen=True)
class RawFormat:
    """How to read a headerless YUV file: ffmpeg needs all of this before `-i`."""

    width: int
    height: int
    pix_fmt: str = "yuv420p"
    fps: Fraction = Fraction(24)

    def __post_init__(self) -> None:
        if self.pix_fmt not in RAW_PIX_FMTS:
            raise RawVideoError(
                f"The raw pixel format {self.pix_fmt!r} is not one vmafx reads.",
                hint=f"Use one of: {', '.join(RAW_PIX_FMTS)}.",
            )
        if self.width <= 0 or self.height <= 0:
            raise RawVideoError(
                f"The raw video size {self.width}x{self.height} is not a valid size.",
                hint="Give --width and --height as positive numbers of pixels.",
            )
        if self.fps <= 0:
            raise RawVideoError(
                f"The raw frame rate {self.fps} is not positive.",
                hint="Give --fps, e.g. 24 or 30000/1001.",
            )

    @property
    def bit_depth(self) -> int:
        return _DEPTHS[self.pix_fmt[7:]]

    @property
    def frame_bytes(self) -> int:
        """Bytes of one planar frame: Y plane plus two chroma planes, no padding."""
        cw_div, ch_div = _CHROMA[self.pix_fmt[:7]]
        chroma = -(-self.width // cw_div) * -(-self.height // ch_div)
        samples = self.width * self.height + 2 * chroma
        return samples * (1 if self.bit_depth == 8 else 2)

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


def parse_fps(text: str) -> Fraction:
    """`24`, `23.976`, `30000/1001` → a Fraction; a clear error otherwise."""
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise RawVideoError(
            f"The frame rate {text!r} is not a number.", hint="Write it as 24, 29.97 or 30000/1001."
        ) from None
    if value <= 0:
        raise RawVideoError(
            f"The frame rate {text!r} is not positive.", hint="Use e.g. 24 or 30000/1001."
        )
    return value


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """What probing learned about one input (container or raw YUV)."""

    path: str
    width: int
    height: int
    pix_fmt: str
    bit_depth: int
    fps: Fraction
    variable_frame_rate: bool
    frame_count: int | None
    duration_s: float | None
    codec: str
    container: str

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"
