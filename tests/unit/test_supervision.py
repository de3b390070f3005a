"""`Supervisor`: which endings of a task or thread count as a death, and how it is told."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from vmafx.errors import AuthError, exit_code_for
from vmafx.supervision import Supervisor, TaskDiedError

pytestmark = pytest.mark.anyio


async def _raise(error: BaseException) -> None:
    raise error


async def _return() -> None:
    return None


async def _settled(task: asyncio.Task[None]) -> None:
    await asyncio.wait({task})
    await asyncio.sleep(0)  # done callbacks run on the next loop turn


async def test_an_unexpected_exception_is_logged_critical_and_becomes_exit_1(caplog):
    supervisor = Supervisor("node")
    task = supervisor.watch(asyncio.create_task(_raise(KeyError("slot"))), "heartbeat")
    await _settled(task)
    failure = supervisor.failure
    assert isinstance(failure, TaskDiedError) and exit_code_for(failure) == 1
    assert str(failure).startswith(
        "the node stopped because its background task 'heartbeat' died (KeyError: 'slot')."
    )
    [record] = caplog.records
    assert record.levelno == logging.CRITICAL and record.exc_info is not None
    assert "node: background task heartbeat died (KeyError: 'slot')" in record.getMessage()


async def test_a_vmafx_error_stops_the_process_with_its_own_exit_code(caplog):
    supervisor = Supervisor("node")
    refused = AuthError("the token is not valid.")
    await _settled(supervisor.watch(asyncio.create_task(_raise(refused)), "pull loop 0"))
    assert supervisor.failure is refused
    assert [r.levelno for r in caplog.records] == [logging.ERROR]


async def test_a_task_that_returns_while_not_asked_to_stop_counts_as_dead():
    supervisor = Supervisor("controller")
    await _settled(supervisor.watch(asyncio.create_task(_return()), "sweeper", finishing=bool))
    assert "'sweeper' died (it returned)" in str(supervisor.failure)


async def test_a_task_that_returns_when_asked_or_is_cancelled_is_not_a_death():
    supervisor = Supervisor("controller")
    await _settled(supervisor.watch(asyncio.create_task(_return()), "a", finishing=lambda: True))
    await _settled(supervisor.watch(asyncio.create_task(_return()), "b"))
    cancelled = supervisor.watch(asyncio.create_task(asyncio.Event().wait()), "c")
    cancelled.cancel()
    await _settled(cancelled)
    assert supervisor.failure is None


async def test_only_the_first_death_counts_and_died_wakes_its_waiter():
    supervisor = Supervisor("node")
    waiter = asyncio.ensure_future(supervisor.died())
    await _settled(supervisor.watch(asyncio.create_task(_raise(RuntimeError("one"))), "a"))
    await _settled(supervisor.watch(asyncio.create_task(_raise(RuntimeError("two"))), "b"))
    assert "(RuntimeError: one)" in str(await asyncio.wait_for(waiter, 5))


def test_a_thread_that_dies_within_catching_threads_is_reported_and_wait_raises():
    supervisor = Supervisor("trainer")
    previous = threading.excepthook

    def accept_loop() -> None:
        raise OSError("accept failed")

    with supervisor.catching_threads():
        thread = threading.Thread(target=accept_loop, name="vmafx-trainer-accept")
        thread.start()
        thread.join()
        with pytest.raises(TaskDiedError, match="'thread vmafx-trainer-accept' died"):
            supervisor.wait(threading.Event())
    assert threading.excepthook is previous


def test_wait_returns_quietly_when_stop_is_set():
    supervisor = Supervisor("trainer")
    stop = threading.Event()
    stop.set()
    supervisor.wait(stop)
    assert supervisor.failure is None
