"""Outputs at object-storage URLs: written locally first, then uploaded in one piece."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from vmafx.core.input_policy import check_single_output_name
from vmafx.core.remote import is_object_url, parse_object_url
from vmafx.storage.registry import store_for


@contextlib.contextmanager
def local_then_upload(destination: str) -> Iterator[Path]:
    """A local path to write; when the block ends without an error and `destination` is an
    object URL, the file is uploaded there (checksummed, all or nothing) and removed. A
    local `destination` is yielded as it is."""
    if not is_object_url(destination):
        yield Path(destination)
        return
    url = parse_object_url(destination, "output")
    check_single_output_name(url.key)
    suffix = PurePosixPath(url.key).suffix
    handle, name = tempfile.mkstemp(prefix="vmafx-upload-", suffix=suffix)
    os.close(handle)
    path = Path(name)
    try:
        yield path
        store_for(url.scheme).upload(path, url)
    finally:
        path.unlink(missing_ok=True)
