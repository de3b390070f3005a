"""`vmafx node --probe`: what this node would announce, found out and printed, nothing registered.

The GPUs as NVML sees them and as `nvidia-smi` sees them (each on its own, then what detection
keeps), the encoders a trial encode verified and why the others were refused, the NVDEC decoders
a trial decode verified, ffmpeg's hardware acceleration methods, and the capabilities the node
would register with (backends, vendor). A GPU known to carry no NVENC (Hopper and Ampere
data-centre parts: H100, H200, A100…) gets a note saying that its NVENC encoders are expected
to be refused and that encode jobs run on software encoders on this node.

Blocking (subprocesses): the CLI runs it directly. Tested with a fake ffmpeg, fake GPU tools
and a fake NVML; never run on real GPU hardware yet (docs/gpu.md).
"""

from __future__ import annotations

import dataclasses
import re
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vmafx.ai.inference import cuda_provider_note, onnxruntime
from vmafx.core.gpus import DetectedGpu
from vmafx.core.nodes import NodeCapabilities
from vmafx.errors import MissingExtraError
from vmafx.media.encoders import ENCODERS, HwDevices, encoder_info
from vmafx.media.ffmpeg import FfmpegInfo
from vmafx.media.runner import FfmpegRunner
from vmafx.node.capabilities import build_capabilities
from vmafx.node.decoder_probe import DecoderReport, probe_decoders
from vmafx.node.encoder_probe import EncoderReport, probe_encoders
from vmafx.node.gpus import (
    NvmlLoader,
    ToolRunner,
    detect_gpus,
    import_nvml,
    nvml_gpus,
    select_gpu,
    smi_gpus,
)
from vmafx.node.settings import NodeSettings

