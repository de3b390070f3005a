"""Which `ObjectStore` serves a URL's scheme (local commands: the environment's credentials)."""

from __future__ import annotations

from vmafx.storage.fsspec_store import FsspecObjectStore
from vmafx.storage.port import ObjectStore
from vmafx.storage.s3 import S3ObjectStore


def store_for(scheme: str) -> ObjectStore:
    if scheme == "s3":
        return S3ObjectStore()
    return FsspecObjectStore(scheme)
