"""Outputs at object URLs: written to local scratch, then uploaded with one PUT to the URL the
controller signed for this claim (the node holds no credentials).

The object appears under its name only when the whole PUT succeeded (S3 semantics), with its
MD5 checked by the server (`vmafx.storage.signed.put_file`); a node killed mid-upload leaves
nothing there, and the scratch folder is removed whatever happens. A refused URL (403) is a
`SignedUrlError`, retried with a fresh URL; any other failed upload fails the attempt.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path, PurePosixPath

from vmafx.core.input_policy import check_single_output_name
from vmafx.core.remote import is_object_url, parse_object_url
from vmafx.errors import UsageError
from vmafx.node.handlers.base import JobContext
from vmafx.storage.signed import put_file


class RemoteOutput:
    """A local scratch file standing for the object `name` until `upload`."""

    def __init__(self, name: str, signed_url: str, job_id: str) -> None:
        url = parse_object_url(name, "output")
        check_single_output_name(url.key)
        self.name = name
        self._signed_url = signed_url
        self._scratch = Path(tempfile.mkdtemp(prefix=f"vmafx-out-{job_id[:8]}-"))
        self.path = self._scratch / PurePosixPath(url.key).name

    def __repr__(self) -> str:
        return f"RemoteOutput({self.name!r})"

    def upload(self) -> str:
        """Upload the scratch file; its MD5 (hex), which the server checked."""
        return put_file(self.path, self._signed_url, self.name)

    def cleanup(self) -> None:
        shutil.rmtree(self._scratch, ignore_errors=True)


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
