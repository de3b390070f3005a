"""`FsspecObjectStore`: gs://, az:// and sftp:// through fsspec (gcsfs, adlfs, sshfs).

NEVER RUN HERE against a provider (no Google Cloud, Azure or SFTP account on these machines):
written against fsspec's documented interface (`info`, `cat_file`, `sign`, `put_file`, `mv`,
`find`) and tested only over fsspec's in-memory filesystem (tests/unit/storage). Credentials
come from each SDK's own chain (`GOOGLE_APPLICATION_CREDENTIALS`; `AZURE_STORAGE_ACCOUNT_NAME`
+ `AZURE_STORAGE_ACCOUNT_KEY` or `AZURE_STORAGE_CONNECTION_STRING`; `~/.ssh` for sftp). gcsfs
and adlfs sign GET URLs
(V4 signed URLs, SAS); sshfs cannot sign, so an sftp input is refused with the reason
(ffmpeg's own sftp protocol would need the password in its URL).

Uploads go to `KEY.vmafx-part-<random>` and are moved to `KEY` once complete, so a failed one
leaves nothing under the final name (GCS and Azure commit a single object atomically anyway).
"""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path
from typing import Any

from vmafx.core.remote import ObjectUrl
from vmafx.errors import (
    AuthError,
    InputNotFoundError,
    OutputWriteError,
    UnavailableError,
    UsageError,
    VmafxError,
)
from vmafx.storage.extras import require
from vmafx.storage.port import DEFAULT_TTL_S, ObjectInfo

_PROTOCOLS = {"gs": "gcs", "az": "az", "sftp": "sftp"}


class FsspecObjectStore:
    def __init__(self, scheme: str, **options: Any) -> None:
        self._scheme = scheme
        self._options = options
        self._fs: Any = None

    def __repr__(self) -> str:
        return f"FsspecObjectStore({self._scheme!r})"

    @property
    def fs(self) -> Any:
        if self._fs is None:
            require(self._scheme)
            import fsspec  # noqa: PLC0415

            self._fs = fsspec.filesystem(_PROTOCOLS[self._scheme], **self._options)
        return self._fs

    def _path(self, url: ObjectUrl) -> str:
        if self._scheme == "sftp":
            return "/" + url.key
        return f"{url.bucket}/{url.key}"

    def stat(self, url: ObjectUrl) -> ObjectInfo:
        try:
            info = self.fs.info(self._path(url))
        except Exception as error:
            raise _translate(error, url, "read") from None
        return ObjectInfo(url, int(info.get("size") or 0))

    def read_head(self, url: ObjectUrl, size: int = 4096) -> bytes:
        try:
            return bytes(self.fs.cat_file(self._path(url), start=0, end=size))
        except Exception as error:
            raise _translate(error, url, "read") from None

    def sign_get(self, url: ObjectUrl, ttl_s: int = DEFAULT_TTL_S) -> str:
        try:
            return str(self.fs.sign(self._path(url), expiration=ttl_s))
        except NotImplementedError:
            raise UsageError(
                f"{url} cannot be read by URL: {self._scheme} has no signed URLs, and vmafx "
                "never hands ffmpeg a password.",
                hint="Copy the file to S3, GCS or Azure (or a local path) and score it there.",
            ) from None
        except Exception as error:
            raise _translate(error, url, "sign") from None

    def sign_put(self, url: ObjectUrl, ttl_s: int = DEFAULT_TTL_S) -> str:
        raise UsageError(
            f"Signed uploads to {self._scheme}:// are not supported; farm outputs go to s3://.",
            hint="Write farm outputs to an s3:// URL (or a local path under the scoring roots).",
        )

    def upload(self, path: Path, url: ObjectUrl) -> None:
        final = self._path(url)
        temp = f"{final}.vmafx-part-{secrets.token_hex(4)}"
        try:
            self.fs.put_file(str(path), temp)
            self.fs.mv(temp, final)
        except Exception as error:
            with contextlib.suppress(Exception):  # best effort: the temp name is not the output
                self.fs.rm_file(temp)
            raise _translate(error, url, "write") from None

    def list(self, prefix: ObjectUrl) -> list[ObjectInfo]:
        try:
            found = self.fs.find(self._path(prefix), detail=True)
        except Exception as error:
            raise _translate(error, prefix, "list") from None
        out = []
        for path, info in found.items():
            text = str(path).lstrip("/")
            if self._scheme == "sftp":  # the host is the "bucket", the path the key
                bucket, key = prefix.bucket, text
            else:
                bucket, _, key = text.partition("/")
            out.append(ObjectInfo(ObjectUrl(prefix.scheme, bucket, key), int(info.get("size", 0))))
        return out


def _translate(error: Exception, url: ObjectUrl, action: str) -> VmafxError:
    if isinstance(error, VmafxError):
        return error
    if isinstance(error, FileNotFoundError):
        return InputNotFoundError(f"The object {url} does not exist.", path=str(url))
    if isinstance(error, PermissionError):
        return AuthError(
            f"The object store refused the credentials to {action} {url}.",
            hint="Check the provider's credentials (docs/storage.md lists the variables).",
        )
    if action == "write":
        return OutputWriteError(
            f"Uploading to {url} failed ({type(error).__name__}); nothing was written under "
            "that name.",
            path=str(url),
        )
    return UnavailableError(f"The object store failed to {action} {url} ({type(error).__name__}).")
