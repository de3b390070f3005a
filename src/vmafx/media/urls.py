"""What ffmpeg may open: a source as a URL plus its whitelists, an output as a local file.

The policy itself lives in `vmafx.core.input_policy` (shared with the controller); this module
turns it into ffmpeg arguments and PyAV options, so every input ffmpeg or the probe opens goes
through here:

- a local path is handed over as a `file:` URL, so a name that starts with `-` is never read as
  an option and a name such as `concat:a|b` or `subfile:...` never reaches another protocol;
- each input carries `-protocol_whitelist` and `-format_whitelist` (single-file containers
  only), so a playlist, concat list or image sequence cannot open anything else, whatever its
  name.
"""

from __future__ import annotations

import re

from vmafx.core.input_policy import (
    FORMAT_WHITELIST,
    INPUT_PROTOCOLS,
    check_path_text,
)
from vmafx.errors import UsageError

#: The whitelists for what an input may open; outputs are local files only.
LOCAL_PROTOCOLS = INPUT_PROTOCOLS
HTTP_PROTOCOLS = "http,https,tcp,tls,crypto"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")


def local_url(path: str) -> str:
    """The URL of the local file `path`, taken literally (`file:concat:a|b` is one file)."""
    check_path_text(path, "input")
    return f"file:{path}"


def whitelist_args(protocols: str = LOCAL_PROTOCOLS) -> list[str]:
    """The input options that go before every `-i`: protocols and demuxers it may use."""
    return ["-protocol_whitelist", protocols, "-format_whitelist", FORMAT_WHITELIST]


def probe_options(protocols: str = LOCAL_PROTOCOLS) -> dict[str, str]:
    """The same whitelists as PyAV container options, for the probe."""
    return {"protocol_whitelist": protocols, "format_whitelist": FORMAT_WHITELIST}


def local_input_args(path: str) -> list[str]:
    """`-protocol_whitelist file -format_whitelist ... -i file:PATH` for a local input."""
    return [*whitelist_args(), "-i", local_url(path)]


def source_url(source: str) -> tuple[str, str]:
    """The URL ffmpeg opens for `source` and the protocol whitelist it is opened with
    (pass the whitelist to `whitelist_args`, which adds the demuxers allowed)."""
    _check_path_text("source", source)
    scheme = _SCHEME.match(source)
    if scheme is None:
        return f"file:{source}", LOCAL_PROTOCOLS
    name = scheme.group(1).lower()
    if name == "file":
        return source, LOCAL_PROTOCOLS
    if name in ("http", "https"):
        return source, HTTP_PROTOCOLS
    raise UsageError(
        f"source {source!r} uses the {name}: scheme, which encodes do not read.",
        hint="Use a local path or an http(s) URL; write ./name for a local file with a colon.",
    )


def output_url(output: str) -> str:
    """The URL ffmpeg writes: always a local file, never an option or another protocol."""
    _check_path_text("output", output)
    scheme = _SCHEME.match(output)
    if scheme is not None and scheme.group(1).lower() != "file":
        raise UsageError(
            f"output {output!r} uses the {scheme.group(1)}: scheme; encodes write local files.",
            hint="Write a local path (./name for a file with a colon in its name).",
        )
    return output if scheme is not None else f"file:{output}"


def _check_path_text(field: str, value: str) -> None:
    if not isinstance(value, str) or not value.strip() or value.strip() == "-":
        raise UsageError(f"{field} {value!r} must be a path.")
    if any(char in value for char in "\0\n\r"):
        raise UsageError(f"{field} {value!r} contains a control character.")
    check_path_text(value, field)
