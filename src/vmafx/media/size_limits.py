"""The smallest frames each libvmaf extractor handles, measured on the bundled ffmpeg 9 / libvmaf.

Below these sizes libvmaf does not refuse cleanly: an extractor silently writes nothing (cambi,
float_ms_ssim; with cambi, extractors listed after it vanish too), or ffmpeg dies of SIGSEGV or
SIGABRT. So vmafx checks the size before it runs. Every number here was found by bisecting with
the bundled ffmpeg on `testsrc2` frames scaled to the exact size (testsrc2 itself rounds odd
sizes down), in yuv420p, yuv422p, yuv444p and 10-bit (docs/features.md):

- the VMAF features themselves (adm, vif, motion; every run has them): at least 17x17, in every
  pixel format; 16 pixels in either dimension crash ffmpeg with SIGSEGV;
- `float_ms_ssim`: at least 176x176 (its 5-scale pyramid), in every pixel format;
- `cambi`: a width or a height of at least 216, and, on wide and short frames, a height of at
  least 16 x (half its window) - 15, where its window is (65 x (width + height) / 375) / 16 made
  odd (1920 wide: 161); shorter frames abort (SIGABRT), crash or drop the score;
- `speed_temporal`: at least 80x80; `speed_chroma`: chroma planes of at least 80x80;
- the `vmaf_v1.0.16*` models compute cambi, speed_chroma and speed_temporal themselves.

Pure: sizes in, the first unmet requirement (as a sentence) out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from vmafx.errors import InputTooSmallError, MetricUnavailableError

#: The name the VMAF features (adm, vif, motion) are checked under: every run computes them.
VMAF_FEATURES = "vmaf"


@dataclasses.dataclass(frozen=True)
class Frame:
    """The frame libvmaf sees: the reference's size (distorted inputs are scaled to it)."""

    width: int
    height: int
    pix_fmt: str

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def subsampling(self) -> tuple[int, int]:
        """Chroma divisors (horizontal, vertical); an unknown layout counts as 4:2:0."""
        name = self.pix_fmt.lower()
        if "444" in name or name.startswith(("gbr", "rgb", "bgr", "nv24", "nv42")):
            return (1, 1)
        if "422" in name or name.startswith(("nv16", "nv20", "yuyv", "uyvy")):
            return (2, 1)
        if "440" in name:
            return (1, 2)
        return (2, 2)


def _vmaf(frame: Frame) -> str | None:
    if frame.width < 17 or frame.height < 17:
        return "libvmaf needs frames of at least 17x17 (smaller ones crash it)"
    return None


def _ms_ssim(frame: Frame) -> str | None:
    if frame.width < 176 or frame.height < 176:
        return "float_ms_ssim needs at least 176x176 (its 5-scale pyramid)"
    return None


def cambi_window(width: int, height: int) -> int:
    """cambi's window at this size: 65 at 4K, scaled with width + height, always odd."""
    window = (65 * (width + height) // 375) >> 4
    return window + 1 - (window & 1)


def cambi_min_height(width: int, height: int) -> int:
    """The least height cambi survives at this width (its window grows with the frame)."""
    return 16 * (cambi_window(width, height) // 2) - 15


def _cambi(frame: Frame) -> str | None:
    if frame.width < 216 and frame.height < 216:
        return "cambi needs a width or a height of at least 216"
    least = cambi_min_height(frame.width, frame.height)
    if frame.height < least:
        return (
            f"cambi needs a height of at least {least} at a width of {frame.width} "
            "(shorter frames crash libvmaf)"
        )
    return None


def _speed_temporal(frame: Frame) -> str | None:
    if frame.width < 80 or frame.height < 80:
        return "speed_temporal needs at least 80x80"
    return None


def _speed_chroma(frame: Frame) -> str | None:
    sub_w, sub_h = frame.subsampling
    if frame.width // sub_w < 80 or frame.height // sub_h < 80:
        least = f"{80 * sub_w}x{80 * sub_h}"
        return f"speed_chroma needs chroma planes of at least 80x80 ({least} for {frame.pix_fmt})"
    return None


_CHECKS: dict[str, tuple[Callable[[Frame], str | None], ...]] = {
    VMAF_FEATURES: (_vmaf,),
    "float_ms_ssim": (_ms_ssim,),
    "cambi": (_cambi,),
    "speed_temporal": (_speed_temporal,),
    "speed_chroma": (_speed_chroma,),
}

#: Built-in models (by name prefix) that run size-limited extractors of their own.
_MODEL_NEEDS: dict[str, tuple[str, ...]] = {
    "vmaf_v1.0.16": ("cambi", "speed_chroma", "speed_temporal"),
}


def feature_base(feature: str) -> str:
    """A feature as the user gave it (`cambi` or `cambi:window_size=...`) → its libvmaf name."""
    return feature.split(":", 1)[0].strip()


def unmet(name: str, frame: Frame) -> str | None:
    """Why libvmaf cannot compute feature `name` on `frame` (None: it can, as far as known)."""
    for check in _CHECKS.get(feature_base(name), ()):
        reason = check(frame)
        if reason is not None:
            return reason
    return None


def model_needs(model: str) -> tuple[str, ...]:
    """The size-limited extractors a built-in model runs by itself."""
    for prefix, needs in _MODEL_NEEDS.items():
        if model.startswith(prefix):
            return needs
    return ()


def unusual(frame: Frame) -> bool:
    """Small, odd-sized or very wide/tall frames: where libvmaf's crashes have been seen."""
    short, long = sorted((frame.width, frame.height))
    return short < 216 or frame.width % 2 == 1 or frame.height % 2 == 1 or long > 4 * short


def refuse_unscorable(
    frame: Frame, reference: str, models: Sequence[str], features: Sequence[str]
) -> None:
    """Raise before running when libvmaf cannot score `frame` with these models and features.

    `models` are the libvmaf model specs (built-in names or paths), `features` the extractor
    names the user asked for; the VMAF features (adm, vif, motion) are always checked.
    """
    where = f"the reference {reference} is {frame.size} (distorted inputs are compared at its size)"
    reason = unmet(VMAF_FEATURES, frame)
    if reason is not None:
        raise InputTooSmallError(
            f"{reason}; {where}.",
            path=reference,
            size=frame.size,
            hint="Score an input of at least 17x17; no metric can be computed on smaller frames.",
        )
    for model in models:
        for need in model_needs(model):
            reason = unmet(need, frame)
            if reason is not None:
                raise MetricUnavailableError(
                    f"The model {model} runs {need}, and {reason}; {where}.",
                    metric=model,
                    path=reference,
                    size=frame.size,
                    hint="Use the model vmaf_v0.6.1 (the default), or score a larger input.",
                )
    for feature in features:
        reason = unmet(feature, frame)
        if reason is not None:
            raise MetricUnavailableError(
                f"{reason}; {where}.",
                metric=feature,
                path=reference,
                size=frame.size,
                hint=f"Drop {feature_base(feature)} from the metrics you asked for, "
                "or score a larger input.",
            )