#: NVIDIA GPUs without NVENC (data-centre parts that carry NVDEC and NVJPG only).
NO_NVENC = re.compile(r"\b(A100|A30|A800|H100|H800|H200|GH200)\b", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class ProbeReport:
    ffmpeg: FfmpegInfo
    hwaccels: tuple[str, ...]
    #: NVML's and nvidia-smi's own answers (None: that source gave none).
    nvml: tuple[DetectedGpu, ...] | None
    nvidia_smi: tuple[DetectedGpu, ...] | None
    gpus: tuple[DetectedGpu, ...]
    encoders: EncoderReport
    decoders: DecoderReport
    capabilities: NodeCapabilities
    notes: tuple[str, ...]
    #: ONNX Runtime's execution providers (None: onnxruntime is not installed).
    onnx_providers: tuple[str, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        caps = self.capabilities
        return {
            "ffmpeg": {"path": self.ffmpeg.path, "version": self.ffmpeg.version},
            "hwaccels": list(self.hwaccels),
            "gpus": [_gpu_json(gpu) for gpu in self.gpus],
            "sources": {
                "nvml": None if self.nvml is None else [_gpu_json(g) for g in self.nvml],
                "nvidia_smi": (
                    None if self.nvidia_smi is None else [_gpu_json(g) for g in self.nvidia_smi]
                ),
            },
            "encoders": self.encoders.to_json(),
            "decoders": self.decoders.to_json(),
            "announce": {
                "host": caps.host,
                "gpu_vendor": caps.gpu_vendor,
                "backends": list(caps.backends),
                "encoders": list(caps.encoders),
                "queues": list(caps.queues),
                "slots": caps.slots,
            },
            "onnxruntime_providers": (
                None if self.onnx_providers is None else list(self.onnx_providers)
            ),
            "notes": list(self.notes),
        }


def _gpu_json(gpu: DetectedGpu) -> dict[str, Any]:
    return {**gpu.to_json(), "compute_capability": gpu.compute_capability}


def onnx_providers() -> list[str] | None:
    """The execution providers the installed ONNX Runtime offers; None without it."""
    try:
        ort = onnxruntime()
    except MissingExtraError:
        return None
    return [str(p) for p in ort.get_available_providers()]


def parse_hwaccels(text: str) -> tuple[str, ...]:
    """The methods `ffmpeg -hwaccels` lists (the lines after its heading)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return tuple(line for line in lines if not line.endswith(":") and " " not in line)


def hopper_notes(gpus: Sequence[DetectedGpu], encoders: EncoderReport) -> list[str]:
    """A note per GPU known to carry no NVENC, saying what that means for this node."""
    notes = []
    for gpu in gpus:
        if gpu.vendor != "nvidia" or not NO_NVENC.search(gpu.name):
            continue
        refused = sorted(
            name for name in encoders.failures if ENCODERS.get(name, None) is not None
            and ENCODERS[name].family == "nvenc"
        )  # fmt: skip
        offered = sorted(n for n in encoders.verified if ENCODERS[n].family == "nvenc")
        if offered:
            notes.append(
                f"{gpu.name} is listed as having no NVENC, yet {', '.join(offered)} passed a "
                "trial encode: check which GPU ran it."
            )
            continue
        notes.append(
            f"{gpu.name} has no NVENC (it carries NVDEC and NVJPG only): "
            + (f"{', '.join(refused)} refused by the trial encode as expected; " if refused else "")
            + "encode jobs run on software encoders on this node (NVDEC can still decode "
            "for scoring: `vmafx score --decode cuda`)."
        )
    return notes


def probe_node(
    settings: NodeSettings,
    ffmpeg: FfmpegInfo,
    runner: FfmpegRunner,
    *,
    tools: ToolRunner | None = None,
    nvml: NvmlLoader | None = import_nvml,
    cache_dir: Path | None = None,
    fake_gpus: Sequence[DetectedGpu] | None = None,
) -> ProbeReport:
    """Everything `vmafx node` finds out before it registers, and what it would announce."""
    from_nvml = nvml_gpus(nvml) if nvml is not None else None
    from_smi = smi_gpus(tools)
    if fake_gpus is not None:
        gpus = [select_gpu(fake_gpus, settings.gpu)] if settings.gpu else list(fake_gpus)
    else:
        gpus = detect_gpus(runner=tools, nvml=nvml, pin=settings.gpu)
    infos = [gpu.info() for gpu in gpus]
    devices = HwDevices(render_device=settings.render_device)
    encoders = probe_encoders(
        ffmpeg.path,
        runner,
        gpus=infos,
        cache_dir=cache_dir,
        refresh=settings.refresh_probe,
        encoders=settings.encoders or None,
        devices=devices,
    )
    decoders = probe_decoders(ffmpeg.path, runner, gpus=infos)
    listed = runner.run([ffmpeg.path, "-hide_banner", "-hwaccels"], timeout_s=15)
    hwaccels = parse_hwaccels(listed.stdout) if listed.returncode == 0 else ()
    declared = frozenset(encoder_info(name).name for name in settings.declared_encoders)
    capabilities = build_capabilities(
        host=socket.gethostname(),
        gpus=infos,
        encoders=encoders.verified | declared,
        queues=settings.queues,
        slots=settings.slot_count,
        concurrency=settings.concurrency,
        labels=settings.labels,
    )
    notes = hopper_notes(gpus, encoders)
    providers = onnx_providers()
    if providers is not None and any(g.vendor == "nvidia" for g in gpus):
        note = cuda_provider_note(providers)
        if note is not None:
            notes.append(note + ".")
    if any(g.vendor == "nvidia" for g in gpus) and "cuda" not in capabilities.backends:
        notes.append(
            "The cuda backend is not announced: it needs an NVENC encoder that passed its "
            "trial; score jobs run libvmaf on the CPU here."
        )
    if fake_gpus is not None:
        notes.append("TEST ONLY: the GPUs come from VMAFX_NODE_FAKE_GPUS, not from detection.")
    if declared:
        notes.append(f"TEST ONLY: declared without a trial: {', '.join(sorted(declared))}.")
    return ProbeReport(
        ffmpeg=ffmpeg,
        hwaccels=hwaccels,
        nvml=None if from_nvml is None else tuple(from_nvml),
        nvidia_smi=None if from_smi is None else tuple(from_smi),
        gpus=tuple(gpus),
        encoders=encoders,
        decoders=decoders,
        capabilities=capabilities,
        notes=tuple(notes),
        onnx_providers=None if providers is None else tuple(providers),
    )


def render_table(report: ProbeReport) -> str:
    """The report as plain text for a terminal (what `--format table` prints)."""
    caps = report.capabilities
    out = [f"ffmpeg {report.ffmpeg.version} ({report.ffmpeg.path})"]
    out.append(f"hwaccels: {', '.join(report.hwaccels) or 'none'}")
    out.append("GPUs:" if report.gpus else "GPUs: none detected")
    for gpu in report.gpus:
        out.append(
            f"  [{gpu.index}] {gpu.vendor} {gpu.name}  uuid {gpu.uuid or '-'}  "
            f"{gpu.memory_mb} MiB  driver {gpu.driver or '-'}  "
            f"compute {gpu.compute_capability or '-'}"
        )
    for label, found in (("NVML", report.nvml), ("nvidia-smi", report.nvidia_smi)):
        names = "no answer" if found is None else (", ".join(g.name for g in found) or "no GPU")
        out.append(f"  {label}: {names}")
    out.append(f"encoders verified: {', '.join(sorted(report.encoders.verified)) or 'none'}")
    for name, failure in sorted(report.encoders.failures.items()):
        out.append(f"  refused {name}: {failure.reason}")
    decoders = report.decoders
    if decoders.skipped:
        out.append(f"decoders: {decoders.skipped}")
    else:
        out.append(f"decoders verified: {', '.join(sorted(decoders.verified)) or 'none'}")
        for name, failure in sorted(decoders.failures.items()):
            out.append(f"  refused {name}: {failure.reason}")
    out.append(
        f"would announce: vendor {caps.gpu_vendor}; backends {', '.join(caps.backends)}; "
        f"slots {caps.slots}; queues {', '.join(caps.queues) or 'every queue it serves'}"
    )
    if report.onnx_providers is not None:
        out.append(f"onnxruntime providers: {', '.join(report.onnx_providers)}")
    out += [f"note: {note}" for note in report.notes]
    return "\n".join(out)
