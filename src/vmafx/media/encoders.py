"""Encode jobs as ffmpeg argv: pure builders, and which encoders to try in which order.

Nothing here starts a process or touches a file. `encode_argv` turns a validated `EncodeSpec`
and one encoder name into the full command (with `-progress pipe:1` so the runner reports
progress); `trial_argv` is the one-frame encode the node runs to prove an encoder works;
`choose_encoders` orders the candidates: hardware first when asked for and verified, then
software unless hardware is required.

Hardware paths (NVENC, QSV over VA-API, AMF, VA-API) are built and unit-tested as argv only:
they are never run on real hardware here. Options come from the validated fields through
`vmafx.media.encoder_options`, never from raw argv; inputs and outputs go through
`vmafx.media.urls` (a `file:` URL, protocol and format whitelists).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Set

from vmafx.core import specs
from vmafx.core.remote import is_object_url, protocols_for
from vmafx.core.specs import CODECS
from vmafx.errors import UsageError
from vmafx.media.encoder_options import (
    PIX_FMT_ALIASES,
    RateControl,
    canonical_pix_fmt,
    encoder_pix_fmt,
    preset_args,
    rate_args,
)
from vmafx.media.urls import output_url, source_url, whitelist_args

HW_POLICIES = ("prefer", "require", "never")
AUDIO_MODES = ("copy", "none", "aac")
HARDWARE_FAMILIES = ("nvenc", "qsv", "amf", "vaapi")
DEFAULT_RENDER_DEVICE = "/dev/dri/renderD128"
#: The trial frame: NVENC refuses very small frames, 256x256 is safe for every encoder.
TRIAL_SIZE = 256
_KNOWN_PIX_FMTS = frozenset(
    {f"yuv{c}p{d}" for c in ("420", "422", "444") for d in ("", "10le", "12le")}
    | set(PIX_FMT_ALIASES)
)


@dataclasses.dataclass(frozen=True, slots=True)
class EncoderInfo:
    """One encoder vmafx knows: its ffmpeg name, the codec it makes and its option family."""

    name: str
    codec: str
    family: str

    @property
    def hardware(self) -> bool:
        return self.family in HARDWARE_FAMILIES


_SOFTWARE = {
    "h264": ("libx264",),
    "hevc": ("libx265",),
    "av1": ("libsvtav1", "libaom-av1"),
    "vp9": ("libvpx-vp9",),
}
_SOFTWARE_FAMILY = {
    "libx264": "x264",
    "libx265": "x265",
    "libsvtav1": "svtav1",
    "libaom-av1": "aom",
    "libvpx-vp9": "vpx",
}
_HARDWARE_CODECS = {
    "nvenc": ("h264", "hevc", "av1"),
    "qsv": ("h264", "hevc", "av1", "vp9"),
    "amf": ("h264", "hevc", "av1"),
    "vaapi": ("h264", "hevc", "av1", "vp9"),
}
#: Every encoder vmafx can drive, software first, hardware in the order it is preferred.
ENCODERS: dict[str, EncoderInfo] = {
    **{
        name: EncoderInfo(name, codec, _SOFTWARE_FAMILY[name])
        for codec, names in _SOFTWARE.items()
        for name in names
    },
    **{
        f"{codec}_{family}": EncoderInfo(f"{codec}_{family}", codec, family)
        for family in HARDWARE_FAMILIES
        for codec in _HARDWARE_CODECS[family]
    },
}


def encoder_info(name: str) -> EncoderInfo:
    try:
        return ENCODERS[name]
    except KeyError:
        raise UsageError(
            f"encoder {name!r} is not one vmafx can drive.",
            hint=f"Use one of: {', '.join(ENCODERS)}.",
        ) from None


@dataclasses.dataclass(frozen=True, slots=True)
class HwDevices:
    """Which device hardware encoders use on this node (a node setting, not a job field)."""

    render_device: str = DEFAULT_RENDER_DEVICE
    #: The CUDA ordinal NVENC opens (`-gpu`); None lets the driver choose.
    cuda_device: int | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"/dev/dri/(renderD|card)\d{1,3}", self.render_device):
            raise UsageError(
                f"render device {self.render_device!r} is not a DRM device path.",
                hint=f"Use a path such as {DEFAULT_RENDER_DEVICE}.",
            )
        if self.cuda_device is not None and not 0 <= self.cuda_device < 64:
            raise UsageError(f"CUDA device {self.cuda_device} must be in 0–63.")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EncodeSpec:
    """An encode job's validated values: what to read, make and write, and how.

    `hw` is prefer|require|never; `encoder` pins one encoder; `rate_control.value` is in kbit/s
    for `bitrate`; a missing `width` or `height` keeps the aspect ratio; `trim_*` are seconds.
    """

    source: str
    output: str
    codec: str
    hw: str = "prefer"
    encoder: str | None = None
    rate_control: RateControl | None = None
    preset: str | None = None
    width: int | None = None
    height: int | None = None
    trim_start_s: float = 0.0
    trim_duration_s: float | None = None
    pix_fmt: str | None = None
    audio: str = "copy"
    #: For a `source` in object storage: the URL signed for this claim that ffmpeg opens (a
    #: bearer credential: never in repr, messages or results, which name `source`).
    source_signed: str | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self) -> None:
        _choice("codec", self.codec, CODECS)
        _choice("hw", self.hw, HW_POLICIES)
        _choice("audio", self.audio, AUDIO_MODES)
        if self.source_signed is not None:
            protocols_for(self.source_signed)
        elif not is_object_url(self.source):  # an object is signed by the controller per claim
            source_url(self.source)
        if not is_object_url(self.output):  # written to scratch, then uploaded by the node
            output_url(self.output)
        if self.preset is not None and not re.fullmatch(r"[a-z0-9_]{1,16}", self.preset):
            raise UsageError(f"preset {self.preset!r} is not a preset name.")
        if self.pix_fmt is not None and self.pix_fmt not in _KNOWN_PIX_FMTS:
            raise UsageError(
                f"pixel format {self.pix_fmt!r} is not one vmafx encodes.",
                hint=f"Use one of: {', '.join(sorted(_KNOWN_PIX_FMTS))}.",
            )
        _check_size(self)
        _check_trim(self.trim_start_s, self.trim_duration_s)
        if self.encoder is not None:
            _check_pinned(self, encoder_info(self.encoder))
        else:
            _check_some_encoder_fits(self)

    @classmethod
    def from_job_spec(cls, spec: specs.EncodeSpec) -> EncodeSpec:
        """From an `encode` job's typed spec: its fields, checked against the encoders."""
        rate, size, trim = spec.rate_control, spec.resolution, spec.trim
        return cls(
            source=spec.source,
            output=spec.output,
            codec=spec.codec,
            hw=spec.hw,
            encoder=spec.encoder,
            rate_control=RateControl(rate.mode, rate.value) if rate else None,
            preset=spec.preset,
            width=size.width if size else None,
            height=size.height if size else None,
            trim_start_s=trim.start_s if trim else 0.0,
            trim_duration_s=trim.duration_s if trim else None,
            pix_fmt=spec.pix_fmt,
            audio=spec.audio,
        )


