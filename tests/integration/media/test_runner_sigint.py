"""A Ctrl-C that lands while the runner forks ffmpeg is not lost (it once was: Python raised it
inside an at-fork handler and dropped it, and the tuner's search went on to the end)."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from vmafx.media.runner import SubprocessRunner

pytestmark = pytest.mark.integration

#: Armed by a test: the next fork of this process sends it a SIGINT from inside Python's
#: at-fork "before" handlers, where the default handler's KeyboardInterrupt would be dropped.
_ARMED: list[bool] = []
_REGISTERED: list[bool] = []


def _ctrl_c_in_the_fork() -> None:
    if _ARMED and threading.current_thread() is threading.main_thread():
        _ARMED.clear()
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):  # run Python here long enough for the handler to be called
            pass


@pytest.fixture
def ctrl_c_in_the_next_fork():
    if not _REGISTERED:  # at-fork handlers cannot be removed: registered once, armed per test
        os.register_at_fork(before=_ctrl_c_in_the_fork)
        _REGISTERED.append(True)
    _ARMED.append(True)
    yield
    _ARMED.clear()


def test_a_ctrl_c_during_the_fork_is_raised_once_the_fork_is_done(ctrl_c_in_the_next_fork):
    with pytest.raises(KeyboardInterrupt):
        SubprocessRunner().run(["/bin/sh", "-c", "exit 0"], timeout_s=30)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_the_sigint_handler_is_put_back_after_an_ordinary_run():
    before = signal.getsignal(signal.SIGINT)
    result = SubprocessRunner().run(["/bin/sh", "-c", "echo hi"], timeout_s=30)
    assert result.returncode == 0 and result.stdout.strip() == "hi"
    assert signal.getsignal(signal.SIGINT) is before


def test_a_run_from_a_worker_thread_leaves_the_handler_alone():
    before = signal.getsignal(signal.SIGINT)
    done: list[int] = []
    worker = threading.Thread(
        target=lambda: done.append(SubprocessRunner().run(["/bin/sh", "-c", "exit 3"]).returncode)
    )
    worker.start()
    worker.join(30)
    assert done == [3]
    assert signal.getsignal(signal.SIGINT) is before
