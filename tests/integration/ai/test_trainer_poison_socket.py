"""The poison attack over the real socket: one 1e30 score, then thousands of clean samples."""

from __future__ import annotations

import json
import urllib.request

from tests.integration.ai.conftest import training_job_ids

from vmafx.ai.protocol import encode_sample
from vmafx.ai.samples import synthetic_samples

ROWS, SCORES = synthetic_samples(2500, seed=23)


def test_a_1e30_score_is_refused_and_the_farm_keeps_training(connect, start_trainer):
    app = start_trainer(pending_capacity=256)
    conn = connect(app.settings.socket)
    features = ",".join(repr(float(v)) for v in ROWS[0])
    conn.send(b'{"job_id":"poison","features":[' + features.encode() + b'],"true_score":1e30}\n')
    assert conn.ack() == {
        "ok": False,
        "error": "true_score is 1e+30; a score must be from 0 to 100 (VMAF's range)",
        "job_id": "poison",
    }
    ids = training_job_ids(2400, prefix="clean")
    acks = []
    for start in range(0, len(ids), 200):  # batches, as the node's feedback client sends them
        chunk = range(start, start + 200)
        conn.send(b"".join(encode_sample(ids[i], ROWS[i].tolist(), SCORES[i]) for i in chunk))
        acks += [conn.ack() for _ in chunk]
    assert all(a["ok"] is True for a in acks)
    assert sum(bool(a.get("trained")) for a in acks) == 2400 // 16
    host, port = app.status_server.address
    with urllib.request.urlopen(f"http://{host}:{port}/status", timeout=5) as response:
        status = json.load(response)
    assert status["step_count"] == 150
    assert status["samples_rejected"] == 1
    assert status["last_rejected"] == {
        "job_id": "poison",
        "error": "true_score is 1e+30; a score must be from 0 to 100 (VMAF's range)",
    }
    assert (status["steps_dropped"], status["pending_size"]) == (0, 0)
