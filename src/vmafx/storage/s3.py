"""`S3ObjectStore`: S3 and S3-compatible servers (MinIO, SeaweedFS, R2…) through boto3.

Credentials: explicit (`S3Credentials`, what the controller holds per tenant) or, when none are
given, boto3's own chain: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`),
`AWS_PROFILE`, instance roles; `AWS_ENDPOINT_URL` for an S3-compatible server, `AWS_REGION`.
So `vmafx score s3://…` works wherever `aws s3 cp` does.

URLs are signed with SigV4 (boto3 signs presigned URLs SigV2-style unless told), path-style
when an endpoint is given (a loopback or private server has no bucket DNS names).

Uploads send a SHA-256 the server checks before it keeps the object (a mismatch is refused);
files above `MULTIPART_THRESHOLD` go in parts. S3 makes an object visible under its key only
when its PUT, or the CompleteMultipartUpload of its parts, succeeds: an upload that fails or is
killed leaves nothing under the final name (parts of a killed multipart upload stay invisible
until aborted; boto3 aborts them on failure, and a bucket lifecycle rule
`AbortIncompleteMultipartUpload` cleans up after a killed process).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vmafx.core.remote import ObjectUrl
from vmafx.errors import AuthError, InputNotFoundError, OutputWriteError, UnavailableError
from vmafx.errors import VmafxError as _VmafxError
from vmafx.storage.extras import require
from vmafx.storage.port import DEFAULT_TTL_S, ObjectInfo

#: Files larger than this are uploaded in parts of this size.
MULTIPART_THRESHOLD = 64 * 1024 * 1024
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})
_AUTH_CODES = frozenset(
    {
        "403",
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "AuthorizationHeaderMalformed",
    }
)
_CREDENTIALS_HINT = (
    "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), and AWS_ENDPOINT_URL for "
    "an S3-compatible server; `aws s3 ls s3://BUCKET` should work with the same environment."
)


@dataclasses.dataclass(frozen=True)
class S3Credentials:
    """Explicit credentials (a tenant's, on the controller). The secret never shows in repr."""

    access_key_id: str
    secret_access_key: str = dataclasses.field(repr=False)
    endpoint_url: str | None = None
    region: str | None = None
    session_token: str | None = dataclasses.field(default=None, repr=False)

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> S3Credentials | None:
        """From `AWS_*` names (an environment, or a tenant's secrets file); None without a key."""
        key, secret = values.get("AWS_ACCESS_KEY_ID"), values.get("AWS_SECRET_ACCESS_KEY")
        if not key or not secret:
            return None
        return cls(
            key,
            secret,
            values.get("AWS_ENDPOINT_URL_S3") or values.get("AWS_ENDPOINT_URL") or None,
            values.get("AWS_REGION") or values.get("AWS_DEFAULT_REGION") or None,
            values.get("AWS_SESSION_TOKEN") or None,
        )


def make_client(credentials: S3Credentials | None = None) -> Any:
    """A boto3 S3 client: SigV4, path-style for a custom endpoint, bounded retries."""
    boto3 = require("s3")
    from botocore.config import Config  # noqa: PLC0415

    endpoint = (
        credentials.endpoint_url
        if credentials is not None
        else os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    )
    region = (credentials.region if credentials is not None else None) or (
        os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    )
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path" if endpoint else "auto"},
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
    )
    if credentials is None:
        session = boto3.session.Session()
    else:
        session = boto3.session.Session(
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
        )
    return session.client("s3", endpoint_url=endpoint or None, region_name=region, config=config)


