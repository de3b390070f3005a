"""The node's feedback client: every scored job's `{job_id, features, true_score}` to the trainer.

`send()` never blocks and never fails: it appends to a bounded ring buffer (1,000 entries by
default; when full, the oldest entry is evicted and counted as dropped) and wakes a background
sender thread, which holds at most one batch (`max_batch`) outside the ring while it is sent.
The sender connects to the trainer's Unix socket, writes up to `max_batch` lines, reads one
ack per line, and:

- counts `ok` acks as delivered (`vmafx_training_feedback_delivered_total`);
- puts samples refused with `retryable` (backpressure) back at the front, to be retried first,
  after a short, growing pause;
- counts bad-input refusals as rejected, which are also drops
  (`vmafx_training_feedback_dropped_total`);
- on a missing, crashed or silent trainer, puts unacked samples back at the front and tries to
  reconnect every `reconnect_interval_s`; the ring buffer absorbs the gap, and what overflows
  is a counted drop. Entries still queued at `close()` are counted as dropped too.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import logging
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from vmafx.ai.protocol import encode_sample, parse_ack

log = logging.getLogger(__name__)

METRIC_DELIVERED = "vmafx_training_feedback_delivered_total"
METRIC_DROPPED = "vmafx_training_feedback_dropped_total"
_MAX_ACK_BYTES = 65_536

_Item = tuple[str, Any, float]


@dataclasses.dataclass(frozen=True)
class FeedbackStats:
    delivered: int
    dropped: int
    rejected: int
    queued: int
    connected: bool


class FeedbackClient:
    """Never-blocking sender of training samples to the trainer socket."""

    def __init__(
        self,
        socket_path: Path | str,
        *,
        capacity: int = 1000,
        connect_timeout_s: float = 5.0,
        io_timeout_s: float = 2.0,
        reconnect_interval_s: float = 2.0,
        max_batch: int = 64,
        retry_backoff_s: float = 0.05,
    ) -> None:
        self.socket_path = str(socket_path)
        self.capacity = capacity
        self.connect_timeout_s = connect_timeout_s
        self.io_timeout_s = io_timeout_s
        self.reconnect_interval_s = reconnect_interval_s
        self.max_batch = max_batch
        self.retry_backoff_s = retry_backoff_s
        self._queue: collections.deque[_Item] = collections.deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._reader: Any = None
        self._delivered = 0
        self._dropped = 0
        self._rejected = 0
        self._inflight = 0

    # -- the producer side: called from scoring code -------------------------------------------

    def send(self, job_id: str, features: Sequence[float], true_score: float) -> bool:
        """Queue one sample; never blocks. False when the ring was full and evicted its oldest.

        `features` is kept by reference until sent (a tuple or a numpy array the caller no
        longer changes); it is encoded on the sender thread, not here.
        """
        with self._lock:
            evicted = len(self._queue) >= self.capacity
            if evicted:
                self._queue.popleft()
                self._dropped += 1
            self._queue.append((job_id, features, true_score))
        if not self._wake.is_set():
            self._wake.set()
        return not evicted

    @property
    def delivered(self) -> int:
        return self._delivered

    @property
    def dropped(self) -> int:
        return self._dropped

    @property
    def rejected(self) -> int:
        return self._rejected

    def stats(self) -> FeedbackStats:
        with self._lock:
            queued = len(self._queue) + self._inflight
        return FeedbackStats(
            self._delivered, self._dropped, self._rejected, queued, self._sock is not None
        )

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> FeedbackClient:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="vmafx-feedback", daemon=True)
            self._thread.start()
        return self

    def flush(self, timeout: float) -> bool:
        """Wait until everything queued has been delivered or dropped; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stats().queued == 0:
                return True
            time.sleep(0.005)
        return self.stats().queued == 0

    def close(self, timeout: float = 2.0) -> None:
        """Stop the sender; what is still queued is counted as dropped."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        with self._lock:
            self._dropped += len(self._queue)
            self._queue.clear()
        self._disconnect()

    def __enter__(self) -> FeedbackClient:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the sender thread --------------------------------------------------------------------

    def _run(self) -> None:
        backoff = self.retry_backoff_s
        while not self._stop.is_set():
            if not self._queue:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            if self._sock is None and not self._connect():
                self._stop.wait(self.reconnect_interval_s)
                continue
            try:
                retried = self._deliver(self._take())
            except Exception:  # a bug here must cost samples, never the node
                log.exception("feedback sender failed; dropping its batch")
                self._drop_inflight()
                continue
            if retried:
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 1.0)
            else:
                backoff = self.retry_backoff_s

    def _take(self) -> list[_Item]:
        with self._lock:
            n = min(self.max_batch, len(self._queue))
            batch = [self._queue.popleft() for _ in range(n)]
            self._inflight = n
        return batch

    def _requeue_front(self, items: Iterable[_Item]) -> None:
        with self._lock:
            self._queue.extendleft(reversed(list(items)))
            while len(self._queue) > self.capacity:
                self._queue.popleft()
                self._dropped += 1
            self._inflight = 0

    def _drop_inflight(self) -> None:
        with self._lock:
            self._dropped += self._inflight
            self._inflight = 0

    def _connect(self) -> bool:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.connect_timeout_s)
            sock.connect(self.socket_path)
        except OSError as exc:
            sock.close()
            log.debug(
                "trainer not reachable", extra={"socket": self.socket_path, "error": str(exc)}
            )
            return False
        sock.settimeout(self.io_timeout_s)
        self._sock, self._reader = sock, sock.makefile("rb")
        log.info("connected to the trainer", extra={"socket": self.socket_path})
        return True

    def _disconnect(self) -> None:
        sock, reader = self._sock, self._reader
        self._sock = self._reader = None
        for closable in (reader, sock):
            if closable is not None:
                with contextlib.suppress(OSError):
                    closable.close()

    def _encode(self, batch: list[_Item]) -> tuple[list[_Item], bytes]:
        sendable, lines = [], []
        for job_id, features, score in batch:
            values = features.tolist() if hasattr(features, "tolist") else list(features)
            try:
                lines.append(encode_sample(job_id, values, float(score)))
            except (TypeError, ValueError):
                self._count_rejected(1)
                continue
            sendable.append((job_id, features, score))
        return sendable, b"".join(lines)

    def _count_rejected(self, n: int) -> None:
        with self._lock:
            self._rejected += n
            self._dropped += n

    def _deliver(self, batch: list[_Item]) -> bool:
        """Send a batch and read its acks; True when some samples met backpressure."""
        sendable, payload = self._encode(batch)
        retry: list[_Item] = []
        done = 0
        try:
            assert self._sock is not None
            self._sock.sendall(payload)
            for item in sendable:
                line = self._reader.readline(_MAX_ACK_BYTES)
                if not line.endswith(b"\n"):
                    raise ConnectionError("the trainer closed the connection")
                ack = parse_ack(line)
                done += 1
                if ack.ok:
                    self._delivered += 1
                elif ack.retryable:
                    retry.append(item)
                else:
                    self._count_rejected(1)
                    log.debug("sample refused", extra={"job_id": item[0], "error": ack.error})
        except (OSError, ValueError) as exc:
            log.warning("trainer connection lost", extra={"error": str(exc)})
            self._disconnect()
            self._requeue_front([*retry, *sendable[done:]])
            return False
        self._requeue_front(retry)
        return bool(retry)
