"""Cancel stops the process within a second even when it ignores SIGTERM (issue 18 item 7):
ffmpeg flushing a long-lookahead encoder after SIGTERM ran 8-11 s past a cancel."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time

import pytest

from vmafx.errors import FfmpegCancelledError
from vmafx.media.runner import CancelToken, Progress, SubprocessRunner, _exit_watch

pytestmark = pytest.mark.integration

#: Ignores SIGTERM, then says so on stdout the way ffmpeg reports progress, then waits.
DEAF = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('frame=1\\nprogress=continue', flush=True)\n"
    "time.sleep(60)\n"
)


def test_a_process_deaf_to_sigterm_is_gone_soon_after_cancel():
    token = CancelToken()
    cancelled_at: list[float] = []

    def on_progress(progress: Progress) -> None:
        if not cancelled_at:
            cancelled_at.append(time.monotonic())
            token.cancel("cancelled by the test")

    with pytest.raises(FfmpegCancelledError) as stopped:
        SubprocessRunner().run(
            [sys.executable, "-c", DEAF], cancel=token, on_progress=on_progress, timeout_s=120
        )
    after_cancel = time.monotonic() - cancelled_at[0]
    assert stopped.value.returncode == -9
    assert after_cancel < 2.5, f"still running {after_cancel:.1f} s after the cancel"  # was 3+


def test_the_exit_watch_turns_readable_when_the_process_exits_and_not_before():
    """`SubprocessRunner` waits on a pidfd: ffmpeg's exit is noticed at once, not at the next
    50 ms poll (issue 13)."""
    proc = subprocess.Popen(["sleep", "0.3"])
    watch = _exit_watch(proc.pid)
    assert watch is not None  # Linux 5.3+: these machines and CI
    try:
        assert select.select([watch], [], [], 0)[0] == []
        assert select.select([watch], [], [], 30)[0] == [watch]
        assert proc.wait(timeout=5) == 0
    finally:
        os.close(watch)
