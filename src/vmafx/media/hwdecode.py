"""NVDEC decoding for scoring: which inputs may be decoded on an NVIDIA GPU, and how.

Pure: no process, no file. `vmafx.media.graph` asks `nvdec_format` whether an input can be
decoded on the GPU and, if so, puts `input_args` before its `-i` and `download_chain` at the
head of its filter chain:

    -hwaccel cuda -hwaccel_output_format cuda [-hwaccel_device N] -i file:IN
    [k:v]hwdownload,format=nv12,format=yuv420p,...          (then the usual chain, libvmaf)

Frames stay on the GPU until `hwdownload`, so a decode that did not happen on the GPU fails the
run loudly (ffmpeg cannot download a frame that is not a CUDA frame) instead of falling back to
software without saying so, as a bare `-hwaccel cuda` does. NV12 → yuv420p and P010 → yuv420p10le
only de-interleave the chroma, so libvmaf sees the same samples a CPU decode gives: bit-exact,
which the device script checks (`benchmarks/gpu.py`).

`choose_decode` turns `--decode auto|cpu|cuda` into what one run uses. `auto` picks CUDA only
with an NVIDIA GPU present and a reference of at least `AUTO_MIN_PIXELS`: small inputs lose on
the GPU (the original platform measured 598 fps on the CPU against 278 with CUDA at 576x324).

NEVER RUN ON GPU HARDWARE YET: tested as argv and graph text only (docs/gpu.md).
"""

from __future__ import annotations

import dataclasses

from vmafx.core.media import VideoInfo
from vmafx.errors import UsageError

DECODE_MODES = ("cpu", "cuda", "auto")
#: `auto` decodes on the GPU from this many pixels per frame of the reference (1920x1080).
#: A guess until the device script's 1080p/2160p figures are in (docs/gpu.md).
AUTO_MIN_PIXELS = 1920 * 1080
#: Codecs NVDEC decodes (Turing and later; AV1 from Ampere on: a refusal makes the run fall back).
NVDEC_CODECS = frozenset(
    {"h264", "hevc", "av1", "vp9", "vp8", "mpeg1video", "mpeg2video", "mpeg4", "vc1", "mjpeg"}
)
#: Software pixel format of the input → the format NVDEC hands back (what `hwdownload` gives).
#: 4:2:2 is left out (NVDEC decodes it on Blackwell only), and so are the full-range `yuvj`
#: formats (converting NV12 back would go through a range conversion, not a plain copy).
NVDEC_FORMATS: dict[str, str] = {
    "yuv420p": "nv12",
    "yuv420p10le": "p010le",
    "yuv420p12le": "p016le",
    "yuv444p": "yuv444p",
    "yuv444p10le": "yuv444p16le",
    "yuv444p12le": "yuv444p16le",
}


@dataclasses.dataclass(frozen=True, slots=True)
class DecodeChoice:
    """What one scoring run decodes with, and why (recorded in the report)."""

    asked: str
    used: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"asked": self.asked, "used": self.used, "reason": self.reason}


def check_mode(mode: str) -> str:
    if mode not in DECODE_MODES:
        raise UsageError(
            f"--decode {mode!r} is not a decode mode.",
            hint="Use cpu (the default), cuda (NVDEC, an NVIDIA GPU) or auto.",
        )
    return mode


def nvdec_format(info: VideoInfo) -> str | None:
    """The format NVDEC gives for this input, or None where it cannot decode it (raw YUV, Y4M,
    an image sequence, a codec or pixel format NVDEC does not take)."""
    if info.codec not in NVDEC_CODECS:
        return None
    return NVDEC_FORMATS.get(info.pix_fmt)


def why_not_cuda(info: VideoInfo) -> str | None:
    """Why this input cannot be decoded on the GPU; None when it can."""
    if info.codec not in NVDEC_CODECS:
        return f"{info.path} is {info.codec or 'raw'}, which NVDEC does not decode"
    if info.pix_fmt not in NVDEC_FORMATS:
        return f"{info.path} is {info.pix_fmt}, a pixel format NVDEC does not give back as is"
    return None


def input_args(device: int | None = None) -> list[str]:
    """The options before one input's `-i` that decode it on the GPU, frames kept there."""
    args = ["-hwaccel", "cuda", "-hwaccel_output_format", "cuda"]
    if device is not None:
        args += ["-hwaccel_device", str(device)]
    return args


def download_chain(info: VideoInfo) -> str:
    """Filters that bring a GPU-decoded frame back as the input's own software format."""
    hw = nvdec_format(info)
    if hw is None:
        raise ValueError(f"{info.path} cannot be decoded with NVDEC")
    chain = ["hwdownload", f"format={hw}"]
    if hw != info.pix_fmt:
        chain.append(f"format={info.pix_fmt}")
    return ",".join(chain)


def choose_decode(
    mode: str,
    reference: VideoInfo,
    distorted: list[VideoInfo],
    *,
    nvidia_gpu: bool,
    min_pixels: int = AUTO_MIN_PIXELS,
) -> DecodeChoice:
    """`cpu`, `cuda` or `auto` → what this run decodes with.

    `cuda` asked explicitly is kept when at least one input can be decoded on the GPU (the
    others stay on the CPU); `auto` needs an NVIDIA GPU and a reference of `min_pixels`.
    """
    check_mode(mode)
    if mode == "cpu":
        return DecodeChoice("cpu", "cpu", "asked for")
    inputs = [reference, *distorted]
    fit = [info for info in inputs if why_not_cuda(info) is None]
    if not fit:
        reason = why_not_cuda(reference) or why_not_cuda(distorted[0]) or "no input fits"
        return DecodeChoice(mode, "cpu", reason)
    if mode == "cuda":
        return DecodeChoice("cuda", "cuda", "asked for")
    if not nvidia_gpu:
        return DecodeChoice("auto", "cpu", "no NVIDIA GPU detected")
    pixels = reference.width * reference.height
    if pixels < min_pixels:
        return DecodeChoice(
            "auto",
            "cpu",
            f"{reference.size} is under the {min_pixels} pixels from which NVDEC is used "
            "(small frames decode faster on the CPU)",
        )
    return DecodeChoice("auto", "cuda", f"NVIDIA GPU present and {reference.size} frames")
