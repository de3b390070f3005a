"""A cancelled ffmpeg is killed half a second after SIGTERM, not three (issue 18 item 7):
a cancelled run's output is thrown away, so there is nothing to let it flush."""

from __future__ import annotations

import subprocess

from vmafx.media.runner import CANCEL_GRACE_S, KILL_GRACE_S, CancelToken, SubprocessRunner


class DeafProcess:
    """A Popen that ignores SIGTERM: records what the runner does to it."""

    def __init__(self) -> None:
        self.calls: list[object] = []
        self.killed = False

    def terminate(self) -> None:
        self.calls.append("terminate")

    def kill(self) -> None:
        self.calls.append("kill")
        self.killed = True

    def wait(self, timeout: float | None = None) -> int:
        self.calls.append(("wait", timeout))
        if not self.killed:
            raise subprocess.TimeoutExpired("ffmpeg", timeout or 0)
        return -9


def test_a_cancelled_run_is_killed_within_a_second_of_sigterm():
    proc, token = DeafProcess(), CancelToken()
    token.cancel("cancelled by the controller")
    reason = SubprocessRunner._wait(proc, 0.0, None, token)  # type: ignore[arg-type]
    assert reason == "cancelled by the controller"
    assert proc.calls == ["terminate", ("wait", CANCEL_GRACE_S), "kill", ("wait", None)]
    assert CANCEL_GRACE_S <= 1.0


def test_a_run_past_its_timeout_keeps_the_longer_grace():
    proc = DeafProcess()
    assert SubprocessRunner._wait(proc, 0.0, -1.0, None) == "timeout"  # type: ignore[arg-type]
    assert proc.calls[:2] == ["terminate", ("wait", KILL_GRACE_S)]
