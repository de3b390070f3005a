"""Inputs and outputs in object storage, as values: which URLs name objects, what ffmpeg may
open to read a signed one, and how a signed URL is kept out of every message. Pure: no I/O.

- `s3://BUCKET/KEY`, `gs://BUCKET/KEY`, `az://CONTAINER/KEY` and `sftp://HOST/PATH` name
  objects (`ObjectUrl`); `vmafx.storage` stats, reads, signs and uploads them.
- ffmpeg never sees credentials: it reads a short-lived **signed** HTTP(S) URL
  (`RemoteInput.url`), with `-protocol_whitelist` narrowed to what that URL needs
  (`https,tls,tcp` or `http,tcp`) and the same `-format_whitelist` as local files.
- A signed URL is a bearer credential for its lifetime, so it never reaches a message, a log, a
  job row or a report: `RemoteInput` hides it from `repr`, and `redact` replaces it (and any
  signature-looking query parameter) with the name the user gave.
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from collections.abc import Iterable, Mapping

from vmafx.errors import UsageError

#: URL schemes that name objects, and the vmafx extra whose SDK reads them.
STORAGE_EXTRAS: Mapping[str, str] = {"s3": "s3", "gs": "gcs", "az": "azure", "sftp": "sftp"}
#: Plain web inputs: read as they are, nothing to sign.
HTTP_SCHEMES = frozenset({"http", "https"})
#: What ffmpeg may open to read a URL of each scheme (TLS for https, nothing else).
PROTOCOLS: Mapping[str, str] = {"https": "https,tls,tcp", "http": "http,tcp"}
#: Query parameters that carry a signature or a credential (S3, GCS, Azure SAS, generic).
_SECRET_PARAMS = re.compile(
    r"(?i)\b(X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|X-Goog-Signature|"
    r"X-Goog-Credential|Signature|AWSAccessKeyId|sig)"
    r"=[^&\s'\"]+"
)
REDACTED = "[redacted]"


@dataclasses.dataclass(frozen=True)
class ObjectUrl:
    """`scheme://bucket/key` split; `str()` gives it back."""

    scheme: str
    bucket: str
    key: str

    def __str__(self) -> str:
        return f"{self.scheme}://{self.bucket}/{self.key}"

    @property
    def extra(self) -> str:
        return STORAGE_EXTRAS[self.scheme]


def url_scheme(value: str) -> str | None:
    """The scheme of a `scheme://` URL, lower-case; None for anything else."""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]+)://", value)
    return match.group(1).lower() if match else None


def is_object_url(value: str) -> bool:
    return url_scheme(value) in STORAGE_EXTRAS


def is_remote(value: str) -> bool:
    """An object-storage or web URL (what `vmafx score` reads by signed or plain HTTP(S))."""
    scheme = url_scheme(value)
    return scheme in STORAGE_EXTRAS or scheme in HTTP_SCHEMES


def parse_object_url(value: str, field: str = "input") -> ObjectUrl:
    """`s3://bkt/dir/clip.mp4` → ObjectUrl; UsageError when it names no object."""
    scheme = url_scheme(value)
    if scheme is None or scheme not in STORAGE_EXTRAS:
        raise UsageError(
            f"{field} {value!r} is not an object-storage URL.",
            hint=f"Write {', '.join(f'{s}://BUCKET/KEY' for s in STORAGE_EXTRAS)}.",
        )
    parts = urllib.parse.urlsplit(value)
    if parts.query or parts.fragment:
        raise UsageError(
            f"{field} {redact(value)!r} has a query or fragment; an object URL is "
            f"{scheme}://BUCKET/KEY (vmafx signs it itself).",
            hint="Drop everything from '?' on; credentials come from the environment.",
        )
    bucket, key = parts.netloc, parts.path.lstrip("/")
    if not bucket or not key or key.endswith("/"):
        raise UsageError(
            f"{field} {value!r} names no object: give {scheme}://BUCKET/KEY.",
            hint=f"For example {scheme}://media/clips/ref.mp4.",
        )
    return ObjectUrl(scheme, bucket, key)


def protocols_for(url: str) -> str:
    """The `-protocol_whitelist` for reading `url` (https or http), nothing more."""
    scheme = url_scheme(url)
    if scheme is None or scheme not in PROTOCOLS:
        raise UsageError(f"ffmpeg reads remote inputs over http(s) only, not {scheme!r}.")
    return PROTOCOLS[scheme]


@dataclasses.dataclass(frozen=True)
class RemoteInput:
    """A remote input, ready for ffmpeg: the name the user gave (used in every message and
    report) and the URL ffmpeg opens (signed: never logged, hidden from repr)."""

    name: str
    url: str = dataclasses.field(repr=False)
    size: int | None = None

    @property
    def protocols(self) -> str:
        return protocols_for(self.url)


def redact(text: str, inputs: Iterable[RemoteInput] = ()) -> str:
    """`text` with every signed URL of `inputs` replaced by its name, and any other
    signature-looking query parameter blanked out (a safety net for URLs ffmpeg re-quotes)."""
    for item in inputs:
        if item.url != item.name:
            text = text.replace(item.url, item.name)
            text = text.replace(urllib.parse.unquote(item.url), item.name)
    return _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
