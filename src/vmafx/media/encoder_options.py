"""Per-encoder option tables: presets, rate control and pixel formats, turned into ffmpeg options.

Pure functions over validated values; every option vmafx writes comes from here, never from a
user's raw argv. Values follow these rules, so that a job that falls back from hardware to
software means the same thing on both:

- **Presets** are one of the x264 names (`ultrafast` … `placebo`), which every family maps onto
  its own scale (`medium` → NVENC `p4`, SVT-AV1 `8`, libaom `cpu-used=4`, AMF `balanced`), or a
  family's native name: NVENC `p1`–`p7`, AMF `speed|balanced|quality`, and a number on the
  software scale of the codec (AV1: SVT-AV1's 0–13; VP9: libvpx's cpu-used 0–8). VA-API has no
  portable speed knob: a preset is validated and the driver default is used.
- **Rate control** `crf` and `cq` both mean constant quality; `qp` a fixed quantiser; `bitrate`
  an average in kbit/s. For AV1 and VP9 every quality value is on the 0–63 scale of
  libaom/SVT-AV1/libvpx; encoders whose native scale is the 0–255 q-index get the value × 4.
- **Pixel formats** are named as software formats (`yuv420p`, `yuv420p10le`, …; `nv12` and
  `p010le` are accepted as their 4:2:0 equivalents) and translated to what hardware takes.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable

from vmafx.errors import UsageError

#: The x264 preset ladder, fastest first: the common language of presets.
LEVELS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast",
    "medium", "slow", "slower", "veryslow", "placebo",
)  # fmt: skip

_QSV_LADDER = (
    "veryfast", "veryfast", "veryfast", "faster", "fast",
    "medium", "slow", "slower", "veryslow", "veryslow",
)  # fmt: skip
_AMF_LADDER = (
    "speed", "speed", "speed", "speed", "balanced",
    "balanced", "quality", "quality", "quality", "quality",
)  # fmt: skip
#: Each family's native preset for each level of LEVELS (None: the family has no preset).
_BY_LEVEL: dict[str, tuple[str, ...] | None] = {
    "x264": LEVELS,
    "x265": LEVELS,
    "svtav1": ("13", "12", "11", "10", "9", "8", "6", "4", "2", "0"),
    "aom": ("8", "8", "7", "6", "5", "4", "3", "2", "1", "0"),
    "vpx": ("8", "6", "5", "4", "3", "2", "1", "1", "0", "0"),
    "nvenc": ("p1", "p1", "p1", "p2", "p2", "p4", "p5", "p6", "p7", "p7"),
    "qsv": _QSV_LADDER,
    "amf": _AMF_LADDER,
    "vaapi": None,
}
#: The option each family's preset is written with.
_PRESET_OPTION = {"aom": "-cpu-used", "vpx": "-cpu-used", "amf": "-quality"}
#: Native names of one family, read as a level when another family runs the job.
_NATIVE_LEVEL = {
    **{f"p{n}": level for n, level in zip(range(1, 8), (2, 3, 4, 5, 6, 7, 8), strict=True)},
    "speed": 2,
    "balanced": 5,
    "quality": 6,
}
#: The software scale a numeric preset is read on, per codec.
_NUMERIC_SCALE = {"av1": ("svtav1", 13), "vp9": ("vpx", 8)}

RATE_MODES = ("crf", "cq", "qp", "bitrate")
#: Bitrates vmafx accepts, in kbit/s.
MIN_KBPS, MAX_KBPS = 16, 1_000_000


@dataclasses.dataclass(frozen=True, slots=True)
class RateControl:
    """How the encoder spends bits: `mode` crf|cq|qp|bitrate and its value (kbit/s for bitrate)."""

    mode: str
    value: float

    def __post_init__(self) -> None:
        if self.mode not in RATE_MODES:
            raise UsageError(
                f"rate control mode {self.mode!r} is not one vmafx knows.",
                hint=f"Use one of: {', '.join(RATE_MODES)}.",
            )
        if isinstance(self.value, bool) or not math.isfinite(self.value) or self.value < 0:
            raise UsageError(
                f"rate control value {self.value!r} must be a finite number of 0 or more."
            )


def _level_of(preset: str, codec: str) -> int:
    if preset in LEVELS:
        return LEVELS.index(preset)
    if preset in _NATIVE_LEVEL:
        return _NATIVE_LEVEL[preset]
    if re.fullmatch(r"\d{1,2}", preset) and codec in _NUMERIC_SCALE:
        family, top = _NUMERIC_SCALE[codec]
        number = int(preset)
        if number > top:
            raise UsageError(
                f"preset {preset!r} is outside the {codec} numeric preset range 0–{top}.",
                hint=f"Use 0 (slowest) to {top} (fastest), or a name such as 'medium'.",
            )
        scale = [int(value) for value in _BY_LEVEL[family] or ()]
        return min(range(len(scale)), key=lambda level: (abs(scale[level] - number), -level))
    numeric = " or a number on the SVT-AV1/libvpx scale" if codec in _NUMERIC_SCALE else ""
    raise UsageError(
        f"preset {preset!r} is not one vmafx knows for {codec}.",
        hint=f"Use one of {', '.join(LEVELS)}; NVENC p1–p7; AMF speed|balanced|quality{numeric}.",
    )


def preset_args(family: str, codec: str, preset: str | None) -> list[str]:
    """The options that set `preset` on an encoder of `family` (empty for the default)."""
    if preset is None:
        return []
    ladder = _BY_LEVEL[family]
    if ladder is None:
        _level_of(preset, codec)  # validated, then left to the driver
        return []
    level = _level_of(preset, codec)  # validates every form, numeric ranges included
    numeric_native = preset.isdigit() and family == _NUMERIC_SCALE.get(codec, ("", 0))[0]
    native = numeric_native or (preset in ladder and not preset.isdigit())
    value = preset if native else ladder[level]
    return [_PRESET_OPTION.get(family, "-preset"), value]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _check(
    encoder: str, rate: RateControl, low: float, high: float, *, integer: bool = True
) -> str:
    """The value as an option string, or UsageError naming the encoder's range."""
    value = rate.value
    if integer and not float(value).is_integer():
        raise UsageError(
            f"{encoder} takes a whole-number {rate.mode}, got {_number(value)}.",
            hint=f"Use an integer from {_number(low)} to {_number(high)}.",
        )
    if not low <= value <= high:
        raise UsageError(
            f"{rate.mode} {_number(value)} is outside the range {encoder} accepts "
            f"({_number(low)}–{_number(high)}).",
            hint=f"Use a value from {_number(low)} to {_number(high)}.",
        )
    return _number(value)


