"""The trainer's Unix stream socket: one thread per connection, newline-delimited JSON.

- The socket appears at its path already with mode 0600: it is bound inside a private (0700)
  folder beside the path, chmod-ed, then renamed into place.
- `<socket>.lock` (0600) is held with flock for the server's lifetime: a second trainer on the
  same path fails at once instead of stealing the socket.
- An existing path is removed only when it is a socket, a non-blocking connect to it is
  refused (nobody listens), and its inode did not change in between; any other file is left
  alone and reported.
- Each request line gets one ack, in order. A line longer than `max_line_bytes` is refused
  once and skipped up to its newline; an empty line, bad JSON or a bad sample is refused with
  its reason; an unexpected error in handling is refused as an internal error: the connection
  stays open in every case. A connection silent for `idle_timeout_s` is told so and closed;
  idle clients hold only their own thread. Past `max_connections`, a newcomer gets a
  backpressure ack and is closed.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import stat
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from vmafx.ai import protocol
from vmafx.errors import ConfigError, ConflictError

log = logging.getLogger(__name__)

_RECV_BYTES = 262_144  # more lines per wake-up: fewer context switches under load


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _acquire_lock(path: Path) -> int:
    lock = lock_path(path)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise ConflictError(
            f"Another trainer (pid {holder}) holds {lock}; two trainers never share {path}.",
            hint="Stop it, or give this one another VMAFX_SIDECAR_SOCKET.",
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def clear_stale_socket(path: Path) -> bool:
    """Remove `path` if it is a socket nobody listens on; True when something was removed."""
    try:
        before = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISSOCK(before.st_mode):
        raise ConfigError(
            f"{path} exists and is not a socket; refusing to replace it.",
            hint="Remove it yourself or choose another VMAFX_SIDECAR_SOCKET.",
        )
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.setblocking(False)
    try:
        probe.connect(str(path))
    except ConnectionRefusedError:
        pass  # stale: nobody listens
    except FileNotFoundError:
        return False
    except BlockingIOError:
        raise ConflictError(f"A process is listening on {path} (its backlog is full).") from None
    else:
        raise ConflictError(
            f"A process that does not hold {lock_path(path).name} is listening on {path}.",
            hint="Stop it, or choose another VMAFX_SIDECAR_SOCKET.",
        )
    finally:
        probe.close()
    after = os.lstat(path)
    if (after.st_ino, after.st_dev) != (before.st_ino, before.st_dev):
        raise ConflictError(f"{path} changed while it was checked; not touching it.")
    os.unlink(path)
    log.info("removed a stale socket", extra={"socket": str(path)})
    return True


class SocketServer:
    def __init__(
        self,
        path: Path,
        handle_line: Callable[[bytes], bytes],
        *,
        max_line_bytes: int = 65_536,
        idle_timeout_s: float = 300.0,
        max_connections: int = 64,
        backlog: int = 16,
    ) -> None:
        self.path = Path(path)
        self.handle_line = handle_line
        self.max_line_bytes = max_line_bytes
        self.idle_timeout_s = idle_timeout_s
        self.max_connections = max_connections
        self.backlog = backlog
        self.connections_total = 0
        self.connections_refused = 0
        self._conns: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._lock_fd: int | None = None
        self._inode: tuple[int, int] | None = None
        self._accept_thread: threading.Thread | None = None

    @property
    def connections_open(self) -> int:
        with self._lock:
            return len(self._conns)

    def start(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock_fd = _acquire_lock(self.path)
        try:
            clear_stale_socket(self.path)
            self._listener = self._bind()
        except BaseException:
            self._release_lock()
            raise
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="vmafx-trainer-accept", daemon=True
        )
        self._accept_thread.start()

    def _bind(self) -> socket.socket:
        private = tempfile.mkdtemp(prefix=".vmafx-", dir=self.path.parent)
        staged = os.path.join(private, "s")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(staged)
            os.chmod(staged, 0o600)
            os.rename(staged, self.path)
        except BaseException:
            listener.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staged)
            raise
        finally:
            os.rmdir(private)
        st = os.lstat(self.path)
        self._inode = (st.st_ino, st.st_dev)
        listener.listen(self.backlog)
        listener.settimeout(0.2)
        return listener

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                raise
            self._admit(conn)

    def _admit(self, conn: socket.socket) -> None:
        with self._lock:
            crowded = len(self._conns) >= self.max_connections
            if not crowded:
                self._conns.add(conn)
                self.connections_total += 1
        if crowded:
            self.connections_refused += 1
            error = f"the trainer serves {self.max_connections} connections already; retry later"
            with contextlib.suppress(OSError):
                conn.settimeout(1.0)
                conn.sendall(protocol.ack_backpressure(error, None))
            conn.close()
            return
        thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _one(self, line: bytes) -> bytes:
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line.strip():
            return protocol.ack_bad("empty line; expected one JSON object", None)
        if len(line) > self.max_line_bytes:
            return protocol.ack_bad(self._too_long(), None)
        try:
            return self.handle_line(line)
        except Exception as exc:  # nothing a client sends may take the connection down
            log.exception("internal error while handling a line")
            return protocol.ack_bad(f"internal error: {type(exc).__name__}", None)

    def _too_long(self) -> str:
        return f"line longer than {self.max_line_bytes} bytes; refused and skipped to its end"

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(self.idle_timeout_s)
        pending, skipping = b"", False
        try:
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(_RECV_BYTES)
                except TimeoutError:
                    idle = (
                        f"no complete line for {self.idle_timeout_s:g} s; "
                        "closing the idle connection"
                    )
                    conn.sendall(protocol.ack_bad(idle, None))
                    return
                if not chunk:
                    return
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                acks = []
                for line in lines:
                    if skipping:
                        skipping = False
                        continue
                    acks.append(self._one(line))
                if len(pending) > self.max_line_bytes:
                    if not skipping:
                        acks.append(protocol.ack_bad(self._too_long(), None))
                    skipping, pending = True, b""
                if acks:
                    conn.sendall(b"".join(acks))
        except OSError as exc:
            log.debug("connection ended", extra={"error": str(exc)})
        finally:
            with self._lock:
                self._conns.discard(conn)
                self._threads.discard(threading.current_thread())
            conn.close()

    def stop(self, timeout: float = 1.0) -> None:
        """Stop accepting, end every connection, remove the socket (if still ours), unlock."""
        self._stop.set()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout)
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            conns, threads = list(self._conns), list(self._threads)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout)
        self._remove_socket()
        self._release_lock()

    def _remove_socket(self) -> None:
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return
        if (st.st_ino, st.st_dev) == self._inode:
            self.path.unlink()

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None
