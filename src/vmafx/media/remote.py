"""Remote inputs at ffmpeg's edge: their `-i` arguments, a runner that keeps signed URLs out of
every result and error, and what ffmpeg's HTTP errors mean for the user.

A remote input reaches ffmpeg as a signed HTTP(S) URL (`vmafx.core.remote.RemoteInput`), read
with range requests: no copy on disk, no FUSE. ffmpeg prints the URLs it opens, so every argv,
stderr and error message that leaves `RedactingRunner` has each signed URL replaced by the
name the user gave (`s3://bkt/ref.mp4`), and any other signature-looking parameter blanked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from vmafx.core.input_policy import READABLE
from vmafx.core.remote import RemoteInput, redact
from vmafx.errors import FfmpegError, InputNotFoundError, NotVideoError, SignedUrlError, VmafxError
from vmafx.media.runner import CancelToken, FfmpegRunner, ProgressCallback, RunResult
from vmafx.media.urls import whitelist_args


def remote_input_args(remote: RemoteInput) -> list[str]:
    """`-protocol_whitelist https,tls,tcp -format_whitelist ... -i SIGNED_URL` (http,tcp for a
    plain-HTTP endpoint): the input may open that one URL's protocols and nothing else."""
    return [*whitelist_args(remote.protocols), "-i", remote.url]


class RedactingRunner:
    """An `FfmpegRunner` whose results and errors never carry a signed URL of `remote`."""

    def __init__(self, inner: FfmpegRunner, remote: Sequence[RemoteInput]) -> None:
        self._inner = inner
        self._remote = tuple(remote)

    def _clean(self, text: str) -> str:
        return redact(text, self._remote)

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout_s: float | None = None,
        cancel: CancelToken | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> RunResult:
        try:
            result = self._inner.run(
                argv, timeout_s=timeout_s, cancel=cancel, on_progress=on_progress
            )
        except FfmpegError as error:
            error.argv = [self._clean(part) for part in error.argv]
            error.stderr_tail = self._clean(error.stderr_tail)
            error.message = self._clean(error.message)
            error.args = (str(error),)
            raise
        return dataclasses.replace(
            result,
            argv=[self._clean(part) for part in result.argv],
            stderr=self._clean(result.stderr),
            stdout=self._clean(result.stdout),
        )


def remote_error(remote: Sequence[RemoteInput], stderr: str) -> VmafxError | None:
    """What ffmpeg's (redacted) stderr says went wrong reading a remote input, as the user's
    error: 403 (expired, altered or unauthorised URL), 404 (no such object); None if neither.
    ffmpeg names the input it failed to open (`Error opening input file NAME.`); an HTTP error
    while reading one already open names none, so all remote inputs are named then."""
    for item in remote:
        if f"Error opening input file {item.name}." in stderr:
            reason = _http_reason(stderr)
            if reason is not None:
                return _http_error(item.name, reason)
    reason = _http_reason(stderr)
    if reason is None:
        return None
    return _http_error(" or ".join(item.name for item in remote), reason)


def _http_reason(stderr: str) -> str | None:
    for line in stderr.splitlines():
        if "HTTP error 403" in line or "403 Forbidden" in line:
            return "403"
        if "HTTP error 404" in line or "404 Not Found" in line:
            return "404"
    return None


def _http_error(name: str, status: str) -> VmafxError:
    if status == "403":
        return SignedUrlError(
            f"The object store refused to serve {name} (HTTP 403 Forbidden): the signed URL "
            "expired or was altered, or the credentials that signed it may not read it.",
            hint="Run again (a fresh URL is signed each time); if it repeats, check that the "
            "credentials may read this object (s3:GetObject) and that the clock is right.",
        )
    return InputNotFoundError(
        f"The input {name} does not exist (HTTP 404 from the object store).",
        path=name,
        hint="Check the bucket and key (`aws s3 ls s3://BUCKET/PREFIX` lists them).",
    )


def unreadable_remote(remote: RemoteInput, reason: str) -> NotVideoError:
    return NotVideoError(
        f"The input {remote.name} is not a video vmafx can read ({reason}).",
        path=remote.name,
        hint=f"Check that the object is complete and in a container vmafx reads ({READABLE}).",
    )