def _choice(field: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UsageError(f"{field} {value!r} must be one of {', '.join(choices)}.")


def _check_size(spec: EncodeSpec) -> None:
    chroma = canonical_pix_fmt(spec.pix_fmt or "yuv420p")
    for name, value in (("width", spec.width), ("height", spec.height)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 16 <= value <= 16384:
            raise UsageError(f"{name} {value!r} must be a whole number of pixels in 16–16384.")
        subsampled = "444" not in chroma and (name == "width" or "420" in chroma)
        if subsampled and value % 2:
            raise UsageError(
                f"{name} {value} is odd, which {chroma} chroma subsampling cannot hold.",
                hint=f"Use {value + 1} or {value - 1}.",
            )


def _check_trim(start: float, duration: float | None) -> None:
    if isinstance(start, bool) or not math.isfinite(start) or start < 0:
        raise UsageError(f"trim start {start!r} must be a number of seconds, 0 or more.")
    if duration is not None and (not math.isfinite(duration) or duration <= 0):
        raise UsageError(f"trim duration {duration!r} must be a positive number of seconds.")


def _check_pinned(spec: EncodeSpec, info: EncoderInfo) -> None:
    if info.codec != spec.codec:
        raise UsageError(f"encoder {info.name} makes {info.codec}, but the codec is {spec.codec}.")
    if info.hardware and spec.hw == "never":
        raise UsageError(f"encoder {info.name} is a hardware encoder, but hw is 'never'.")
    if not info.hardware and spec.hw == "require":
        raise UsageError(f"encoder {info.name} is a software encoder, but hw is 'require'.")
    video_args(spec, info, HwDevices())


def _check_some_encoder_fits(spec: EncodeSpec) -> None:
    """The values must suit the software fallback (or, when hardware is required, at least one
    hardware encoder), so a job is refused up front rather than on the node."""
    pool = [name for name in candidates(spec) if ENCODERS[name].hardware == (spec.hw == "require")]
    errors = [_misfit(spec, ENCODERS[name]) for name in pool]
    first = errors[0] if errors else None
    if first is not None and all(errors):
        raise first


def _misfit(spec: EncodeSpec, info: EncoderInfo) -> UsageError | None:
    try:
        video_args(spec, info, HwDevices())
    except UsageError as error:
        return error
    return None


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def hw_init_args(info: EncoderInfo, devices: HwDevices) -> list[str]:
    """Global options a hardware family needs before the first input."""
    if info.family == "qsv":
        return [
            "-init_hw_device", f"vaapi=va:{devices.render_device}",
            "-init_hw_device", "qsv=hw@va",
            "-filter_hw_device", "hw",
        ]  # fmt: skip
    if info.family == "vaapi":
        return ["-vaapi_device", devices.render_device]
    return []


def video_args(spec: EncodeSpec, info: EncoderInfo, devices: HwDevices) -> list[str]:
    """Filters, encoder and encoder options for one encoder; UsageError if it cannot take them."""
    pix_fmt = encoder_pix_fmt(info.family, info.codec, info.name, spec.pix_fmt)
    chain: list[str] = []
    if spec.width is not None or spec.height is not None:
        chain.append(f"scale={spec.width or -2}:{spec.height or -2}:flags=bicubic")
    if info.family == "qsv":
        chain.append(f"format={pix_fmt},hwupload=extra_hw_frames=64,format=qsv")
    elif info.family == "vaapi":
        chain.append(f"format={pix_fmt},hwupload")
    args = ["-vf", ",".join(chain)] if chain else []
    args += ["-c:v", info.name]
    args += preset_args(info.family, info.codec, spec.preset)
    args += rate_args(info.family, info.codec, info.name, spec.rate_control)
    if pix_fmt is not None and info.family not in ("qsv", "vaapi"):
        args += ["-pix_fmt", pix_fmt]
    if info.family == "vpx":
        args += ["-row-mt", "1"]
    if info.family == "nvenc" and devices.cuda_device is not None:
        args += ["-gpu", str(devices.cuda_device)]
    return args


_AUDIO_ARGS = {"copy": ["-c:a", "copy"], "none": ["-an"], "aac": ["-c:a", "aac", "-b:a", "160k"]}


def source_input(spec: EncodeSpec) -> tuple[str, str]:
    """The URL ffmpeg opens for the spec's source and its protocol whitelist: the signed URL
    (`https,tls,tcp` or `http,tcp`, nothing else) for an object, else `source_url`'s."""
    if spec.source_signed is not None:
        return spec.source_signed, protocols_for(spec.source_signed)
    return source_url(spec.source)


def encode_argv(
    ffmpeg: str, spec: EncodeSpec, encoder: str, *, devices: HwDevices | None = None
) -> list[str]:
    """The full ffmpeg command that runs `spec` with `encoder`, reporting `-progress` on stdout."""
    info = encoder_info(encoder)
    if info.name not in candidates(spec):
        raise UsageError(
            f"encoder {info.name} cannot run this job (codec {spec.codec}, hw {spec.hw!r}"
            + (f", pinned to {spec.encoder})." if spec.encoder else ")."),
            hint=f"Candidates: {', '.join(candidates(spec))}.",
        )
    devices = devices or HwDevices()
    url, whitelist = source_input(spec)
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-v", "warning", "-y"]
    argv += ["-progress", "pipe:1", "-stats_period", "0.5"]
    argv += hw_init_args(info, devices)
    argv += whitelist_args(whitelist)
    if spec.trim_start_s > 0:
        argv += ["-ss", _seconds(spec.trim_start_s)]
    if spec.trim_duration_s is not None:
        argv += ["-t", _seconds(spec.trim_duration_s)]
    argv += ["-i", url, "-map", "0:v:0"]
    if spec.audio != "none":
        argv += ["-map", "0:a?"]
    argv += video_args(spec, info, devices)
    argv += _AUDIO_ARGS[spec.audio]
    argv.append(output_url(spec.output))
    return argv


def _policy_for(info: EncoderInfo) -> str:
    return "require" if info.hardware else "never"


def trial_argv(ffmpeg: str, encoder: str, *, devices: HwDevices | None = None) -> list[str]:
    """A one-frame encode of a synthetic 256x256 picture to nowhere: proof that `encoder` works.

    It uses the same device chain and options as a real job (CRF/CQ 30, 8-bit 4:2:0).
    """
    info = encoder_info(encoder)
    devices = devices or HwDevices()
    spec = EncodeSpec(
        source="trial",
        output="trial",
        codec=info.codec,
        hw=_policy_for(info),
        encoder=info.name,
        rate_control=RateControl("crf", 30),
    )
    size = f"{TRIAL_SIZE}x{TRIAL_SIZE}"
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-v", "error"]
    argv += hw_init_args(info, devices)
    argv += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25", "-frames:v", "1"]
    argv += video_args(spec, info, devices)
    argv += ["-f", "null", "-"]
    return argv


def choose_encoders(spec: EncodeSpec, verified: Set[str]) -> list[str]:
    """The encoders to try for `spec`, in order, among those verified on this node.

    Hardware first (NVENC, QSV, AMF, VA-API) unless hw is 'never'; then software (for AV1
    SVT-AV1, then libaom) unless hw is 'require'. A pinned encoder comes alone, followed by the
    software fallback when it is hardware and hw is 'prefer'. An encoder that cannot take the
    spec's values (say CQ 55 on QSV's 1–51 scale) is left out. Empty: nothing here can run it.
    """
    return [
        name
        for name in candidates(spec)
        if name in verified and _misfit(spec, ENCODERS[name]) is None
    ]


def candidates(spec: EncodeSpec) -> list[str]:
    """Every encoder `spec` may run on, in the order `choose_encoders` tries them."""
    software = list(_SOFTWARE[spec.codec])
    if spec.encoder is not None:
        pinned = ENCODERS[spec.encoder]
        return [pinned.name] + (software if pinned.hardware and spec.hw == "prefer" else [])
    hardware = [
        f"{spec.codec}_{family}"
        for family in HARDWARE_FAMILIES
        if spec.codec in _HARDWARE_CODECS[family]
    ]
    return ([] if spec.hw == "never" else hardware) + ([] if spec.hw == "require" else software)
