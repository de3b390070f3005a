"""Checkpoint files: names, atomic writes, and SHA-256 verification.

A checkpoint is `model_v000042.onnx` plus `model_v000042.onnx.sha256` (the hex digest and a
newline, as the original sidecar wrote it). Every file is written to a temporary name in the same
folder, fsynced and renamed into place, so a reader sees either nothing or the whole file.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from pathlib import Path

from vmafx.errors import ModelError

_NAME = re.compile(r"^model_v(\d{6,})\.onnx$")
_HEX = re.compile(r"^[0-9a-f]{64}$")


def checkpoint_name(version: int) -> str:
    return f"model_v{version:06d}.onnx"


def version_of(name: str) -> int | None:
    """The version in a checkpoint file name, or None for any other file."""
    match = _NAME.match(name)
    return int(match.group(1)) if match else None


def digest_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write `data` to `path` so that no reader ever sees a partial file."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def write_checkpoint(directory: Path, version: int, data: bytes) -> tuple[Path, str]:
    """Write the model, then its digest file; return the model's path and SHA-256."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / checkpoint_name(version)
    digest = sha256_hex(data)
    atomic_write(path, data)
    atomic_write(digest_path(path), (digest + "\n").encode())
    return path, digest


def read_digest_file(path: Path) -> str:
    """The digest recorded beside a checkpoint; ModelError when missing or malformed."""
    sidecar = digest_path(path)
    try:
        text = sidecar.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        raise ModelError(
            f"The checkpoint {path.name} is unverified: {sidecar.name} does not exist.",
            path=str(path),
            version=version_of(path.name),
        ) from None
    token = text.split()[0].lower() if text.split() else ""
    if not _HEX.match(token):
        raise ModelError(f"{sidecar.name} does not hold a SHA-256 hex digest.", path=str(path))
    return token


def read_verified(path: Path, expected_sha256: str | None = None) -> bytes:
    """The checkpoint's bytes, once they hash to its digest file (and to `expected_sha256`)."""
    recorded = read_digest_file(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"The checkpoint {path} does not exist.", path=str(path)) from None
    actual = sha256_hex(data)
    version = version_of(path.name)
    if actual != recorded:
        raise ModelError(
            f"The checkpoint {path.name} fails verification: its SHA-256 is {actual[:16]}…, "
            f"{digest_path(path).name} says {recorded[:16]}… (corrupt, truncated or replaced).",
            path=str(path),
            version=version,
        )
    if expected_sha256 is not None and actual != expected_sha256.lower():
        raise ModelError(
            f"The checkpoint {path.name} hashes to {actual[:16]}…, but the registry lists "
            f"{expected_sha256[:16]}… for it.",
            path=str(path),
            version=version,
        )
    return data
