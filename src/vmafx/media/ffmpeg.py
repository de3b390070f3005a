"""Finding ffmpeg and checking, once per binary, that it can do what vmafx asks of it."""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import shutil
from pathlib import Path

from vmafx.errors import FfmpegCapabilityError, FfmpegNotFoundError
from vmafx.media.runner import FfmpegRunner, SubprocessRunner, check_returncode

_INSTALL_HINT = (
    "Reinstall the Python package that ships it (`pip install --force-reinstall imageio-ffmpeg`), "
    "or set VMAFX_FFMPEG to an ffmpeg built with --enable-libvmaf."
)


@dataclasses.dataclass(frozen=True)
class FfmpegInfo:
    """An ffmpeg binary: where it is, its version and the filters it was built with."""

    path: str
    version: str
    filters: frozenset[str]

    @property
    def has_libvmaf(self) -> bool:
        return "libvmaf" in self.filters


def locate(override: str | None = None) -> str:
    """The ffmpeg to use: `override` (VMAFX_FFMPEG) or imageio-ffmpeg's own binary."""
    if override:
        resolved = shutil.which(override) if os.sep not in override else override
        if not resolved or not Path(resolved).is_file():
            raise FfmpegNotFoundError(
                f"VMAFX_FFMPEG is set to {override!r}, but there is no such file.",
                hint="Fix the path, or unset VMAFX_FFMPEG to use the ffmpeg of imageio-ffmpeg.",
            )
        return resolved
    try:
        import imageio_ffmpeg  # noqa: PLC0415 - optional at import time, required here

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as exc:
        raise FfmpegNotFoundError(
            f"No ffmpeg found: imageio-ffmpeg could not provide its binary ({exc}).",
            hint=_INSTALL_HINT,
        ) from None


def parse_version(text: str) -> str:
    match = re.search(r"ffmpeg version (\S+)", text)
    return match.group(1) if match else "unknown"


def parse_filters(text: str) -> frozenset[str]:
    names = set()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and re.fullmatch(r"[.A-Z|]{2,3}", parts[0]):
            names.add(parts[1])
    return frozenset(names)


@functools.lru_cache(maxsize=8)
def _inspect_cached(path: str, mtime: float) -> FfmpegInfo:
    return inspect(path, SubprocessRunner())


def inspect(path: str, runner: FfmpegRunner) -> FfmpegInfo:
    version = runner.run([path, "-hide_banner", "-version"], timeout_s=30)
    check_returncode(version, "reporting its version", hint=_INSTALL_HINT)
    filters = runner.run([path, "-hide_banner", "-filters"], timeout_s=30)
    check_returncode(filters, "listing its filters", hint=_INSTALL_HINT)
    return FfmpegInfo(path, parse_version(version.stdout), parse_filters(filters.stdout))


def ffmpeg_info(override: str | None = None) -> FfmpegInfo:
    """Locate ffmpeg and check it has libvmaf; cached per binary and modification time."""
    path = locate(override)
    info = _inspect_cached(path, os.stat(path).st_mtime)
    if not info.has_libvmaf:
        raise FfmpegCapabilityError(
            f"The ffmpeg at {path} (version {info.version}) has no libvmaf filter, "
            "so it cannot compute VMAF.",
            hint=_INSTALL_HINT,
        )
    return info
