"""A trainer whose accept loop dies stops loudly (CRITICAL log, exit 1) instead of staying up
with nobody accepting the nodes' samples."""

from __future__ import annotations

import logging
import socket
import threading

import pytest

from vmafx.errors import exit_code_for
from vmafx.supervision import TaskDiedError

pytestmark = pytest.mark.integration


def test_a_trainer_whose_accept_loop_dies_stops_with_exit_1(start_trainer, caplog):
    app = start_trainer()

    def broken_admit(conn: socket.socket) -> None:
        conn.close()
        raise RuntimeError("a bug while admitting a connection")

    app.server._admit = broken_admit
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(str(app.settings.socket))
    client.close()
    stop = threading.Event()
    bound = threading.Timer(60, stop.set)  # without a death, wait() returns quietly at 60 s
    bound.start()
    try:
        with pytest.raises(TaskDiedError) as died:
            app.wait(stop)
    finally:
        bound.cancel()
    assert exit_code_for(died.value) == 1
    assert "the trainer stopped because its background task 'thread vmafx-trainer-accept'" in str(
        died.value
    )
    [record] = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert "trainer: background task thread vmafx-trainer-accept died" in record.getMessage()