def _bitrate(encoder: str, rate: RateControl) -> int:
    return int(_check(encoder, rate, MIN_KBPS, MAX_KBPS))


def _qindex(codec: str, value: str) -> str:
    """AV1/VP9 quality on the 0–63 scale → the 0–255 q-index some hardware takes."""
    return str(min(255, int(value) * 4)) if codec in ("av1", "vp9") else value


def rate_args(family: str, codec: str, encoder: str, rate: RateControl | None) -> list[str]:
    """The options that set rate control on `encoder` (empty: the encoder's default)."""
    if rate is None:
        return []
    if rate.mode == "bitrate":
        kbps = _bitrate(encoder, rate)
        return _BITRATE[family](kbps)
    return _QUALITY[family](codec, encoder, rate)


def _software(codec: str, encoder: str, rate: RateControl) -> list[str]:
    if codec in ("h264", "hevc"):
        fractional = rate.mode != "qp"
        value = _check(encoder, rate, 0, 51, integer=not fractional)
        return ["-qp" if rate.mode == "qp" else "-crf", value]
    low = 1 if encoder == "libsvtav1" else 0
    value = _check(encoder, rate, low, 63)
    if encoder == "libsvtav1":
        return ["-qp" if rate.mode == "qp" else "-crf", value]
    fixed = ["-qmin", value, "-qmax", value] if rate.mode == "qp" else []
    return ["-crf", value, "-b:v", "0", *fixed]


def _nvenc(codec: str, encoder: str, rate: RateControl) -> list[str]:
    top = 63 if codec == "av1" else 51
    if rate.mode == "qp":
        return ["-rc", "constqp", "-qp", _qindex(codec, _check(encoder, rate, 0, top))]
    return ["-rc", "vbr", "-cq", _check(encoder, rate, 1, top, integer=False), "-b:v", "0"]


def _qsv(codec: str, encoder: str, rate: RateControl) -> list[str]:
    if rate.mode == "qp":
        top = 63 if codec in ("av1", "vp9") else 51
        value = _qindex(codec, _check(encoder, rate, 1, top))
        factors = ["-i_qfactor", "1.0", "-i_qoffset", "0", "-b_qfactor", "1.0", "-b_qoffset", "0"]
        return ["-q:v", value, *factors]
    return ["-global_quality", _check(encoder, rate, 1, 51)]


