"""The one input policy: which files vmafx opens as inputs, and how ffmpeg is told to open them.

Used by `vmafx score` (through `vmafx.media`), the controller at submit and the node before it
opens anything, so a file refused in one place is refused in all of them.

- An input is a local path, taken literally: ffmpeg opens it as `file:PATH` with
  `-protocol_whitelist file`, so a name such as `concat:a.mp4|b.mp4`, `file:x.mp4` or `-i.mov`
  is that one file and never another protocol or an option.
- Only regular files (checked with `os.stat`, which opens nothing): a FIFO, a device or a socket
  could block forever or change between the probe and the run; a folder is not a video.
- Only the single-file containers in `INPUT_DEMUXERS` (`-format_whitelist`, and the PyAV probe
  with the same options): a playlist (HLS, DASH), a concat list or an image sequence makes
  ffmpeg open further files that no root check ever saw, so they are refused, by name
  (`MULTI_FILE_SUFFIXES`) before anything is opened, and by ffmpeg for any other name.
- Paths are at most `MAX_PATH_CHARS` characters and contain no control characters.
- Remote inputs: `vmafx score` reads s3/gs/az/http(s) URLs through `vmafx.storage` (signed
  URLs, `vmafx.core.remote`); farm jobs read s3:// objects under the tenant's allow-list
  (`vmafx.controller.storage`); any other URL is refused here (`url_error`).
"""

from __future__ import annotations

import os
import stat
import urllib.parse
from collections.abc import Mapping
from pathlib import PurePath

from vmafx.errors import InputError, InputNotFoundError, NotVideoError, UsageError

#: The longest path accepted (Linux's PATH_MAX); a longer one cannot name a file.
MAX_PATH_CHARS = 4096
#: The only protocol a local input may use.
INPUT_PROTOCOLS = "file"
#: ffmpeg demuxers vmafx reads: each reads one file and never opens another one. Add one only
#: after checking that its demuxer opens no other file (no playlist, reference or sequence).
INPUT_DEMUXERS: tuple[str, ...] = (
    "mov",  # mp4, mov, m4v (ffmpeg's "mov,mp4,m4a,3gp,3g2,mj2"; external drefs stay off)
    "mp4",
    "matroska",  # mkv and webm ("matroska,webm")
    "webm",
    "yuv4mpegpipe",  # y4m
    "ivf",
    "avi",
    "mpegts",
    "flv",
    "h264",  # raw elementary streams
    "hevc",
    "obu",
    "rawvideo",  # .yuv / .raw, always with -f rawvideo and the size given
)
#: `-format_whitelist` for every input ffmpeg or the probe opens.
FORMAT_WHITELIST = ",".join(INPUT_DEMUXERS)
#: What the user is told vmafx reads.
READABLE = "mp4/mov, mkv/webm, y4m, ivf, avi, mpeg-ts, flv, raw h264/hevc/av1, raw .yuv"
#: File names refused before anything is opened: each makes ffmpeg open other files.
MULTI_FILE_SUFFIXES: Mapping[str, str] = {
    ".m3u8": "an HLS playlist",
    ".m3u": "a playlist",
    ".mpd": "a DASH manifest",
    ".ffconcat": "an ffmpeg concat list",
    ".concat": "an ffmpeg concat list",
}
#: The first bytes that give a multi-file format away whatever the file is called.
_MULTI_FILE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"#EXTM3U", "an HLS playlist"),
    (b"ffconcat version", "an ffmpeg concat list"),
    (b"<MPD", "a DASH manifest"),
)
REMOTE_SCHEMES = frozenset({"http", "https", "s3", "gs", "az"})

_MULTI_FILE_HINT = (
    f"vmafx reads single-file containers only ({READABLE}), so no file escapes the checks. "
    "Score the video file itself, or join the segments into one first "
    "(ffmpeg -i LIST -c copy joined.mkv)."
)


def check_path_text(value: str, field: str) -> None:
    """Refuse what cannot be a path: empty, too long, or with control characters (UsageError)."""
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{field} {value!r} must be a path.")
    if len(value) > MAX_PATH_CHARS:
        raise UsageError(
            f"{field} is {len(value):,} characters long; paths are limited to "
            f"{MAX_PATH_CHARS:,} (MAX_PATH_CHARS).",
            hint="Give the file a shorter path.",
        )
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise UsageError(f"{field} {value[:200]!r} contains control characters.")


