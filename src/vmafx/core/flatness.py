"""Flat content: frames where VMAF's score says nothing (black vs white scores 97.4).

libvmaf's ADM compares the detail (wavelet bands) of the two frames and divides by the
reference's detail energy. When the reference has none (a flat, single-colour frame) the
denominator falls under libvmaf's own floor and it reports exactly 1.0 on every ADM scale,
whatever the distorted frame holds; VIF behaves alike. VMAF then scores the pair ~97.4, the
ceiling for still content, so black vs white looks near perfect. The score is libvmaf's and is
kept; vmafx only says so.

A frame counts as flat when all four ADM scales are exactly 1.0 while the frames do differ
(mse_y > 0; without the feature vector's mse_y: aim > 0 or a VIF scale below 1). Identical
frames also give 1.0 everywhere, but then a high score is right. Measured on the bundled
libvmaf: a brightness-shifted textured frame gives 1.00002, a gradient 0.99-0.72, a faint noise
on black 0.93; only a reference without any detail gives exactly 1.0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

ADM_SCALES: tuple[str, ...] = tuple(f"integer_adm_scale{i}" for i in range(4))
VIF_SCALES: tuple[str, ...] = tuple(f"integer_vif_scale{i}" for i in range(4))
#: Share of scored frames at or above which the warning is given (a fade to black does not).
WARN_SHARE = 0.1
_ONE = 1e-6


def flat_reference_frames(frames: Mapping[str, Sequence[float]]) -> int | None:
    """How many frames have a flat reference and a different distorted frame (None: unknown,
    the log lacks the ADM scales)."""
    scales = [frames.get(name) for name in ADM_SCALES]
    if any(not series for series in scales):
        return None
    mse = frames.get("mse_y")
    aim = frames.get("integer_aim")
    vif = [s for s in (frames.get(name) for name in VIF_SCALES) if s]
    count = 0
    for i in range(min(len(s) for s in scales if s)):
        if not all(abs(s[i] - 1.0) <= _ONE for s in scales if s):
            continue
        if mse:
            differs = mse[i] > 0.0
        else:
            differs = bool(aim and aim[i] > 0.0) or any(s[i] < 1.0 - _ONE for s in vif)
        count += differs
    return count


def flat_content_warning(frames: Mapping[str, Sequence[float]]) -> str | None:
    """The warning to attach to a result whose reference is flat in many frames, else None."""
    flat = flat_reference_frames(frames)
    total = len(frames.get(ADM_SCALES[0]) or ())
    if not flat or not total or flat / total < WARN_SHARE:
        return None
    return (
        f"The reference is flat (no detail for VMAF to compare) in {flat} of {total} scored "
        "frames while the distorted input differs there: VMAF is unreliable on flat content "
        "(black vs white scores 97.4). Judge these frames by PSNR (psnr_y) or by eye."
    )
