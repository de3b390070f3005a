"""A controller whose sweeper dies of a bug stops (cleanly, every listener closed) and exits 1
instead of serving on with leases that never expire."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import pytest

from vmafx.controller import main
from vmafx.controller.service import ControllerService
from vmafx.controller.settings import controller_settings
from vmafx.errors import exit_code_for
from vmafx.supervision import TaskDiedError

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


async def test_a_controller_whose_sweeper_dies_stops_and_exits_1(
    tmp_path: Path, monkeypatch, caplog
):
    async def broken_expire(self: ControllerService) -> list[object]:
        raise RuntimeError("a bug in lease expiry")

    monkeypatch.setattr(ControllerService, "expire_once", broken_expire)
    settings = controller_settings(
        flags={
            "grpc_listen": "127.0.0.1:0",
            "http_listen": "127.0.0.1:0",
            "store_url": "memory://",
            "scoring_roots": [str(tmp_path)],
        },
        env={},
    )
    ready = asyncio.Event()
    with pytest.raises(TaskDiedError) as died:
        await asyncio.wait_for(main.serve(settings, ready=ready), 60)
    assert ready.is_set()  # it had started, then stopped on its own
    assert exit_code_for(died.value) == 1
    assert "background task 'sweeper' died (RuntimeError: a bug in lease expiry)" in str(died.value)
    # Only this loop's thread: a controller an earlier test left running in a thread of this
    # process would also run the patched method and log its own death.
    here = threading.get_ident()
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL and r.thread == here]
    assert [r.name for r in critical] == ["vmafx.supervision"]
    assert "controller: background task sweeper died" in critical[0].getMessage()
