"""`ObjectStore`: what vmafx needs from an object store (the port; adapters beside it)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Protocol

from vmafx.core.remote import ObjectUrl

#: Seconds a signed URL stays valid by default: long enough for ffmpeg to read a long input
#: (each range request is checked against it), short enough to be worthless soon after.
DEFAULT_TTL_S = 3600


@dataclasses.dataclass(frozen=True)
class ObjectInfo:
    url: ObjectUrl
    size: int


class ObjectStore(Protocol):
    def stat(self, url: ObjectUrl) -> ObjectInfo:
        """Size of the object; InputNotFoundError, AuthError or UnavailableError."""
        ...

    def read_head(self, url: ObjectUrl, size: int = 4096) -> bytes:
        """The first `size` bytes (one range request)."""
        ...

    def sign_get(self, url: ObjectUrl, ttl_s: int = DEFAULT_TTL_S) -> str:
        """A URL that reads the object over HTTP(S) with range requests, valid `ttl_s`."""
        ...

    def sign_put(self, url: ObjectUrl, ttl_s: int = DEFAULT_TTL_S) -> str:
        """A URL that writes the object with one PUT, valid `ttl_s`."""
        ...

    def upload(self, path: Path, url: ObjectUrl) -> None:
        """Write a local file to `url`, checksummed; nothing under `url` unless it completed."""
        ...

    def list(self, prefix: ObjectUrl) -> list[ObjectInfo]:
        """Objects whose key starts with `prefix.key`."""
        ...
