"""The staging folder that makes a corpus run resumable.

    OUT.staging/
      run.json        what the staged rows were scored with; a resumption must match it
      staging.jsonl   one JSON line per finished clip (scored or failed), appended and fsynced
      .done           ids of scored clips, one per line (rebuilt from staging.jsonl on open)
      lock            held (flock) by the one run writing here

A clip counts as finished only once its line is on disk: a crash between a clip's end and its
line means the clip is scored again, never lost and never counted twice. The last line of a run
killed mid-write may be torn; opening the folder detects it, drops it and scores that clip
again. When a clip appears more than once (a failure retried later) its last line wins.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vmafx.corpus.clips import ClipFailed, ClipOutcome, ClipScored, Value
from vmafx.errors import OutputWriteError, UsageError

SCHEMA = "vmafx-corpus-staging-v1"
ROWS = "staging.jsonl"
DONE = ".done"
HEADER = "run.json"
LOCK = "lock"


@dataclasses.dataclass(frozen=True)
class _Entry:
    ok: bool
    offset: int
    length: int


@dataclasses.dataclass(frozen=True)
class LoadReport:
    """What opening found: lines kept, a torn tail dropped, unreadable lines skipped."""

    lines: int
    torn_bytes: int
    corrupt_lines: int


class Staging:
    """An open staging folder: query finished clips, append new outcomes durably."""

    def __init__(self, folder: Path, lock_fd: int) -> None:
        self.folder = folder
        self._lock_fd = lock_fd
        self._index: dict[str, _Entry] = {}
        self._rows = folder / ROWS
        self._fd = -1
        self._done_fd = -1
        self._size = 0
        self.loaded = LoadReport(0, 0, 0)

    @classmethod
    def open(cls, folder: Path, fingerprint: dict[str, Any], *, fresh: bool = False) -> Staging:
        """Lock the folder, check it matches `fingerprint`, index what is already finished."""
        folder.mkdir(parents=True, exist_ok=True)
        lock_fd = _lock(folder)
        staging = cls(folder, lock_fd)
        try:
            if fresh:
                _clear(folder)
            _check_header(folder, fingerprint)
            staging._load()
            staging._rewrite_done()
        except BaseException:
            staging.close()
            raise
        return staging

    # --- queries -------------------------------------------------------------------------

    def state(self, clip_id: str) -> str | None:
        """ "scored", "failed", or None for a clip with no finished outcome."""
        entry = self._index.get(clip_id)
        if entry is None:
            return None
        return "scored" if entry.ok else "failed"

    def ids(self) -> Iterator[str]:
        return iter(self._index)

    def values(self, clip_id: str) -> dict[str, Value]:
        record = self._read(clip_id)
        values: dict[str, Value] = record["values"]
        return values

    def failure(self, clip_id: str) -> ClipFailed:
        record = self._read(clip_id)
        return ClipFailed(
            clip_id,
            record["error_type"],
            record["message"],
            record["exit_code"],
            record.get("elapsed_s", 0.0),
        )

    def _read(self, clip_id: str) -> dict[str, Any]:
        entry = self._index[clip_id]
        data = os.pread(self._fd, entry.length, entry.offset)
        record: dict[str, Any] = json.loads(data)
        return record

    # --- writes --------------------------------------------------------------------------

    def append(self, outcome: ClipOutcome) -> None:
        """Stage one outcome; it is on disk (fsynced) when this returns."""
        record: dict[str, Any] = {"id": outcome.id, "ok": isinstance(outcome, ClipScored)}
        record |= {k: v for k, v in dataclasses.asdict(outcome).items() if k != "id"}
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        offset = self._size
        try:
            _write_all(self._fd, line)
            os.fsync(self._fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, offset)  # leave no partial line behind
            raise self._write_error(exc, outcome.id) from None
        self._size += len(line)
        self._index[outcome.id] = _Entry(record["ok"], offset, len(line))
        if record["ok"]:
            self._append_done(outcome.id)

    def _append_done(self, clip_id: str) -> None:
        """`.done` is derived from staging.jsonl (rebuilt on open), so it needs no fsync."""
        try:
            _write_all(self._done_fd, (clip_id + "\n").encode())
        except OSError as exc:
            raise self._write_error(exc, clip_id) from None

    def _write_error(self, exc: OSError, clip_id: str) -> OutputWriteError:
        finished = len(self._index)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            what = f"The disk holding {self.folder} is full (no space left while staging clip"
            what += f" {clip_id!r})."
            hint = "Free some space, then run the same command again: finished clips are kept."
        else:
            reason = exc.strerror or str(exc)
            what = f"Could not write to {self._rows} while staging clip {clip_id!r} ({reason})."
            hint = "Fix the folder (permissions, mount), then run the same command again."
        return OutputWriteError(
            f"{what} The {finished} clip(s) finished before it are safe in {self._rows}.",
            path=str(self._rows),
            hint=hint,
        )

    def close(self) -> None:
        for fd in (self._fd, self._done_fd):
            if fd >= 0:
                os.close(fd)
        self._fd = self._done_fd = -1
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = -1

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- loading -------------------------------------------------------------------------

    def _load(self) -> None:
        self._fd = os.open(self._rows, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        lines = corrupt = trailing_bad = 0
        offset = good_end = 0
        with open(self._rows, "rb") as handle:
            for line in handle:
                entry = _parse(line, offset)
                offset += len(line)
                if entry is None:
                    trailing_bad += 1
                    continue
                corrupt, trailing_bad = corrupt + trailing_bad, 0
                self._index[entry[0]] = entry[1]
                lines += 1
                good_end = offset
        torn = offset - good_end
        if torn:  # a tail that is not whole lines: the run was killed mid-write
            os.ftruncate(self._fd, good_end)
            os.fsync(self._fd)
        self._size = good_end
        self.loaded = LoadReport(lines, torn, corrupt)

    def _rewrite_done(self) -> None:
        done = [clip_id for clip_id, entry in self._index.items() if entry.ok]
        _atomic_write(self.folder / DONE, "".join(f"{i}\n" for i in done).encode())
        self._done_fd = os.open(self.folder / DONE, os.O_WRONLY | os.O_APPEND)


def _parse(line: bytes, offset: int) -> tuple[str, _Entry] | None:
    if not line.endswith(b"\n"):
        return None
    try:
        record = json.loads(line)
        return str(record["id"]), _Entry(bool(record["ok"]), offset, len(line))
    except (ValueError, KeyError, TypeError):
        return None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _lock(folder: Path) -> int:
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise UsageError(
            f"Another vmafx corpus run is writing to {folder} (its lock is held).",
            hint="Wait for it to finish, or give this run another --out.",
        ) from None
    return fd


def _clear(folder: Path) -> None:
    for name in (ROWS, DONE, HEADER):
        (folder / name).unlink(missing_ok=True)
    for stray in folder.glob("*.tmp"):
        stray.unlink()


def _check_header(folder: Path, fingerprint: dict[str, Any]) -> None:
    header = folder / HEADER
    wanted = {"schema": SCHEMA, "fingerprint": fingerprint}
    if header.exists():
        try:
            found = json.loads(header.read_text())
        except ValueError:
            found = {}
        if found != json.loads(json.dumps(wanted)):
            raise UsageError(
                f"The staged clips in {folder} were scored with other settings "
                f"({_differences(found.get('fingerprint', {}), fingerprint)}), so they cannot "
                "be mixed with this run's.",
                hint="Run again with the same options, or pass --fresh to discard them and "
                "start over.",
            )
        return
    if (folder / ROWS).exists() and (folder / ROWS).stat().st_size:
        raise UsageError(
            f"The staging folder {folder} has staged clips but no {HEADER} saying how they were "
            "scored.",
            hint="Pass --fresh to discard them and start over.",
        )
    _atomic_write(header, json.dumps(wanted, indent=2).encode())


def _differences(found: dict[str, Any], wanted: dict[str, Any]) -> str:
    then, now = _flat(found), _flat(wanted)
    keys = sorted(set(then) | set(now))
    diffs = [
        f"{k} {then.get(k)!r} then, {now.get(k)!r} now" for k in keys if then.get(k) != now.get(k)
    ]
    return "; ".join(diffs) or "a different staging format"


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out |= _flat(value, f"{prefix}{key}.")
        else:
            out[prefix + key] = json.loads(json.dumps(value))
    return out