def _amf(codec: str, encoder: str, rate: RateControl) -> list[str]:
    top = 63 if codec == "av1" else 51
    value = _qindex(codec, _check(encoder, rate, 0, top))
    frames = ["-qp_i", value, "-qp_p", value]
    if codec != "hevc":
        frames += ["-qp_b", value]
    return ["-rc", "cqp", *frames]


def _vaapi(codec: str, encoder: str, rate: RateControl) -> list[str]:
    if codec in ("h264", "hevc"):
        return ["-rc_mode", "CQP", "-qp", _check(encoder, rate, 1, 51)]
    return ["-rc_mode", "CQP", "-global_quality", _qindex(codec, _check(encoder, rate, 1, 63))]


def _kbps(value: int) -> str:
    return f"{value}k"


def _average(kbps: int) -> list[str]:
    return ["-b:v", _kbps(kbps)]


def _peak_limited(kbps: int) -> list[str]:
    return ["-b:v", _kbps(kbps), "-maxrate", _kbps(2 * kbps)]


_QUALITY = {
    "x264": _software,
    "x265": _software,
    "svtav1": _software,
    "aom": _software,
    "vpx": _software,
    "nvenc": _nvenc,
    "qsv": _qsv,
    "amf": _amf,
    "vaapi": _vaapi,
}


def _nvenc_vbr(kbps: int) -> list[str]:
    return ["-rc", "vbr", *_average(kbps)]


def _amf_vbr(kbps: int) -> list[str]:
    return ["-rc", "vbr_peak", *_peak_limited(kbps)]


def _vaapi_vbr(kbps: int) -> list[str]:
    return ["-rc_mode", "VBR", *_peak_limited(kbps)]


_BITRATE: dict[str, Callable[[int], list[str]]] = {
    **dict.fromkeys(("x264", "x265", "svtav1", "aom", "vpx"), _average),
    "nvenc": _nvenc_vbr,
    "qsv": _peak_limited,
    "amf": _amf_vbr,
    "vaapi": _vaapi_vbr,
}

#: Other names accepted for the software formats vmafx speaks.
PIX_FMT_ALIASES = {"nv12": "yuv420p", "p010le": "yuv420p10le", "p010": "yuv420p10le"}
_SW_8_10 = tuple(f"yuv{c}p{d}" for c in ("420", "422", "444") for d in ("", "10le"))
_SW_12 = (*_SW_8_10, "yuv420p12le", "yuv422p12le", "yuv444p12le")
#: Software formats each family encodes, and for hardware what it is handed instead.
_PIX_FMTS: dict[str, dict[str, str]] = {
    "x264": {fmt: fmt for fmt in _SW_8_10},
    "x265": {fmt: fmt for fmt in _SW_12},
    "svtav1": {"yuv420p": "yuv420p", "yuv420p10le": "yuv420p10le"},
    "aom": {fmt: fmt for fmt in _SW_12},
    "vpx": {fmt: fmt for fmt in _SW_12},
    "nvenc": {"yuv420p": "yuv420p", "yuv420p10le": "p010le", "yuv444p": "yuv444p"},
    "qsv": {"yuv420p": "nv12", "yuv420p10le": "p010le"},
    "amf": {"yuv420p": "nv12", "yuv420p10le": "p010le"},
    "vaapi": {"yuv420p": "nv12", "yuv420p10le": "p010le"},
}
_HARDWARE = ("nvenc", "qsv", "amf", "vaapi")


def canonical_pix_fmt(pix_fmt: str) -> str:
    return PIX_FMT_ALIASES.get(pix_fmt, pix_fmt)


def encoder_pix_fmt(family: str, codec: str, encoder: str, pix_fmt: str | None) -> str | None:
    """The format handed to the encoder (or uploaded for QSV/VA-API); None keeps the source's.

    Hardware defaults to 8-bit 4:2:0; H.264 hardware encodes 8-bit only.
    """
    if pix_fmt is None:
        return _PIX_FMTS[family]["yuv420p"] if family in _HARDWARE else None
    wanted = canonical_pix_fmt(pix_fmt)
    table = _PIX_FMTS[family]
    if family in _HARDWARE and codec == "h264" and family != "nvenc":
        table = {"yuv420p": table["yuv420p"]}
    if wanted not in table:
        raise UsageError(
            f"{encoder} cannot encode the pixel format {pix_fmt!r}.",
            hint=f"Use one of: {', '.join(sorted(table))}.",
        )
    return table[wanted]