class S3ObjectStore:
    """`ObjectStore` over boto3 (the client is made on first use, so nothing is imported
    before an s3:// URL is actually read)."""

    def __init__(self, credentials: S3Credentials | None = None, client: Any = None) -> None:
        self._credentials = credentials
        self._client = client

    def __repr__(self) -> str:
        return f"S3ObjectStore({self._credentials!r})"

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = make_client(self._credentials)
        return self._client

    def stat(self, url: ObjectUrl) -> ObjectInfo:
        try:
            head = self.client.head_object(Bucket=url.bucket, Key=url.key)
        except Exception as error:
            raise translate(error, url, "read") from None
        return ObjectInfo(url, int(head["ContentLength"]))

    def read_head(self, url: ObjectUrl, size: int = 4096) -> bytes:
        try:
            answer = self.client.get_object(
                Bucket=url.bucket, Key=url.key, Range=f"bytes=0-{size - 1}"
            )
            return bytes(answer["Body"].read(size))
        except Exception as error:
            raise translate(error, url, "read") from None

    def sign_get(self, url: ObjectUrl, ttl_s: int = DEFAULT_TTL_S) -> str:
        return self._sign("get_object", url, ttl_s)

    def sign_put(self, url: ObjectUrl, ttl_s: int = DEFAULT_TTL_S) -> str:
        return self._sign("put_object", url, ttl_s)

    def _sign(self, method: str, url: ObjectUrl, ttl_s: int) -> str:
        try:
            return str(
                self.client.generate_presigned_url(
                    method, Params={"Bucket": url.bucket, "Key": url.key}, ExpiresIn=int(ttl_s)
                )
            )
        except Exception as error:
            raise translate(error, url, "sign") from None

    def upload(self, path: Path, url: ObjectUrl) -> None:
        from boto3.s3.transfer import TransferConfig  # noqa: PLC0415

        config = TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD
        )
        try:
            self.client.upload_file(
                str(path),
                url.bucket,
                url.key,
                ExtraArgs={"ChecksumAlgorithm": "SHA256"},
                Config=config,
            )
        except Exception as error:
            raise translate(error, url, "write") from None

    def list(self, prefix: ObjectUrl) -> list[ObjectInfo]:
        found: list[ObjectInfo] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=prefix.bucket, Prefix=prefix.key
            )
            for page in pages:
                for item in page.get("Contents", []):
                    where = ObjectUrl(prefix.scheme, prefix.bucket, item["Key"])
                    found.append(ObjectInfo(where, int(item["Size"])))
        except Exception as error:
            raise translate(error, prefix, "list") from None
        return found


def translate(error: Exception, url: ObjectUrl, action: str) -> _VmafxError:
    """A boto3/botocore exception as vmafx's error for `url` (never with a secret in it)."""
    name = type(error).__name__
    if isinstance(error, _VmafxError):
        return error
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return AuthError(f"No S3 credentials were found to {action} {url}.", hint=_CREDENTIALS_HINT)
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
        return UnavailableError(
            f"The object store for {url} cannot be reached ({name}).",
            hint="Check AWS_ENDPOINT_URL (for an S3-compatible server) and the network.",
        )
    code = _error_code(error)
    if code in _MISSING_CODES:
        what = "bucket" if code == "NoSuchBucket" else "object"
        return InputNotFoundError(
            f"The {what} {url if what == 'object' else url.bucket} does not exist.",
            path=str(url),
            hint=f"Check the bucket and key (`aws s3 ls s3://{url.bucket}/` lists them).",
        )
    if code in _AUTH_CODES:
        detail = "" if code.isdigit() else f", {code}"
        return AuthError(
            f"The object store refused the credentials to {action} {url} (HTTP 403{detail}): "
            "a wrong access key or secret, or no permission for this bucket.",
            hint=_CREDENTIALS_HINT,
        )
    if action == "write":
        return OutputWriteError(
            f"Uploading to {url} failed ({code or name}); nothing was written under that name.",
            path=str(url),
            hint="Check the bucket, its permissions and free space, then run again.",
        )
    return UnavailableError(
        f"The object store failed to {action} {url} ({code or name}).",
        hint="Run again; check the endpoint (AWS_ENDPOINT_URL) if it repeats.",
    )


def _error_code(error: Exception) -> str:
    wrapped = re.search(r"An error occurred \((\w+)\)", str(error))
    if wrapped:  # boto3's S3UploadFailedError wraps the ClientError's text only
        return wrapped.group(1)
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status:
            return str(status)
    return ""
