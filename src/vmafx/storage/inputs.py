"""Remote inputs under the input policy, ready for ffmpeg (`RemoteInput`).

For each URL, before ffmpeg opens anything: the name must not say playlist or list of files;
the object must exist (a HEAD, or a range GET for a web URL); its first 4 KiB must not be a
playlist, concat list or DASH manifest whatever it is called (the same sniff as for local
files); then a GET URL valid `ttl_s` is signed for ffmpeg, which reads it with range requests
under `-protocol_whitelist https,tls,tcp` (or `http,tcp`) and the usual `-format_whitelist`.
Raw YUV is not read remotely (it needs a size on disk and seeks by byte offset).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Sequence

from vmafx.core.input_policy import (
    check_path_text,
    multi_file_error,
    multi_file_kind,
    multi_file_name_kind,
)
from vmafx.core.remote import (
    HTTP_SCHEMES,
    RemoteInput,
    is_object_url,
    is_remote,
    parse_object_url,
    redact,
    url_scheme,
)
from vmafx.errors import UsageError
from vmafx.storage import signed
from vmafx.storage.port import DEFAULT_TTL_S, ObjectStore

StoreFor = Callable[[str], ObjectStore]
_RAW = (".yuv", ".raw")


def open_remote(
    value: str, store_for: StoreFor, *, field: str = "input", ttl_s: int = DEFAULT_TTL_S
) -> RemoteInput:
    """`value` (s3://…, gs://…, az://…, https://…) checked, sniffed and signed for ffmpeg."""
    name = redact(value)
    check_path_text(value, field)
    kind = multi_file_name_kind(urlpath(value))
    if kind is not None:
        raise multi_file_error(name, field, kind)
    if urlpath(value).lower().endswith(_RAW):
        raise UsageError(
            f"The {field} {name} is raw YUV; raw video is read from local files only.",
            hint="Copy it to a local file, or wrap it in a container (ffmpeg -f rawvideo ... "
            "-c copy clip.mkv).",
        )
    scheme = url_scheme(value)
    if scheme in HTTP_SCHEMES:
        # named as given (the request and report carry it so); any signature in it is blanked
        # from messages by `redact`'s safety net
        head, size = signed.read_head(value, name)
        _refuse_multi_file(head, name, field)
        return RemoteInput(name=value, url=value, size=size)
    if not is_object_url(value):
        raise UsageError(f"The {field} {name} is not a URL vmafx reads.")
    url = parse_object_url(value, field)
    store = store_for(url.scheme)
    info = store.stat(url)
    _refuse_multi_file(store.read_head(url), name, field)
    return RemoteInput(name=name, url=store.sign_get(url, ttl_s), size=info.size)


def open_all(
    values: Sequence[str], store_for: StoreFor, *, ttl_s: int = DEFAULT_TTL_S
) -> tuple[RemoteInput, ...]:
    """Every distinct remote value of `values`, opened; local paths are skipped."""
    cache: dict[str, ObjectStore] = {}

    def cached(scheme: str) -> ObjectStore:
        if scheme not in cache:
            cache[scheme] = store_for(scheme)
        return cache[scheme]

    remote = dict.fromkeys(value for value in values if is_remote(value))
    return tuple(open_remote(value, cached, ttl_s=ttl_s) for value in remote)


def urlpath(value: str) -> str:
    """The path part of a URL (what its extension is read from)."""
    return urllib.parse.urlsplit(value).path


def _refuse_multi_file(head: bytes, name: str, field: str) -> None:
    kind = multi_file_kind(head)
    if kind is not None:
        raise multi_file_error(name, field, kind)
