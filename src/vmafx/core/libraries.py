"""Watched folders ("libraries", as Tdarr and Unmanic call them): how their jobs are named.

`vmafx watch` submits each new or changed file of a folder as a job whose batch id is
`watch:NAME` (the library's name) and whose idempotency key is derived from the file's path,
size and modification time (and the rule), so a file is submitted once however often the
watcher restarts, and again when it changes. The controller's `/v1/libraries` groups jobs by
that batch id; the web UI's Libraries page shows it.
"""

from __future__ import annotations

import hashlib
import re

#: Batch ids of watched folders' jobs start with this.
WATCH_PREFIX = "watch:"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$")


def library_batch_id(name: str) -> str:
    return WATCH_PREFIX + name


def library_name(batch_id: str) -> str:
    return batch_id.removeprefix(WATCH_PREFIX)


def valid_name(name: str) -> bool:
    return bool(_NAME.match(name))


def suggested_name(folder: str) -> str:
    """A library name from a folder's last part (`/media/TV Shows` → `TV_Shows`)."""
    base = folder.rstrip("/").rsplit("/", 1)[-1] or "library"
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._-") or "library"
    return name[:48]


def file_key(name: str, rule: str, path: str, size: int, mtime_ns: int) -> str:
    """The idempotency key of one version of one file under one rule of library `name`."""
    digest = hashlib.sha256(f"{rule}\0{path}\0{size}\0{mtime_ns}".encode()).hexdigest()[:32]
    return f"watch:{name}:{digest}"