def url_error(field: str, value: str, scheme: str) -> UsageError:
    """Why `value`, a URL with `scheme`, is refused: inputs and outputs are local paths."""
    if scheme == "file":
        path = urllib.parse.unquote(urllib.parse.urlsplit(value).path)
        return UsageError(
            f"{field} {value!r} is a file: URL; nodes open local paths only.",
            hint=f"Give the absolute path instead: {path}",
        )
    if scheme == "s3":
        return UsageError(
            f"{field} {value!r} is a remote s3: URL, and no object storage is configured for "
            "this tenant: farm jobs read objects only under the tenant's storage allow-list.",
            hint="Give the tenant credentials and an allow-list on the controller "
            "(--storage-dir, docs/storage.md), or copy the file under a scoring root.",
        )
    if scheme in REMOTE_SCHEMES:
        return UsageError(
            f"{field} {value!r} is a remote {scheme}: URL; farm jobs read s3:// objects (through "
            "the controller's storage allow-list) and local paths only.",
            hint="Copy the file to S3 or under a scoring root and name that.",
        )
    return UsageError(
        f"{field} {value!r} uses the URL scheme {scheme!r}, which is not allowed (ffmpeg "
        "protocols such as concat:, subfile: or pipe: would read other files).",
        hint="Give an absolute path under a scoring root; a file whose name has a colon is "
        "named by its absolute path (/media/a:b.mp4).",
    )


def url_scheme(value: str) -> str | None:
    """The URL scheme `value` starts with, lower-case; None for a path (a one-letter scheme is
    a Windows drive)."""
    scheme = urllib.parse.urlsplit(value).scheme.lower()
    return scheme if len(scheme) > 1 else None


def multi_file_name_kind(path: str) -> str | None:
    """What `path`'s extension says it is when that is a playlist or list of files, else None."""
    return MULTI_FILE_SUFFIXES.get(PurePath(path).suffix.lower())


def check_single_file_name(path: str, field: str) -> None:
    """Refuse a name whose extension says playlist, manifest or concat list (NotVideoError)."""
    kind = multi_file_name_kind(path)
    if kind is not None:
        raise multi_file_error(path, field, kind)


def check_single_output_name(path: str, field: str = "output") -> None:
    """Refuse an output whose extension picks a muxer that writes several files (UsageError)."""
    kind = multi_file_name_kind(path)
    if kind is not None:
        raise UsageError(
            f"{field} {path!r} names {kind}, whose muxer writes segment files beside it; "
            "an output is one file.",
            hint="Write a single-file container (.mp4, .mkv, .webm, .ivf; .jpg or .png "
            "for pictures).",
        )


def multi_file_kind(head: bytes) -> str | None:
    """What a file's first bytes say it is when it is a playlist or list of files, else None."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    for magic, kind in _MULTI_FILE_MAGIC:
        if text.startswith(magic) or (magic == b"<MPD" and magic in text[:1024]):
            return kind
    return None


def multi_file_error(path: str, field: str, kind: str) -> NotVideoError:
    return NotVideoError(
        f"The {field} {path} is {kind}, which would make ffmpeg open other files; "
        "vmafx refuses it.",
        path=path,
        hint=_MULTI_FILE_HINT,
    )


def _describe(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "not a regular file"


def check_regular_file(path: str, field: str, *, where: str = "") -> os.stat_result:
    """`os.stat(path)` when it is a regular file (it opens nothing, so a FIFO cannot block).

    InputNotFoundError (exit 3) when it does not exist or is a folder; InputError (exit 3) for
    a FIFO, device or socket. `where` ends the message (" on this node").
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputNotFoundError(
            f"The {field} {path} does not exist{where}.",
            path=path,
            hint="Check the path (a relative one is taken from the current folder).",
        ) from None
    except OSError as error:
        raise InputNotFoundError(
            f"The {field} {path} cannot be read{where}: {error.strerror or error}.",
            path=path,
            hint="Check the path and its permissions.",
        ) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputNotFoundError(
            f"The {field} {path} is a folder, not a video file.", path=path, hint="Name a file."
        )
    if not stat.S_ISREG(info.st_mode):
        raise InputError(
            f"The {field} {path} is {_describe(info.st_mode)}, not a regular file; vmafx reads "
            "regular files only (a pipe or device can block forever or change between reads).",
            path=path,
            hint="Write the video to a regular file first, then score that file.",
        )
    return info


def is_model_path(model: str) -> bool:
    """A libvmaf model given as a JSON file rather than a built-in version name."""
    return model.endswith(".json") or "/" in model or model.startswith(".")
