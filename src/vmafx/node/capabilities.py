"""What a node advertises when it registers, from what it detected and what it was told.

The original `NodeCapability` fields are filled as an original controller expects:
`gpu_vendor` (`nvidia`, `amd`, `intel`, `apple` or `cpu`), `backends` (always `cpu`, plus
`cuda` for an NVIDIA GPU whose NVENC verified, `hip` for an AMD GPU with AMF or VA-API, `sycl`
for an Intel GPU with QSV or VA-API) and `concurrency` (the slot count). vmafx adds the GPU
inventory, the verified encoders, queues, per-queue limits, labels and the host name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from vmafx.core.gpus import DetectedGpu
from vmafx.core.nodes import GpuInfo, NodeCapabilities
from vmafx.errors import ConfigError
from vmafx.media.encoders import ENCODERS

#: vendor → (scoring backend it enables, encoder families that must have verified for it).
_BACKENDS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "nvidia": ("cuda", ("nvenc",)),
    "amd": ("hip", ("amf", "vaapi")),
    "intel": ("sycl", ("qsv", "vaapi")),
}
#: Which GPU vendor runs each hardware encoder family.
FAMILY_VENDORS: Mapping[str, tuple[str, ...]] = {
    "nvenc": ("nvidia",),
    "amf": ("amd",),
    "qsv": ("intel",),
    "vaapi": ("intel", "amd"),
}


def backends_for(gpus: Sequence[GpuInfo], encoders: Iterable[str]) -> tuple[str, ...]:
    families = {ENCODERS[name].family for name in encoders if name in ENCODERS}
    vendors = {gpu.vendor for gpu in gpus}
    found = ["cpu"]
    for vendor, (backend, needs) in _BACKENDS.items():
        if vendor in vendors and families & set(needs):
            found.append(backend)
    return tuple(found)


def gpu_vendor_for(gpus: Sequence[GpuInfo], backends: Sequence[str]) -> str:
    """The vendor of the first GPU that backs an advertised backend, else of the first GPU."""
    for gpu in gpus:
        backend = _BACKENDS.get(gpu.vendor, ("",))[0]
        if backend in backends:
            return gpu.vendor
    return gpus[0].vendor if gpus else "cpu"


def build_capabilities(
    *,
    host: str,
    gpus: Sequence[GpuInfo],
    encoders: Iterable[str],
    queues: Sequence[str],
    slots: int,
    concurrency: Mapping[str, int],
    labels: Mapping[str, str],
) -> NodeCapabilities:
    verified = sorted(set(encoders))
    backends = backends_for(gpus, verified)
    return NodeCapabilities(
        host=host,
        backends=backends,
        gpu_vendor=gpu_vendor_for(gpus, backends),
        gpus=tuple(gpus),
        encoders=tuple(verified),
        queues=tuple(queues),
        slots=slots,
        concurrency=dict(concurrency),
        labels=dict(labels),
    )


def load_fake_gpus(path: Path) -> list[DetectedGpu]:
    """TEST ONLY: the GPUs listed in a JSON file (`[{"vendor": "nvidia", "name": "NVIDIA L4",
    "uuid": "GPU-…", "index": 0, "memory_mb": 23034, "driver": "535.183.01"}]`), advertised
    instead of detecting any (`VMAFX_NODE_FAKE_GPUS`)."""
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, list):
            raise TypeError("the top level must be a list")
        return [DetectedGpu.from_json(item) for item in data]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigError(
            f"VMAFX_NODE_FAKE_GPUS={path} cannot be used: {error}.",
            hint='Write a JSON list such as [{"vendor": "nvidia", "name": "NVIDIA L4", '
            '"uuid": "GPU-1", "memory_mb": 23034}], or unset it (it is for tests only).',
        ) from None
