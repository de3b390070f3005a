"""The sweeping replica vacuums the queue's hot tables on its own cadence (issue 15 item 5)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from vmafx.controller.sweeper import Sweeper
from vmafx.errors import UnavailableError

pytestmark = pytest.mark.anyio


class VacuumingStore:
    def __init__(self, answer: list[str] | Exception) -> None:
        self.answer = answer
        self.calls = 0

    async def vacuum_queue(self) -> list[str]:
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class Service:
    def __init__(self, store: VacuumingStore) -> None:
        self.store = store
        self.nodes_changed = asyncio.Event()

    async def expire_once(self) -> list[Any]:
        return []

    async def refresh_pending_reasons(self) -> list[Any]:
        return []


async def test_a_sweep_round_vacuums_once_the_vacuum_is_due_and_not_before():
    store = VacuumingStore(["jobs"])
    sweeper = Sweeper(Service(store), vacuum_every_s=3600)  # type: ignore[arg-type]
    await sweeper.run_once()
    assert store.calls == 0  # not in the first minute after a start
    due = Sweeper(Service(store), vacuum_every_s=0)  # type: ignore[arg-type]
    await due.run_once()
    assert store.calls == 1


async def test_a_vacuum_the_store_refuses_is_logged_and_tried_again_later(caplog):
    store = VacuumingStore(UnavailableError("the database is away"))
    sweeper = Sweeper(Service(store), vacuum_every_s=0)  # type: ignore[arg-type]
    assert await sweeper.run_once()
    assert await sweeper.vacuum_once() == []
    assert store.calls == 2
    assert "not vacuumed" in caplog.text
