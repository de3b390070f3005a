"""The trainer over a real Unix socket: every ack, every refusal, and a server that never falls over."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import urllib.request

import pytest
from tests.integration.ai.conftest import training_job_ids

from vmafx.ai.protocol import encode_sample
from vmafx.ai.samples import synthetic_samples
from vmafx.errors import ConfigError, ConflictError

ROWS, SCORES = synthetic_samples(400, seed=9)


def lines(job_ids: list[str]) -> list[bytes]:
    return [encode_sample(j, ROWS[i].tolist(), float(SCORES[i])) for i, j in enumerate(job_ids)]


def counts(app) -> tuple[int, int, int]:
    learner = app.service.learner
    return len(learner.pending), len(learner.replay), len(app.service.gate.holdout)


def test_buffered_and_trained_acks_with_and_without_a_checkpoint(connect, start_trainer):
    app = start_trainer(ckpt_interval_s=0, min_samples_ckpt=32, gate_min_samples=3)
    conn = connect(app.settings.socket)
    conn.send(b"".join(lines(training_job_ids(32))))
    acks = [conn.ack() for _ in range(32)]
    assert acks[0] == {"ok": True, "step": 0, "trained": False, "job_id": "job-0"}
    assert acks[15]["trained"] is True and acks[15]["step"] == 1
    assert acks[15]["checkpoint"] is None  # 16 new samples < 32
    assert isinstance(acks[15]["loss"], float)
    assert acks[31]["trained"] is True and acks[31]["step"] == 2
    checkpoint = acks[31]["checkpoint"]
    assert checkpoint == str(app.settings.checkpoint_dir / "model_v000001.onnx")
    assert os.path.exists(checkpoint) and os.path.exists(checkpoint + ".sha256")
    assert sum(a["trained"] for a in acks) == 2


def test_backpressure_is_a_retryable_refusal_and_admits_nothing(connect, start_trainer):
    app = start_trainer(pending_capacity=32)

    def broken(batch):
        raise RuntimeError("device lost")

    app.service.learner.train_step = broken
    conn = connect(app.settings.socket)
    conn.send(b"".join(lines(training_job_ids(35))))
    acks = [conn.ack() for _ in range(35)]
    assert [a.get("retry_queued", False) for a in acks[:15]] == [False] * 15
    assert acks[15] == {
        "ok": True,
        "step": 0,
        "trained": False,
        "retry_queued": True,
        "training_error": "training step failed: device lost",
        "job_id": acks[15]["job_id"],
    }
    assert acks[32]["ok"] is False and acks[32]["retryable"] is True
    assert "pending queue is full (32 samples)" in acks[32]["error"]
    assert counts(app)[0] == 32


def test_one_bad_line_of_each_kind_is_refused_precisely_and_the_connection_lives(
    connect, start_trainer
):
    app = start_trainer(max_line_bytes=4096)
    conn = connect(app.settings.socket)
    good = lines(training_job_ids(1))[0]
    nan_line = good.replace(b"[", b"[NaN,", 1).replace(b",", b"", 0)
    bad = [
        (b"{not json\n", "malformed JSON at column 2"),
        (
            b'{"job_id":"w","features":[1,2,3],"true_score":1}\n',
            "features has 3 values; this trainer expects 80",
        ),
        (nan_line, "features has 81 values"),
        (good.replace(b"[", b"[NaN,", 1).replace(b",", b"]", 0), "features has 81 values"),
        (
            b'{"job_id":"n","features":[' + b",".join([b"NaN"] * 80) + b'],"true_score":1}\n',
            "features[0] is nan",
        ),
        (
            b'{"job_id":"i","features":['
            + b",".join([b"1"] * 79 + [b"-Infinity"])
            + b'],"true_score":1}\n',
            "features[79] is -inf",
        ),
        (b"\n", "empty line"),
        (b"x" * 10_000 + b"\n", "line longer than 4096 bytes"),
    ]
    before = counts(app)
    for raw, message in bad:
        conn.send(raw)
        ack = conn.ack()
        assert ack["ok"] is False and "retryable" not in ack
        assert message in ack["error"]
    assert counts(app) == before
    conn.send(good)
    assert conn.ack()["ok"] is True


def test_a_huge_line_arriving_in_pieces_is_refused_once_and_skipped_to_its_end(
    connect, start_trainer
):
    app = start_trainer(max_line_bytes=2048)
    conn = connect(app.settings.socket)
    for _ in range(20):
        conn.send(b"9" * 100_000)  # 2 MB without a newline
    conn.send(b"\n" + lines(training_job_ids(1))[0])
    first = conn.ack()
    assert first == {
        "ok": False,
        "error": "line longer than 2048 bytes; refused and skipped to its end",
    }
    assert conn.ack()["ok"] is True
    assert counts(app)[0] + counts(app)[2] == 1


def test_a_silent_client_is_told_and_closed_while_others_are_served(connect, start_trainer):
    app = start_trainer(idle_timeout_s=0.5)
    silent = connect(app.settings.socket)
    busy = connect(app.settings.socket)
    busy.send(b"".join(lines(training_job_ids(5))))
    assert all(busy.ack()["ok"] for _ in range(5))  # served at once, the silent one notwithstanding
    assert silent.ack() == {
        "ok": False,
        "error": "no complete line for 0.5 s; closing the idle connection",
    }
    assert silent.at_eof()


def test_the_socket_is_owner_only_and_removed_on_stop(start_trainer):
    app = start_trainer()
    path = app.settings.socket
    mode = os.lstat(path).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE(os.stat(str(path) + ".lock").st_mode) == 0o600
    app.stop()
    assert not path.exists()


def test_a_second_trainer_on_the_same_socket_is_refused(connect, start_trainer):
    app = start_trainer()
    with pytest.raises(
        ConflictError, match=rf"Another trainer \(pid {os.getpid()}\) holds .*t.sock.lock"
    ):
        start_trainer(checkpoint_dir=app.settings.checkpoint_dir.parent / "other")
    assert connect(app.settings.socket).sock is not None  # the first one still serves


def test_a_stale_socket_is_replaced_and_a_regular_file_is_left_alone(
    connect, start_trainer, short_dir
):
    stale = short_dir / "t.sock"
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(str(stale))
    leftover.close()  # a crashed trainer's socket: the file stays, nobody listens
    app = start_trainer()
    conn = connect(app.settings.socket)
    conn.send(lines(training_job_ids(1))[0])
    assert conn.ack()["ok"] is True
    app.stop()
    (short_dir / "file.sock").write_text("precious")
    with pytest.raises(ConfigError, match="exists and is not a socket; refusing to replace it"):
        start_trainer(socket=short_dir / "file.sock")
    assert (short_dir / "file.sock").read_text() == "precious"


def test_a_socket_someone_else_listens_on_is_not_stolen(start_trainer, short_dir):
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(str(short_dir / "busy.sock"))
    other.listen(1)
    try:
        with pytest.raises(ConflictError, match="is listening on"):
            start_trainer(socket=short_dir / "busy.sock")
    finally:
        other.close()


def test_connections_past_the_limit_get_a_retryable_refusal(connect, start_trainer):
    app = start_trainer(max_connections=2)
    kept = [connect(app.settings.socket), connect(app.settings.socket)]
    for conn in kept:  # make sure both are admitted before the third arrives
        conn.send(lines(training_job_ids(1))[0])
        conn.ack()
    third = connect(app.settings.socket)
    ack = third.ack()
    assert ack["ok"] is False and ack["retryable"] is True
    assert "serves 2 connections already" in ack["error"]
    assert third.at_eof()


def test_many_clients_at_once_each_get_their_own_acks_in_order(connect, start_trainer):
    app = start_trainer()
    results: dict[int, list[str]] = {}

    def client(k: int) -> None:
        conn = connect(app.settings.socket)
        ids = training_job_ids(40, prefix=f"c{k}")
        conn.send(b"".join(lines(ids)))
        results[k] = [conn.ack()["job_id"] for _ in ids]
        assert results[k] == ids

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results) == [0, 1, 2, 3]
    assert app.service.learner.step == (4 * 40) // 16


def test_status_reports_the_trainer_state_as_json(connect, start_trainer):
    app = start_trainer()
    conn = connect(app.settings.socket)
    conn.send(b"".join(lines(training_job_ids(20))))
    for _ in range(20):
        conn.ack()
    host, port = app.status_server.address
    with urllib.request.urlopen(f"http://{host}:{port}/status", timeout=5) as response:
        body = json.loads(response.read())
    assert body["step_count"] == 1
    assert body["pending_size"] == 4
    assert body["n_features"] == 80
    assert body["feature_schema"] == "vmafx-features-v1"
    assert body["model_origin"] == "fresh"
    assert body["acks"] == {"buffered": 19, "trained": 1}
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"http://{host}:{port}/other", timeout=5)
    assert info.value.code == 404
    info.value.close()


def test_a_restarted_trainer_resumes_from_the_newest_active_checkpoint(start_trainer, connect):
    app = start_trainer(
        ckpt_interval_s=0, min_samples_ckpt=16, gate_min_samples=3, gate_min_plcc=-1.0
    )
    conn = connect(app.settings.socket)
    conn.send(b"".join(lines([f"r-{i}" for i in range(200)])))  # some go to the held-out set
    checkpoints = [a["checkpoint"] for a in (conn.ack() for _ in range(200)) if a.get("checkpoint")]
    assert checkpoints
    stable = app.service.publisher.registry.stable()
    assert stable is not None
    app.stop()
    again = start_trainer()
    assert again.origin == f"resumed v{stable.version}"
    assert again.status()["model_origin"] == f"resumed v{stable.version}"
