"""Pure parsers of the per-frame stats files ffmpeg's own `psnr` and `ssim` filters write.

    psnr: n:1 mse_avg:8.49 mse_y:8.90 mse_u:7.81 mse_v:7.51 psnr_avg:38.84 psnr_y:38.64 ...
    ssim: n:1 Y:0.980763 U:0.986530 V:0.994107 All:0.983948 (17.944819)

Each becomes per-frame series under the keys of the metric vocabulary (`vmafx.core.metrics`):
`psnr_avg`, `psnr_y`, `psnr_u`, `psnr_v` and `ssim_all`, `ssim_y`, `ssim_u`, `ssim_v`, in frame
order. ffmpeg prints `inf` for the PSNR of identical frames; that is kept as `PSNR_IDENTICAL` dB
(a finite figure JSON can carry, far above any real encode), as libvmaf caps its own PSNR.
A malformed or empty file is an error, never a zero.
"""

from __future__ import annotations

import math
import re

from vmafx.errors import ScoreLogError

#: The PSNR reported for identical frames (ffmpeg prints `inf`).
PSNR_IDENTICAL = 100.0

_PAIR = re.compile(r"(\w+):(\S+)")
_SSIM_KEYS = {"All": "ssim_all", "Y": "ssim_y", "U": "ssim_u", "V": "ssim_v"}
_PSNR_KEYS = {key: key for key in ("psnr_avg", "psnr_y", "psnr_u", "psnr_v")}


def parse_filter_stats(name: str, text: str, *, where: str = "") -> dict[str, list[float]]:
    """The per-frame series in one `psnr` or `ssim` stats file (keys in the vocabulary's order)."""
    label = f" for {where}" if where else ""
    frames: dict[str, list[float]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        pairs = dict(_PAIR.findall(line))
        wanted = _PSNR_KEYS if name == "psnr" else _SSIM_KEYS
        if not set(wanted) <= set(pairs):
            raise ScoreLogError(
                f"ffmpeg's {name} stats{label} are malformed at line {number}: {line[:80]!r}.",
                hint="The run was probably cut short; run it again.",
            )
        for raw, key in wanted.items():
            frames.setdefault(key, []).append(_value(pairs[raw], name, key, number, label))
    if not frames:
        raise ScoreLogError(
            f"ffmpeg's {name} filter wrote no frames{label}.",
            hint="Check that both inputs decode to at least one frame.",
        )
    return frames


def _value(text: str, name: str, key: str, line: int, label: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if math.isinf(value) and value > 0 and name == "psnr":
        return PSNR_IDENTICAL
    if not math.isfinite(value):
        raise ScoreLogError(
            f"ffmpeg's {name} stats{label} have {text!r} for {key} at line {line}.",
            hint="Run it again; report a bug with both inputs if it repeats.",
        )
    return value
