"""The feedback client: never blocks, counts every drop, retries backpressure first, survives crashes."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from vmafx.ai.feedback import FeedbackClient
from vmafx.ai.protocol import ack_backpressure, ack_bad, ack_buffered

FEATURES = tuple(np.linspace(0.0, 1.0, 80, dtype=np.float32).tolist())


class FakeTrainer:
    """A socket server whose answer per line is `decide(job_id, seen_before) -> ack bytes | None`.

    None means: close the connection without answering (a crash).
    """

    def __init__(self, path: Path, decide: Callable[[str, int], bytes | None]) -> None:
        self.path = path
        self.decide = decide
        self.received: list[str] = []
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(4)
        self.listener.settimeout(0.1)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            with conn, conn.makefile("rb") as reader, contextlib.suppress(OSError):
                for line in reader:
                    job_id = json.loads(line)["job_id"]
                    ack = self.decide(job_id, self.received.count(job_id))
                    self.received.append(job_id)
                    if ack is None:
                        break
                    conn.sendall(ack)  # the client may have given up on us: OSError

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.listener.close()


@pytest.fixture
def fake_trainer(short_dir):
    made: list[FakeTrainer] = []

    def _make(decide):
        made.append(FakeTrainer(short_dir / "fake.sock", decide))
        return made[-1]

    yield _make
    for fake in made:
        fake.close()


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_with_no_trainer_sends_never_block_and_overflow_is_counted(short_dir):
    client = FeedbackClient(short_dir / "absent.sock", reconnect_interval_s=0.05).start()
    started = time.perf_counter()
    accepted = [client.send(f"job-{i}", FEATURES, 90.0) for i in range(1500)]
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5  # 1,500 calls; one blocking connect would take longer than all of them
    assert accepted.count(False) == 500
    stats = client.stats()
    assert (stats.delivered, stats.dropped, stats.queued, stats.connected) == (0, 500, 1000, False)
    client.close()
    assert (client.delivered, client.dropped) == (0, 1500)


def test_the_ring_keeps_the_newest_thousand(short_dir, fake_trainer):
    client = FeedbackClient(short_dir / "fake.sock", capacity=10)
    for i in range(25):
        client.send(f"job-{i}", FEATURES, 1.0)
    fake = fake_trainer(lambda job, n: ack_buffered(0, job))
    client.start()
    assert wait_for(lambda: client.delivered == 10)
    assert fake.received == [f"job-{i}" for i in range(15, 25)]
    client.close()
    assert client.dropped == 15


def test_every_sample_reaches_a_live_trainer(start_trainer, short_dir):
    app = start_trainer()
    client = FeedbackClient(app.settings.socket).start()
    rows = np.random.default_rng(0).normal(50, 10, (200, 80)).astype(np.float32)
    for i in range(200):
        client.send(f"job-{i}", rows[i], 80.0 + i % 10)
    assert client.flush(10)
    client.close()
    assert (client.delivered, client.dropped) == (200, 0)
    learner = app.service.learner
    assert learner.samples_trained + len(learner.pending) + len(app.service.gate.holdout) == 200


def test_backpressure_is_retried_before_anything_newer(fake_trainer, short_dir):
    def decide(job: str, seen: int) -> bytes:
        if job == "a" and seen == 0:
            return ack_backpressure("pending queue full", job)
        return ack_buffered(1, job)

    fake = fake_trainer(decide)
    client = FeedbackClient(fake.path, retry_backoff_s=0.01)
    for job in ("a", "b", "c"):
        client.send(job, FEATURES, 50.0)
    client.start()
    assert wait_for(lambda: len(fake.received) == 4)
    client.send("d", FEATURES, 50.0)
    assert client.flush(5)
    client.close()
    assert fake.received == ["a", "b", "c", "a", "d"]
    assert (client.delivered, client.dropped, client.rejected) == (4, 0, 0)


def test_a_refused_sample_is_counted_as_rejected_and_dropped(fake_trainer, short_dir):
    fake = fake_trainer(
        lambda job, n: (
            ack_bad("features has 3 values", job) if job == "bad" else ack_buffered(0, job)
        )
    )
    client = FeedbackClient(fake.path).start()
    client.send("bad", FEATURES, 1.0)
    client.send("good", FEATURES, 1.0)
    client.send("nan", (float("nan"),) * 80, 1.0)  # refused locally: never sent
    assert client.flush(5)
    client.close()
    assert (client.delivered, client.rejected, client.dropped) == (1, 2, 2)
    assert fake.received == ["bad", "good"]


def test_a_trainer_that_crashes_mid_batch_costs_nothing_but_a_resend(fake_trainer, short_dir):
    fake = fake_trainer(lambda job, n: None if job == "job-3" and n == 0 else ack_buffered(0, job))
    client = FeedbackClient(fake.path, reconnect_interval_s=0.05).start()
    for i in range(10):
        client.send(f"job-{i}", FEATURES, 1.0)
    assert client.flush(5)
    client.close()
    assert client.delivered == 10
    assert client.dropped == 0
    assert fake.received.count("job-3") == 2


def test_a_trainer_that_never_answers_does_not_slow_the_sender(fake_trainer, short_dir):
    silent = threading.Event()
    fake = fake_trainer(lambda job, n: (silent.wait(3), ack_buffered(0, job))[1])
    client = FeedbackClient(fake.path, io_timeout_s=0.5, reconnect_interval_s=0.05).start()
    client.send("first", FEATURES, 1.0)
    assert wait_for(lambda: client.stats().queued == 1 and client._inflight == 1)  # sender waits
    started = time.perf_counter()
    for i in range(2000):
        client.send(f"job-{i}", FEATURES, 1.0)
    assert time.perf_counter() - started < 0.5  # the sender is stuck in a read; send() is not
    silent.set()
    client.close()
    stats = client.stats()
    assert stats.queued == 0
    assert client.delivered + client.dropped == 2001
