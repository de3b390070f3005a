"""Pure parsers for what GPU tools print: nvidia-smi CSV, rocm-smi (JSON or text), clinfo (raw or
plain, Intel GPUs only) and macOS system_profiler JSON; and the load nvidia-smi reports per GPU.

Each takes the tool's stdout and returns `DetectedGpu` values; a malformed row is skipped, never
fatal. They are tested on real-world samples under tests/fixtures/gpu/.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any

from vmafx.core.gpus import DetectedGpu
from vmafx.core.gpuusage import GpuUsage

log = logging.getLogger(__name__)

_MISSING = {"", "n/a", "[n/a]", "[not supported]", "not supported", "[unknown error]", "none"}
_MIB = 1024 * 1024


def _value(text: object) -> str | None:
    """A reported value, or None for the many ways tools say "unknown"."""
    if text is None:
        return None
    cleaned = str(text).strip()
    return None if cleaned.lower() in _MISSING else cleaned


def _leading_int(text: str | None) -> int | None:
    match = re.match(r"\s*(\d+)", text or "")
    return int(match.group(1)) if match else None


def _mib_from_bytes(text: str | None) -> int:
    value = _leading_int(text)
    return value // _MIB if value else 0


def parse_nvidia_smi_csv(text: str) -> list[DetectedGpu]:
    """`nvidia-smi --query-gpu=index,name,uuid,memory.total,driver_version[,compute_cap]
    --format=csv,noheader,nounits`: one GPU per line."""
    gpus: list[DetectedGpu] = []
    for row in csv.reader(text.splitlines(), skipinitialspace=True):
        fields = [_value(field) for field in row]
        if len(fields) < 5 or _leading_int(fields[0]) is None or not fields[1]:
            if any(row):
                log.debug("nvidia-smi row skipped", extra={"row": row})
            continue
        gpus.append(
            DetectedGpu(
                vendor="nvidia",
                name=str(fields[1]),
                uuid=fields[2] or "",
                index=_leading_int(fields[0]) or 0,
                memory_mb=_leading_int(fields[3]) or 0,
                driver=fields[4],
                compute_capability=fields[5] if len(fields) > 5 else None,
            )
        )
    return gpus


def _lower_keys(data: Mapping[str, Any]) -> dict[str, str]:
    return {str(key).strip().lower(): str(value) for key, value in data.items()}


def _first(card: Mapping[str, str], *keys: str, skip_hex: bool = False) -> str | None:
    for key in keys:
        value = _value(card.get(key))
        if value and not (skip_hex and re.fullmatch(r"0x[0-9a-fA-F]+", value)):
            return value
    return None


def _rocm_cards(text: str) -> tuple[dict[int, dict[str, str]], str | None]:
    """Per-card key/values (keys lower-cased) and the driver version, from JSON or text."""
    start = text.find("{")
    if start >= 0:
        try:
            data, _ = json.JSONDecoder().raw_decode(text[start:])
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            cards = {
                int(match.group(1)): _lower_keys(value)
                for key, value in data.items()
                if (match := re.fullmatch(r"card(\d+)", str(key))) and isinstance(value, dict)
            }
            system = _lower_keys(data.get("system", {}) or {})
            return cards, system.get("driver version")
    cards_text: dict[int, dict[str, str]] = {}
    driver = None
    for line in text.splitlines():
        match = re.match(r"^\s*GPU\[(\d+)\]\s*:\s*([^:]+?)\s*:\s*(.*?)\s*$", line)
        if match:
            card = cards_text.setdefault(int(match.group(1)), {})
            card[match.group(2).lower()] = match.group(3)
        elif found := re.match(r"^\s*Driver version\s*:\s*(\S+)", line, re.IGNORECASE):
            driver = found.group(1)
    return cards_text, driver


def parse_rocm_smi(text: str) -> list[DetectedGpu]:
    """`rocm-smi --showproductname --showuniqueid --showmeminfo vram --showdriverversion`, with
    or without `--json` (warnings before the JSON are tolerated)."""
    cards, driver = _rocm_cards(text)
    gpus = []
    for index, card in sorted(cards.items()):
        name = _first(
            card, "card series", "marketing name", "device name", "card model", skip_hex=True
        )
        guid = _first(card, "guid")
        uuid = _first(card, "unique id") or (f"amd-guid-{guid}" if guid else "")
        gpus.append(
            DetectedGpu(
                vendor="amd",
                name=name or "AMD GPU",
                uuid=uuid,
                index=index,
                memory_mb=_mib_from_bytes(card.get("vram total memory (b)")),
                driver=_first(card, "driver version") or _value(driver),
                compute_capability=_first(card, "gfx version"),
            )
        )
    return gpus


_RAW_LINE = re.compile(r"^\[([^/\]]+)/([^\]]+)\]\s+(\S+)\s*(.*?)\s*$")
_PLAIN_LINE = re.compile(r"^\s*(\S.*?)\s{2,}(\S.*?)\s*$")
#: clinfo --raw keys → the plain-output labels used below.
_RAW_KEYS = {
    "CL_DEVICE_NAME": "device name",
    "CL_DEVICE_VENDOR": "device vendor",
    "CL_DEVICE_VENDOR_ID": "device vendor id",
    "CL_DEVICE_TYPE": "device type",
    "CL_DRIVER_VERSION": "driver version",
    "CL_DEVICE_UUID_KHR": "device uuid",
    "CL_DEVICE_GLOBAL_MEM_SIZE": "global memory size",
    "CL_DEVICE_PCI_BUS_INFO_KHR": "device pci bus info (khr)",
}


def _clinfo_raw_devices(text: str) -> Iterator[dict[str, str]]:
    devices: dict[tuple[str, str], dict[str, str]] = {}
    for line in text.splitlines():
        match = _RAW_LINE.match(line)
        if not match or match.group(2) == "*" or match.group(3) not in _RAW_KEYS:
            continue
        group = (match.group(1), match.group(2))
        key = _RAW_KEYS[match.group(3)]
        if key == "device name" and group in devices:
            yield devices.pop(group)  # same tag reused by another platform
        devices.setdefault(group, {})[key] = match.group(4)
    yield from devices.values()


def _clinfo_plain_devices(text: str) -> Iterator[dict[str, str]]:
    device: dict[str, str] | None = None
    for line in text.splitlines():
        if line.startswith("NULL platform behavior"):
            break  # the rest repeats device names without their properties
        match = _PLAIN_LINE.match(line)
        if not match:
            continue
        key, value = match.group(1).lower(), match.group(2)
        if key == "device name" or key.startswith(("platform ", "number of ")):
            if device is not None:
                yield device
            device = {} if key == "device name" else None
        if device is not None:
            device.setdefault(key, value)
    if device is not None:
        yield device


def parse_clinfo(text: str) -> list[DetectedGpu]:
    """Intel GPUs from `clinfo --raw` or plain `clinfo` (other vendors and CPUs are skipped)."""
    raw = any(_RAW_LINE.match(line) for line in text.splitlines()[:20])
    devices = _clinfo_raw_devices(text) if raw else _clinfo_plain_devices(text)
    gpus: list[DetectedGpu] = []
    seen: set[str] = set()
    for device in devices:
        vendor = f"{device.get('device vendor', '')} {device.get('device vendor id', '')}"
        if "intel" not in vendor.lower() and "0x8086" not in vendor.lower():
            continue
        if "gpu" not in device.get("device type", "").lower():
            continue
        uuid = _value(device.get("device uuid"))
        bus = re.search(r"[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.\d", str(device))
        uuid = uuid or (f"intel-pci-{bus.group(0)}" if bus else "")
        key = uuid or device.get("device name", "")
        if key in seen:
            continue  # the same GPU seen through a second OpenCL platform
        seen.add(key)
        gpus.append(
            DetectedGpu(
                vendor="intel",
                name=device.get("device name", "Intel GPU").strip(),
                uuid=uuid,
                index=len(gpus),
                memory_mb=_mib_from_bytes(device.get("global memory size")),
                driver=_value(device.get("driver version")),
            )
        )
    return gpus


def _mac_vendor(entry: Mapping[str, Any], name: str) -> str:
    text = f"{entry.get('spdisplays_vendor', '')} {name}".lower()
    for vendor, marks in (
        ("apple", ("apple",)),
        ("amd", ("amd", "_ati", "ati ", "radeon", "0x1002")),
        ("intel", ("intel", "0x8086")),
        ("nvidia", ("nvidia", "0x10de")),
    ):
        if any(mark in text for mark in marks):
            return vendor
    return "apple"


def _mac_vram_mb(entry: Mapping[str, Any]) -> int:
    text = str(entry.get("spdisplays_vram") or entry.get("spdisplays_vram_shared") or "")
    match = re.match(r"\s*(\d+)\s*(GB|MB)", text, re.IGNORECASE)
    if not match:
        return 0
    return int(match.group(1)) * (1024 if match.group(2).upper() == "GB" else 1)


def parse_system_profiler(text: str) -> list[DetectedGpu]:
    """`system_profiler SPDisplaysDataType -json`. macOS has no GPU UUID: the id is built from
    vendor, bus and device id (or model), with `#n` only when two identical cards collide."""
    data = json.loads(text)
    entries = data.get("SPDisplaysDataType", []) if isinstance(data, dict) else []
    gpus: list[DetectedGpu] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        if entry.get("sppci_device_type", "spdisplays_gpu") != "spdisplays_gpu":
            continue
        name = str(entry.get("sppci_model") or entry.get("_name") or "GPU")
        vendor = _mac_vendor(entry, name)
        bus = str(entry.get("sppci_bus", "")).removeprefix("spdisplays_")
        device = entry.get("spdisplays_device-id") or re.sub(r"[^a-z0-9]+", "-", name.lower())
        uuid = f"{vendor}:{bus or 'gpu'}:{device}"
        taken = sum(1 for gpu in gpus if gpu.uuid.split("#")[0] == uuid)
        family = str(entry.get("spdisplays_mtlgpufamilysupport", ""))
        gpus.append(
            DetectedGpu(
                vendor=vendor,
                name=name,
                uuid=f"{uuid}#{taken}" if taken else uuid,
                index=len(gpus),
                memory_mb=_mac_vram_mb(entry),
                compute_capability=family.removeprefix("spdisplays_") or None,
            )
        )
    return gpus


#: What `nvidia-smi` is asked for GPU load, in this order (drivers before ~470 refuse
#: `utilization.encoder`: asked again without it, see `vmafx.node.gpuload`).
NVIDIA_USAGE_FIELDS = (
    "index",
    "uuid",
    "utilization.gpu",
    "utilization.encoder",
    "encoder.stats.sessionCount",
    "memory.used",
    "memory.total",
)
_USAGE_KEYS = {
    "utilization.gpu": "utilization_pct",
    "utilization.encoder": "encoder_utilization_pct",
    "encoder.stats.sessionCount": "encoder_sessions",
    "memory.used": "memory_used_mb",
    "memory.total": "memory_total_mb",
}


def _number(text: str | None) -> float | None:
    match = re.match(r"\s*(\d+(?:\.\d+)?)", text or "")
    return float(match.group(1)) if match else None


def parse_nvidia_smi_usage(
    text: str, fields: tuple[str, ...] = NVIDIA_USAGE_FIELDS
) -> list[GpuUsage]:
    """`nvidia-smi --query-gpu=<fields> --format=csv,noheader,nounits`: one GPU per line.
    `[N/A]`, `[Not Supported]` and the like are unknown (None); a row without a UUID is skipped."""
    usages: list[GpuUsage] = []
    for row in csv.reader(text.splitlines(), skipinitialspace=True):
        if len(row) != len(fields):
            if any(row):
                log.debug("nvidia-smi usage row skipped", extra={"row": row})
            continue
        values = dict(zip(fields, (_value(field) for field in row), strict=True))
        uuid = values.get("uuid")
        if not uuid:
            continue
        known: dict[str, Any] = {}
        for field, key in _USAGE_KEYS.items():
            number = _number(values.get(field))
            if number is not None:
                known[key] = number if key.endswith("_pct") else int(number)
        usages.append(GpuUsage(uuid=uuid, index=_leading_int(values.get("index")) or 0, **known))
    return usages
