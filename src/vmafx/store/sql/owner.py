"""One serving controller per SQLite file: an exclusive, non-blocking `flock` on
`<db>.controller.lock` beside the database, held while the controller runs.

SQLite serialises writers and has no way to wake another process's waiters, so a second
controller on the same file would only fight the first for the write lock. Short-lived tools
(`vmafx controller migrate`, `vmafx tokens`) open the store without this lock and keep working
while a controller runs. The lock goes with the process: a controller killed with SIGKILL
leaves the file behind but not the lock, so the next one starts.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from vmafx.errors import ConfigError

LOCK_SUFFIX = ".controller.lock"


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + LOCK_SUFFIX)


class SqliteOwnerLock:
    """The lock a serving controller holds on its SQLite file; `release()` hands it back."""

    def __init__(self, database: Path, fd: int) -> None:
        self.database = database
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, database: Path) -> SqliteOwnerLock:
        """Take the lock, or raise ConfigError naming the controller that holds it."""
        path = lock_path(database)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise ConfigError(
                f"another vmafx controller ({holder}) already serves the SQLite store "
                f"{database}; SQLite allows one controller.",
                hint="Stop it, or use PostgreSQL for several controllers.",
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return cls(database, fd)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the descriptor drops the flock


def _read_pid(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode().strip())
        return f"pid {pid}"
    return "pid unknown"
