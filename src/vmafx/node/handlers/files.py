"""The files a job names, checked on the node before anything is opened or written.

- Inputs: the input policy (`vmafx.core.input_policy`) again, on this node's view of the
  files: a local path that resolves (symlinks followed) under one of the claim's scoring roots
  when the controller sent any, that is not a playlist or list of files, and that is a regular
  file now (it may have vanished or been replaced since the job was submitted). URLs are
  refused. What ffmpeg then opens is bound by `vmafx.media.urls` (`file:` only, single-file
  containers only), so a playlist under another name cannot open anything either.
- Outputs: local files only, under the roots too; the folder is created if missing and must be
  writable. ffmpeg writes a temporary name beside the output, which is renamed over it only
  when the run succeeded, so a failed job never leaves a half-written file under the real name.
- A disk that fills up is a fault of the machine (`OutputWriteError` caused by an ENOSPC
  `OSError`), which the agent retries; a folder it may not write to fails the job.
"""

from __future__ import annotations

import contextlib
import errno
import getpass
import os
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from vmafx.core.input_policy import (
    check_path_text,
    check_regular_file,
    check_single_file_name,
    check_single_output_name,
    url_error,
    url_scheme,
)
from vmafx.errors import InputNotFoundError, InputOutsideRootsError, OutputWriteError, UsageError

_WRITE_ERRORS = {
    "No space left on device": errno.ENOSPC,
    "Disk quota exceeded": errno.EDQUOT,
    "Input/output error": errno.EIO,
}


def local_path(value: str) -> str | None:
    """The local path `value` names (a plain path or a `file:` URL); None for another URL."""
    parts = urllib.parse.urlsplit(value)
    scheme = parts.scheme.lower()
    if len(scheme) <= 1:
        return value
    if scheme == "file":
        return urllib.parse.unquote(parts.path)
    return None


def _is_under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def check_roots(path: str, roots: Sequence[str], *, field: str) -> None:
    if not roots:
        return
    resolved = os.path.realpath(path)
    if not any(_is_under(resolved, os.path.realpath(root)) for root in roots):
        where = f" (it resolves to {resolved})" if resolved != path else ""
        raise InputOutsideRootsError(
            f"{field} {path} lies outside the scoring roots{where}; the node refuses to open it.",
            path=path,
            hint=f"Move it under one of: {', '.join(roots)}.",
        )


def check_input(value: str, roots: Sequence[str], *, field: str = "input") -> str:
    """`value` when the node may read it now under the input policy; a precise error otherwise.

    A path under the claim's roots, not a playlist or list of files by name, a
    regular file (stat only: a FIFO cannot block the node), readable by this node. URLs are
    refused: the controller refuses them at submit, and a node has no object storage yet.
    """
    check_path_text(value, field)
    scheme = url_scheme(value)
    if scheme is not None:
        raise url_error(field, value, scheme)
    check_roots(value, roots, field=field)
    check_single_file_name(value, field)
    check_regular_file(value, field, where=" (any more) on this node")
    if not os.access(value, os.R_OK):
        raise InputNotFoundError(
            f"the {field} {value} cannot be read by this node (permission denied).",
            path=value,
            hint=f"Let user {getpass.getuser()} read it.",
        )
    return value


def check_output(value: str, roots: Sequence[str]) -> Path:
    """The output file as a local path, with a folder that exists and that the node may write."""
    path = local_path(value)
    if path is None:
        raise UsageError(f"output {value!r} must be a local file, not a URL.")
    check_path_text(path, "output")
    check_roots(path, roots, field="output")
    check_single_output_name(path)
    folder = Path(path).parent
    if folder.exists() and not folder.is_dir():
        raise OutputWriteError(
            f"the output folder {folder} is a file, not a folder; nothing was written.",
            path=str(folder),
            hint="Choose another output location.",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _write_error(
            f"the output folder {folder} cannot be created", folder, error
        ) from error
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputWriteError(
            f"the output folder {folder} is not writable by this node "
            f"(user {getpass.getuser()}); nothing was written.",
            path=str(folder),
            hint="Fix the folder's permissions or choose another output location.",
        )
    return Path(path)


def temp_output(output: Path, job_id: str) -> Path:
    """Where ffmpeg writes before the rename (same folder and extension, hidden name)."""
    return output.with_name(f".{output.stem}.vmafx-{job_id[:8]}.part{output.suffix}")


def commit(temp: Path, output: Path) -> None:
    """Move a finished temporary output over the real name (atomic on one file system)."""
    try:
        if not temp.is_file() or temp.stat().st_size == 0:
            raise OutputWriteError(f"ffmpeg reported success but wrote nothing to {output}.")
        os.replace(temp, output)
    except OSError as error:
        raise _write_error(f"{output} could not be written", output, error) from error
    finally:
        discard(temp)


def discard(temp: Path) -> None:
    with contextlib.suppress(OSError):
        temp.unlink(missing_ok=True)


def _write_error(what: str, path: Path, error: OSError) -> OutputWriteError:
    reason = error.strerror or str(error)
    return OutputWriteError(f"{what}: {reason}.", path=str(path))


def raise_for_write_failure(stderr: str, output: Path) -> None:
    """Raise OutputWriteError when ffmpeg's output says the output could not be written."""
    for text, code in _WRITE_ERRORS.items():
        if text in stderr:
            cause = OSError(code, text, str(output))
            raise OutputWriteError(
                f"writing {output} failed: {text.lower()} (a fault of this machine's storage).",
                path=str(output),
                hint="Free space on that file system; the job is retried.",
            ) from cause
    if "Permission denied" in stderr:
        raise OutputWriteError(
            f"writing {output} failed: permission denied.",
            path=str(output),
            hint="Fix the folder's permissions or choose another output location.",
        )
