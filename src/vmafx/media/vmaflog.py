"""Pure parsers: libvmaf's JSON log, and the facts ffmpeg's verbose stderr gives about a run."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from typing import Any

from vmafx.errors import ScoreLogError, UnknownFeatureError, UnknownModelError


@dataclasses.dataclass(frozen=True)
class VmafLog:
    """One libvmaf log: per-frame series by metric name, and libvmaf's own pooled figures."""

    version: str
    frame_nums: tuple[int, ...]
    frames: dict[str, list[float]]
    pooled: dict[str, dict[str, float]]


def parse_vmaf_log(text: str, *, where: str = "") -> VmafLog:
    """Parse libvmaf's `log_fmt=json` output. Malformed or empty logs are errors, never zeros."""
    label = f" for {where}" if where else ""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScoreLogError(
            f"libvmaf's log{label} is not valid JSON ({exc.msg} at line {exc.lineno}).",
            hint="The run was probably cut short; run it again.",
        ) from None
    raw_frames = data.get("frames") if isinstance(data, dict) else None
    if not isinstance(raw_frames, list) or not raw_frames:
        raise ScoreLogError(
            f"libvmaf's log{label} holds no scored frames.",
            hint="Check that both inputs decode to at least one frame.",
        )
    frames: dict[str, list[float]] = {}
    nums: list[int] = []
    for i, frame in enumerate(raw_frames):
        metrics = frame.get("metrics") if isinstance(frame, dict) else None
        if not isinstance(metrics, dict):
            raise ScoreLogError(f"libvmaf's log{label} has a malformed frame at position {i}.")
        nums.append(int(frame.get("frameNum", i)))
        for name, value in metrics.items():
            frames.setdefault(name, []).append(_number(value, name, nums[-1], label))
    lengths = {name: len(values) for name, values in frames.items()}
    if len(set(lengths.values())) > 1:
        raise ScoreLogError(
            f"libvmaf's log{label} has metrics with different frame counts: {lengths}."
        )
    pooled = data.get("pooled_metrics") or {}
    return VmafLog(
        version=str(data.get("version", "unknown")),
        frame_nums=tuple(nums),
        frames=frames,
        pooled={k: dict(v) for k, v in pooled.items() if isinstance(v, dict)},
    )


def _number(value: object, name: str, frame: int, label: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScoreLogError(f"libvmaf's log{label} has a non-number {name} at frame {frame}.")
    number = float(value)
    if math.isnan(number):
        raise ScoreLogError(f"libvmaf's log{label} has NaN for {name} at frame {frame}.")
    return number


_DECODED = re.compile(
    r"Input stream #(\d+):\d+ \(video\): \d+ packets read \(\d+ bytes\); (\d+) frames decoded"
)


def decoded_frame_counts(stderr: str) -> dict[int, int]:
    """Frames decoded per input index, from ffmpeg's `-v verbose` summary at exit."""
    return {int(m.group(1)): int(m.group(2)) for m in _DECODED.finditer(stderr)}


def raise_for_libvmaf_init(stderr: str) -> None:
    """Turn libvmaf's start-up complaints into precise errors (unknown model or feature)."""
    match = re.search(r"could not load libvmaf model with (version|path): (.+)", stderr)
    if match:
        kind, value = match.group(1), match.group(2).strip()
        if kind == "path":
            raise UnknownModelError(
                f"libvmaf could not load the model file {value}.",
                hint="Check the path and that it is a libvmaf model JSON file "
                "(the bootstrap models vmaf_b_* do not load in this build).",
            )
        raise UnknownModelError(
            f"libvmaf has no built-in model named {value!r}.",
            hint="Use vmaf_v0.6.1 (default), vmaf_v0.6.1neg, vmaf_4k_v0.6.1, "
            "vmaf_v1.0.16_3d0h, or give a model JSON file by path.",
        )
    match = re.search(r"problem during vmaf_use_feature: (\S+)", stderr)
    if match:
        raise UnknownFeatureError(
            f"This build of libvmaf has no feature extractor named {match.group(1)!r}.",
            hint="Use libvmaf feature names such as psnr, float_psnr, float_ssim, "
            "float_ms_ssim, ciede, cambi, psnr_hvs.",
        )
