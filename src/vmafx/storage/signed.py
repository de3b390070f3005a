"""Plain HTTP(S) against URLs that carry their own authorisation (signed URLs, public web
inputs): read the first bytes with a range request, upload a file with one PUT. Standard
library only, so a node uploads its outputs without any cloud SDK or credentials.

Every error names the URL by `name` (what the user gave), never by the signed URL.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import urllib.parse
from pathlib import Path

from vmafx.errors import InputNotFoundError, OutputWriteError, SignedUrlError, UnavailableError

_CHUNK = 1024 * 1024
#: One PUT carries at most 5 GiB on S3; larger outputs need the multipart API (not signed here).
MAX_SIGNED_PUT = 5 * 1024**3


def _connection(url: str, timeout_s: float) -> tuple[http.client.HTTPConnection, str]:
    parts = urllib.parse.urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "https":
        return http.client.HTTPSConnection(parts.netloc, timeout=timeout_s), target
    return http.client.HTTPConnection(parts.netloc, timeout=timeout_s), target


def read_head(url: str, name: str, size: int = 4096, timeout_s: float = 30) -> tuple[bytes, int]:
    """The first `size` bytes of `url` and the whole object's size (one range request)."""
    try:
        connection, target = _connection(url, timeout_s)
        try:
            connection.request("GET", target, headers={"Range": f"bytes=0-{size - 1}"})
            answer = connection.getresponse()
            body = answer.read(size)
        finally:
            connection.close()
    except OSError as error:
        raise UnavailableError(
            f"{name} cannot be reached ({error.strerror or type(error).__name__}).",
            hint="Check the address and the network.",
        ) from None
    _raise_for_status(answer.status, answer.reason, name, "read")
    total = answer.getheader("Content-Range", "").rpartition("/")[2]
    length = int(total) if total.isdigit() else int(answer.getheader("Content-Length") or 0)
    return body, length


def put_file(path: Path, url: str, name: str, timeout_s: float = 300) -> str:
    """Upload `path` with one PUT to the signed `url`, with its MD5 (Content-MD5) for the server
    to check: a corrupted body is refused, and nothing appears under the name unless the whole
    PUT succeeded. Returns that MD5 (hex)."""
    size = path.stat().st_size
    if size > MAX_SIGNED_PUT:
        raise OutputWriteError(
            f"{path} is {size:,} bytes; one signed upload carries at most {MAX_SIGNED_PUT:,}.",
            path=name,
            hint="Write outputs under 5 GiB, or to a local path under the scoring roots.",
        )
    digest = hashlib.md5()  # noqa: S324 - Content-MD5 is S3's integrity check, not security
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    headers = {
        "Content-Length": str(size),
        "Content-MD5": base64.b64encode(digest.digest()).decode(),
    }
    try:
        connection, target = _connection(url, timeout_s)
        try:
            with path.open("rb") as handle:
                connection.request("PUT", target, body=handle, headers=headers)
                answer = connection.getresponse()
                answer.read()
        finally:
            connection.close()
    except OSError as error:
        raise OutputWriteError(
            f"Uploading to {name} failed ({error.strerror or type(error).__name__}); nothing "
            "was written under that name.",
            path=name,
            hint="Run again; check the network to the object store if it repeats.",
        ) from None
    _raise_for_status(answer.status, answer.reason, name, "write")
    return digest.hexdigest()


def _raise_for_status(status: int, reason: str, name: str, action: str) -> None:
    if status < 300:
        return
    if status == 404:
        raise InputNotFoundError(
            f"{name} does not exist (HTTP 404).",
            path=name,
            hint="Check the bucket and key (`aws s3 ls s3://BUCKET/PREFIX` lists them).",
        )
    if status in (401, 403):
        raise SignedUrlError(
            f"The object store refused to {action} {name} (HTTP {status} {reason}): the signed "
            "URL expired or was altered, or its signer may not access this object.",
            hint="Run again (a fresh URL is signed each time); if it repeats, check the "
            "credentials' permissions and the clocks.",
        )
    if action == "write":
        raise OutputWriteError(
            f"Uploading to {name} failed (HTTP {status} {reason}); nothing was written under "
            "that name.",
            path=name,
            hint="A BadDigest (400) means the file changed or was corrupted in transit: run again.",
        )
    raise UnavailableError(f"Reading {name} failed (HTTP {status} {reason}).")
