"""Outputs at object URLs: written to local scratch, then uploaded with one PUT to the URL the
controller signed for this claim (the node holds no credentials).

The object appears under its name only when the whole PUT succeeded (S3 semantics), with its
MD5 checked by the server (`vmafx.storage.signed.put_file`); a node killed mid-upload leaves
nothing there, and the scratch folder is removed whatever happens. A refused URL (403) is a
`SignedUrlError`, retried with a fresh URL; any other failed upload fails the attempt.

A node killed (SIGKILL, a crash) cannot remove its scratch folder, which holds a whole encode.
Each folder holds a `.lock` file its node keeps locked (`flock`) while the job runs; a node
starting removes every `vmafx-out-*` folder in its temp folder whose lock nobody holds
(`sweep_stale_scratch`), so nodes sharing a machine never remove each other's live folders.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from vmafx.core.input_policy import check_single_output_name
from vmafx.core.remote import is_object_url, parse_object_url
from vmafx.errors import UsageError
from vmafx.node.handlers.base import JobContext
from vmafx.storage.signed import put_file

log = logging.getLogger(__name__)
SCRATCH_PREFIX = "vmafx-out-"
_LOCK = ".lock"


class RemoteOutput:
    """A local scratch file standing for the object `name` until `upload`."""

    def __init__(self, name: str, signed_url: str, job_id: str) -> None:
        url = parse_object_url(name, "output")
        check_single_output_name(url.key)
        self.name = name
        self._signed_url = signed_url
        # Made and locked under another name, then renamed: a sweep never sees it unlocked.
        making = Path(tempfile.mkdtemp(prefix=f"vmafx-making-{job_id[:8]}-"))
        self._lock = os.open(making / _LOCK, os.O_CREAT | os.O_WRONLY, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX)  # released by close, or by the kernel at death
        self._scratch = making.with_name(making.name.replace("vmafx-making-", SCRATCH_PREFIX))
        making.rename(self._scratch)
        self.path = self._scratch / PurePosixPath(url.key).name

    def __repr__(self) -> str:
        return f"RemoteOutput({self.name!r})"

    def upload(self) -> str:
        """Upload the scratch file; its MD5 (hex), which the server checked."""
        return put_file(self.path, self._signed_url, self.name)

    def cleanup(self) -> None:
        shutil.rmtree(self._scratch, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.close(self._lock)


def sweep_stale_scratch(folder: Path | None = None) -> list[Path]:
    """Remove the scratch folders in `folder` (the temp folder) that no live node holds: left
    by a node that was killed. Returns those removed."""
    removed: list[Path] = []
    for path in Path(folder or tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*"):
        try:
            if not path.is_dir() or path.is_symlink():
                continue
            fd = os.open(path / _LOCK, os.O_RDONLY)
        except OSError:
            continue  # no lock file: not ours, or being made this instant
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a live node holds it
        finally:
            os.close(fd)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    if removed:
        log.info("removed %d scratch folder(s) a killed node left behind", len(removed))
    return removed


def remote_output(value: str, context: JobContext) -> RemoteOutput | None:
    """A `RemoteOutput` for an object URL (None for a local path)."""
    if not is_object_url(value):
        return None
    signed = context.signed_outputs.get(value)
    if signed is None:
        raise UsageError(
            f"output {value!r} is an object URL, and the controller sent no signed upload URL "
            "for it with this claim.",
            hint="Configure object storage for the job's tenant on the controller "
            "(--storage-dir, docs/storage.md); nodes hold no cloud credentials.",
        )
    return RemoteOutput(value, signed, context.job.id)
