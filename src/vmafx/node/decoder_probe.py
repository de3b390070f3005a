"""Which GPU decoders really work on this node: a trial decode of a few frames each.

Like encoders (`encoder_probe`), a decoder is proved by running it, not by `ffmpeg -hwaccels`
(a static ffmpeg lists `cuda` on any machine). For each codec a short sample is first made with
the software encoder vmafx uses for it (`testsrc2`, 256x256, a few frames, in a temporary
folder), then decoded with `-hwaccel cuda -hwaccel_output_format cuda` and downloaded with
`hwdownload`: a frame that was not decoded on the GPU cannot be downloaded, so a silent software
fallback fails the trial instead of passing it. The names reported are `nvdec:<codec>`.

Only NVDEC (CUDA) is tried, and only with an NVIDIA GPU detected. Hardware trials here only ever
fail (the development and CI machines have no GPU): never run on real hardware in the tests.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from vmafx.core.nodes import GpuInfo
from vmafx.errors import FfmpegError, FfmpegNotFoundError, FfmpegTimeoutError
from vmafx.media.runner import FfmpegRunner, stderr_tail
from vmafx.node.encoder_probe import EncoderFailure, headline

log = logging.getLogger(__name__)

TRIAL_TIMEOUT_S = 20.0
TRIAL_FRAMES = 5
#: codec → (software encoder that makes the sample, its options, the sample's file name).
SAMPLES: Mapping[str, tuple[str, tuple[str, ...], str]] = {
    "h264": ("libx264", ("-preset", "ultrafast"), "sample.mp4"),
    "hevc": ("libx265", ("-preset", "ultrafast", "-x265-params", "log-level=error"), "h.mp4"),
    "av1": ("libsvtav1", ("-preset", "12"), "sample.mkv"),
    "vp9": ("libvpx-vp9", ("-deadline", "realtime", "-cpu-used", "8"), "sample.webm"),
}


@dataclasses.dataclass(frozen=True, slots=True)
class DecoderReport:
    verified: frozenset[str]
    failures: Mapping[str, EncoderFailure]
    #: Why nothing was tried (no NVIDIA GPU); None when the trials ran.
    skipped: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": sorted(self.verified),
            "failures": {name: dataclasses.asdict(f) for name, f in self.failures.items()},
            "skipped": self.skipped,
        }


def sample_argv(ffmpeg: str, codec: str, path: str) -> list[str]:
    """Encode `TRIAL_FRAMES` frames of `testsrc2` with the codec's software encoder."""
    encoder, options, _ = SAMPLES[codec]
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-v", "error", "-y",
        "-f", "lavfi", "-i", "testsrc2=size=256x256:rate=25",
        "-frames:v", str(TRIAL_FRAMES), "-pix_fmt", "yuv420p", "-c:v", encoder, *options, path,
    ]  # fmt: skip


def trial_decode_argv(ffmpeg: str, path: str, *, cuda_device: int | None = None) -> list[str]:
    """Decode `path` on the GPU and download every frame: fails unless NVDEC decoded it."""
    device = [] if cuda_device is None else ["-hwaccel_device", str(cuda_device)]
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-v", "error",
        "-hwaccel", "cuda", "-hwaccel_output_format", "cuda", *device, "-i", path,
        "-vf", "hwdownload,format=nv12", "-f", "null", "-",
    ]  # fmt: skip


def _run(
    runner: FfmpegRunner, argv: list[str], timeout_s: float, what: str
) -> EncoderFailure | None:
    try:
        result = runner.run(argv, timeout_s=timeout_s)
    except FfmpegNotFoundError:
        raise
    except FfmpegTimeoutError as error:
        return EncoderFailure(f"{what} ran past {timeout_s:g} s", error.stderr_tail)
    except FfmpegError as error:  # killed by a signal: a crashing driver
        return EncoderFailure(error.message, error.stderr_tail)
    if result.returncode == 0:
        return None
    return EncoderFailure(
        f"{what}: exit code {result.returncode}: {headline(result.stderr)}",
        stderr_tail(result.stderr),
    )


def probe_decoders(
    ffmpeg: str,
    runner: FfmpegRunner,
    *,
    gpus: Sequence[GpuInfo] = (),
    codecs: Iterable[str] = tuple(SAMPLES),
    cuda_device: int | None = None,
    timeout_s: float = TRIAL_TIMEOUT_S,
) -> DecoderReport:
    """Trial-decode each codec with NVDEC where an NVIDIA GPU was detected."""
    if not any(gpu.vendor == "nvidia" for gpu in gpus):
        return DecoderReport(frozenset(), {}, skipped="no NVIDIA GPU detected: NVDEC not tried")
    verified: set[str] = set()
    failures: dict[str, EncoderFailure] = {}
    with tempfile.TemporaryDirectory(prefix="vmafx-decoders-") as folder:
        for codec in codecs:
            name = f"nvdec:{codec}"
            sample = str(Path(folder) / SAMPLES[codec][2])
            made = _run(runner, sample_argv(ffmpeg, codec, sample), timeout_s, "making the sample")
            failure = made or _run(
                runner,
                trial_decode_argv(ffmpeg, sample, cuda_device=cuda_device),
                timeout_s,
                "trial decode",
            )
            if failure is None:
                verified.add(name)
            else:
                failures[name] = failure
                log.info("decoder not offered", extra={"decoder": name, "reason": failure.reason})
    return DecoderReport(frozenset(verified), failures)
