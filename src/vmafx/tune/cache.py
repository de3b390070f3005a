"""Probe results keyed by content: source bytes + encoder + settings + what was scored.

One JSON line per probe in `tune/probes.jsonl` under the state folder, appended and flushed as
each probe finishes, so Ctrl-C loses at most the probe in flight and a re-run of the same search
encodes nothing it already measured. A torn last line (a crash mid-write) is skipped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from vmafx.tune.search import Measurement

log = logging.getLogger(__name__)
_BLOCK = 1 << 20
#: Files up to this size are hashed whole; larger ones by size plus 64 blocks spread over them.
_WHOLE = 256 << 20


def content_hash(path: str) -> str:
    """A SHA-256 of the file's content (sampled blocks beyond 256 MiB, with the size)."""
    digest = hashlib.sha256()
    size = os.path.getsize(path)
    digest.update(str(size).encode())
    with open(path, "rb") as src:
        if size <= _WHOLE:
            while chunk := src.read(_BLOCK):
                digest.update(chunk)
        else:
            for i in range(64):
                src.seek(i * (size - _BLOCK) // 63)
                digest.update(src.read(_BLOCK))
    return digest.hexdigest()


def probe_key(**fields: Any) -> str:
    """A stable key for one probe's inputs."""
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class ProbeCache:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._items: dict[str, Measurement] = {}
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        for line in path.read_text(errors="replace").splitlines():
            try:
                item = json.loads(line)
                self._items[item["key"]] = Measurement(**item["measurement"])
            except (ValueError, KeyError, TypeError):
                log.warning("skipping a torn or foreign line in %s", path)

    def get(self, key: str) -> Measurement | None:
        found = self._items.get(key)
        return dataclasses.replace(found, cached=True) if found is not None else None

    def put(self, key: str, measurement: Measurement) -> None:
        self._items[key] = measurement
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"key": key, "measurement": dataclasses.asdict(measurement)})
        with self.path.open("a") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())
