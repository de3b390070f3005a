"""Which encoders really work on this node: a one-frame trial encode each, cached on disk.

`ffmpeg -encoders` is not proof: a build lists `h264_nvenc` on a machine without an NVIDIA
driver. So every encoder vmafx knows and this ffmpeg lists gets a real trial (a 256x256
`testsrc2` frame through the same device chain and options a job would use, see
`vmafx.media.encoders.trial_argv`) through the `FfmpegRunner` port; only those that succeed are
advertised. For the others the report keeps why (the telling stderr line and the tail), so the
node can log why NVENC is not offered.

Results are cached in a JSON file keyed by the ffmpeg binary (path, size, mtime), the GPUs
(UUID and driver), the device settings and the probe version; `refresh=True` probes again.
Hardware trials here only ever fail (this machine has no GPU): they are never run on real
hardware in the tests.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vmafx.config import state_dir
from vmafx.core.nodes import GpuInfo
from vmafx.errors import FfmpegError, FfmpegNotFoundError, FfmpegTimeoutError
from vmafx.media.encoders import ENCODERS, HwDevices, encoder_info, trial_argv
from vmafx.media.runner import FfmpegRunner, check_returncode, stderr_tail

log = logging.getLogger(__name__)

#: Bump when the trial command changes, so old cached verdicts are not trusted.
PROBE_VERSION = 1
TRIAL_TIMEOUT_S = 15.0
NOT_BUILT = "not built into this ffmpeg (absent from `ffmpeg -encoders`)"
_LOG_PREFIX = re.compile(r"^(\[[^\]]*\]\s*)+")


@dataclasses.dataclass(frozen=True, slots=True)
class EncoderFailure:
    """Why an encoder is not offered: one telling line, and the end of what ffmpeg said."""

    reason: str
    stderr_tail: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class EncoderReport:
    verified: frozenset[str]
    failures: Mapping[str, EncoderFailure]
    from_cache: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": sorted(self.verified),
            "failures": {name: dataclasses.asdict(f) for name, f in self.failures.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, from_cache: bool = False) -> EncoderReport:
        return cls(
            verified=frozenset(str(name) for name in data["verified"]),
            failures={
                str(name): EncoderFailure(str(f["reason"]), str(f.get("stderr_tail", "")))
                for name, f in data["failures"].items()
            },
            from_cache=from_cache,
        )


def parse_encoder_list(text: str) -> frozenset[str]:
    """Encoder names from `ffmpeg -encoders`: the rows after the `------` line of its legend,
    such as ` V....D libx264  libx264 H.264 …`."""
    lines = text.splitlines()
    legend_end = next((i for i, line in enumerate(lines) if line.strip().startswith("---")), -1)
    names = set()
    for line in lines[legend_end + 1 :]:
        parts = line.split()
        if len(parts) >= 2 and re.fullmatch(r"[VAS][.A-Z]{5}", parts[0]) and parts[1] != "=":
            names.add(parts[1])
    return frozenset(names)


def list_encoders(ffmpeg: str, runner: FfmpegRunner) -> frozenset[str]:
    result = runner.run([ffmpeg, "-hide_banner", "-encoders"], timeout_s=TRIAL_TIMEOUT_S)
    check_returncode(result, "listing its encoders")
    return parse_encoder_list(result.stdout)


def headline(stderr: str) -> str:
    """The first thing ffmpeg complained about, without its `[h264_nvenc @ 0x…]` prefix."""
    for line in stderr.splitlines():
        text = _LOG_PREFIX.sub("", line).strip()
        if text and not text.startswith(("Svt[info]", "Svt[warn]")):
            return text
    return "no message"


def trial_encode(
    ffmpeg: str,
    encoder: str,
    runner: FfmpegRunner,
    *,
    devices: HwDevices | None = None,
    timeout_s: float = TRIAL_TIMEOUT_S,
) -> EncoderFailure | None:
    """Encode one frame with `encoder`; None when it worked, else why not."""
    argv = trial_argv(ffmpeg, encoder, devices=devices)
    try:
        result = runner.run(argv, timeout_s=timeout_s)
    except FfmpegNotFoundError:
        raise
    except FfmpegTimeoutError as error:
        return EncoderFailure(f"trial encode ran past {timeout_s:g} s", error.stderr_tail)
    except FfmpegError as error:  # killed by a signal: a crashing driver
        return EncoderFailure(error.message, error.stderr_tail)
    if result.returncode == 0:
        return None
    return EncoderFailure(
        f"exit code {result.returncode}: {headline(result.stderr)}", stderr_tail(result.stderr)
    )


def default_cache_dir() -> Path:
    return state_dir() / "encoder-probe"


def cache_key(
    ffmpeg: str, gpus: Iterable[GpuInfo], devices: HwDevices, encoders: Iterable[str]
) -> dict[str, Any]:
    """What a cached verdict depends on; any change means probing again."""
    path = os.path.realpath(ffmpeg)
    stat = os.stat(path)
    return {
        "probe_version": PROBE_VERSION,
        "ffmpeg": path,
        "ffmpeg_size": stat.st_size,
        "ffmpeg_mtime_ns": stat.st_mtime_ns,
        "gpus": sorted([gpu.vendor, gpu.uuid, gpu.driver or ""] for gpu in gpus),
        "devices": [devices.render_device, devices.cuda_device],
        "encoders": sorted(encoders),
    }


def _cache_path(cache_dir: Path, key: Mapping[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    return cache_dir / f"encoders-{digest[:16]}.json"


def _read_cache(path: Path, key: Mapping[str, Any]) -> EncoderReport | None:
    try:
        data = json.loads(path.read_text())
        if data.get("key") != json.loads(json.dumps(key)):
            return None
        return EncoderReport.from_json(data, from_cache=True)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        log.debug("encoder cache unreadable", extra={"path": str(path), "error": repr(error)})
        return None


def _write_cache(path: Path, key: Mapping[str, Any], report: EncoderReport) -> None:
    data = {"key": key, "probed_at": datetime.now(UTC).isoformat(), **report.to_json()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=path.parent, prefix=".encoders-", suffix=".tmp", delete=False
        ) as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
        os.replace(handle.name, path)
    except OSError as error:  # a read-only state dir costs a re-probe next time, nothing more
        log.warning("encoder cache not written", extra={"path": str(path), "error": str(error)})


def probe_encoders(
    ffmpeg: str,
    runner: FfmpegRunner,
    *,
    gpus: Sequence[GpuInfo] = (),
    cache_dir: Path | None = None,
    refresh: bool = False,
    encoders: Iterable[str] | None = None,
    devices: HwDevices | None = None,
    timeout_s: float = TRIAL_TIMEOUT_S,
) -> EncoderReport:
    """Verify `encoders` (default: every encoder vmafx can drive) by trial, or read the cache.

    `cache_dir` defaults to `<state dir>/encoder-probe`; `refresh` ignores what is cached.
    """
    devices = devices or HwDevices()
    names = list(ENCODERS) if encoders is None else [encoder_info(n).name for n in encoders]
    names = list(dict.fromkeys(names))
    key = cache_key(ffmpeg, gpus, devices, names)
    path = _cache_path(cache_dir or default_cache_dir(), key)
    if not refresh and (cached := _read_cache(path, key)) is not None:
        return cached
    listed = list_encoders(ffmpeg, runner)
    verified: set[str] = set()
    failures: dict[str, EncoderFailure] = {}
    for name in names:
        failure = (
            trial_encode(ffmpeg, name, runner, devices=devices, timeout_s=timeout_s)
            if name in listed
            else EncoderFailure(NOT_BUILT)
        )
        if failure is None:
            verified.add(name)
        else:
            failures[name] = failure
            if name in listed:
                log.info("encoder not offered", extra={"encoder": name, "reason": failure.reason})
    report = EncoderReport(frozenset(verified), failures)
    _write_cache(path, key, report)
    return report
