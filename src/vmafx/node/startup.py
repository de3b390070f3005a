"""What the node finds out before it registers: its ffmpeg, its GPUs, the encoders that work.

Blocking (subprocesses), so the composition root runs it on a thread. The test-only settings
(`VMAFX_NODE_FAKE_GPUS`, `VMAFX_NODE_DECLARED_ENCODERS`) replace detection and add encoders
without a trial; both are logged as warnings so they are never mistaken for real hardware.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping

from vmafx.core.gpus import DetectedGpu
from vmafx.media.encoders import HwDevices, encoder_info
from vmafx.media.ffmpeg import FfmpegInfo, ffmpeg_info
from vmafx.media.runner import SubprocessRunner
from vmafx.node.capabilities import load_fake_gpus
from vmafx.node.encoder_probe import EncoderFailure, probe_encoders
from vmafx.node.gpus import detect_gpus, select_gpu
from vmafx.node.settings import NodeSettings

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Machine:
    ffmpeg: FfmpegInfo
    gpus: tuple[DetectedGpu, ...]
    #: Encoders a trial encode proved, plus any declared (test only).
    encoders: frozenset[str]
    declared: frozenset[str]
    failures: Mapping[str, EncoderFailure]
    devices: HwDevices


def find_gpus(settings: NodeSettings) -> list[DetectedGpu]:
    if settings.fake_gpus is None:
        return detect_gpus(pin=settings.gpu)
    gpus = load_fake_gpus(settings.fake_gpus)
    log.warning(
        "TEST ONLY: advertising the GPUs of %s instead of detecting any", settings.fake_gpus
    )
    return [select_gpu(gpus, settings.gpu)] if settings.gpu else gpus


def inspect_machine(settings: NodeSettings, ffmpeg_path: str | None = None) -> Machine:
    """Locate and check ffmpeg (libvmaf), detect GPUs, verify encoders (cached)."""
    ffmpeg = ffmpeg_info(ffmpeg_path)
    gpus = find_gpus(settings)
    devices = HwDevices(render_device=settings.render_device)
    report = probe_encoders(
        ffmpeg.path,
        SubprocessRunner(),
        gpus=[gpu.info() for gpu in gpus],
        refresh=settings.refresh_probe,
        encoders=settings.encoders or None,
        devices=devices,
    )
    declared = frozenset(encoder_info(name).name for name in settings.declared_encoders)
    if declared:
        log.warning(
            "TEST ONLY: advertising encoders without a trial encode: %s",
            ", ".join(sorted(declared)),
        )
    return Machine(
        ffmpeg=ffmpeg,
        gpus=tuple(gpus),
        encoders=report.verified | declared,
        declared=declared,
        failures=report.failures,
        devices=devices,
    )
