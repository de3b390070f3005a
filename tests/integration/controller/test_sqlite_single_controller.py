"""One serving controller per SQLite file (issue 15 item 1): a second `vmafx controller` on the
same file is refused before it binds anything, `vmafx controller migrate` and `vmafx tokens`
keep working beside the running one, and once it stops a new controller starts."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vmafx.cli.app import app
from vmafx.controller import main
from vmafx.controller.settings import ControllerSettings, controller_settings
from vmafx.errors import ConfigError, exit_code_for
from vmafx.supervision import Supervisor

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

WAIT_S = 60


def settings_for(url: str, tmp_path: Path) -> ControllerSettings:
    return controller_settings(
        flags={
            "grpc_listen": "127.0.0.1:0",
            "http_listen": "127.0.0.1:0",
            "store_url": url,
            "scoring_roots": [str(tmp_path)],
        },
        env={},
    )


async def test_a_second_controller_on_one_sqlite_file_is_refused_until_the_first_stops(
    tmp_path: Path, monkeypatch
):
    release = asyncio.Event()

    async def until_released(stop: asyncio.Event, supervisor: Supervisor) -> None:
        await release.wait()

    monkeypatch.setattr(main, "_until_stopped_or_dead", until_released)
    database = tmp_path / "state" / "controller.db"
    url = f"sqlite:///{database}"
    settings = settings_for(url, tmp_path)

    ready = asyncio.Event()
    first = asyncio.ensure_future(main.serve(settings, ready=ready))
    await asyncio.wait_for(ready.wait(), WAIT_S)

    with pytest.raises(ConfigError) as refused:
        await asyncio.wait_for(main.serve(settings), WAIT_S)
    assert str(refused.value) == (
        f"another vmafx controller (pid {os.getpid()}) already serves the SQLite store "
        f"{database}; SQLite allows one controller. "
        "Stop it, or use PostgreSQL for several controllers."
    )
    assert exit_code_for(refused.value) == 2

    # Short-lived tools on the same file keep working while the controller serves.
    assert await asyncio.to_thread(main.migrate, url)
    tokens = await asyncio.to_thread(CliRunner().invoke, app, ["tokens", "list", "--store", url])
    assert tokens.exit_code == 0, tokens.output

    release.set()
    await asyncio.wait_for(first, WAIT_S)

    release.clear()
    ready = asyncio.Event()
    again = asyncio.ensure_future(main.serve(settings, ready=ready))
    await asyncio.wait_for(ready.wait(), WAIT_S)
    release.set()
    await asyncio.wait_for(again, WAIT_S)


async def test_controllers_on_different_sqlite_files_do_not_block_each_other(tmp_path: Path):
    one = main.own_sqlite_store(f"sqlite:///{tmp_path / 'a' / 'controller.db'}")
    two = main.own_sqlite_store(f"sqlite:///{tmp_path / 'b' / 'controller.db'}")
    assert one is not None and two is not None
    assert main.own_sqlite_store("memory://") is None
    assert main.own_sqlite_store("postgresql://vmafx@db:5432/vmafx") is None
    one.release()
    two.release()
