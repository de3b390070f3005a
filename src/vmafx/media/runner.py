"""The one place that starts ffmpeg: timeout, cancellation, progress, stderr tail.

`FfmpegRunner` is a port: `SubprocessRunner` runs the real binary, `vmafx.testing.FakeRunner`
answers from a script. Progress comes from `-progress pipe:1` (key=value blocks on stdout).
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import dataclasses
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import IO, Protocol

from vmafx.errors import FfmpegCancelledError, FfmpegError, FfmpegNotFoundError, FfmpegTimeoutError

#: Lines of stderr kept for error messages.
TAIL_LINES = 12
#: Seconds between SIGTERM and SIGKILL when stopping ffmpeg.
KILL_GRACE_S = 3.0
#: The same for a cancelled run: its output is thrown away, so ffmpeg has nothing worth
#: flushing (an encoder with a long lookahead, libaom, ran 8-11 s more when given time to).
CANCEL_GRACE_S = 0.5


@dataclasses.dataclass(frozen=True)
class Progress:
    """One `-progress` block: frames done so far, speed, encoded time."""

    frame: int
    fps: float
    out_time_s: float
    done: bool


@dataclasses.dataclass(frozen=True)
class RunResult:
    """A finished ffmpeg run: its argv, exit status, stderr (and stdout) and wall time."""

    argv: list[str]
    returncode: int
    stderr: str
    elapsed_s: float
    stdout: str = ""

    def tail(self, lines: int = TAIL_LINES) -> str:
        return stderr_tail(self.stderr, lines)


def stderr_tail(stderr: str, lines: int = TAIL_LINES) -> str:
    kept = [line for line in stderr.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


class CancelToken:
    """Set from any thread to stop a running ffmpeg (terminate, then kill)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = "cancelled"

    def cancel(self, reason: str = "cancelled") -> None:
        self.reason = reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


ProgressCallback = Callable[[Progress], None]


class FfmpegRunner(Protocol):
    def run(
        self,
        argv: Sequence[str],
        *,
        timeout_s: float | None = None,
        cancel: CancelToken | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> RunResult:
        """Run to completion; raise on timeout/cancel; a non-zero exit is returned, not raised."""
        ...


def parse_progress_block(lines: Sequence[str]) -> Progress:
    values = dict(line.split("=", 1) for line in lines if "=" in line)

    def number(key: str) -> float:
        try:
            return float(values.get(key, "0").strip().rstrip("x") or 0)
        except ValueError:
            return 0.0

    return Progress(
        frame=int(number("frame")),
        fps=number("fps"),
        out_time_s=number("out_time_us") / 1e6,
        done=values.get("progress", "").strip() == "end",
    )


def _read_stdout(
    stream: IO[str], on_progress: ProgressCallback | None, sink: collections.deque[str]
) -> None:
    """Keep stdout (bounded) and turn `-progress pipe:1` blocks into Progress callbacks."""
    block: list[str] = []
    for line in stream:
        sink.append(line)
        block.append(line.strip())
        if line.startswith("progress="):
            if on_progress is not None:
                on_progress(parse_progress_block(block))
            block = []


def _read_stderr(stream: IO[str], sink: collections.deque[str]) -> None:
    for line in stream:
        sink.append(line)


def die_with_parent() -> None:
    """In the child: ask Linux to send SIGTERM when the parent exits (no-op elsewhere)."""
    if sys.platform != "linux":
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


_PR_SET_PDEATHSIG = 1


@contextlib.contextmanager
def _fork_quietly() -> Iterator[list[subprocess.Popen[str]]]:
    """A Ctrl-C that lands while Python forks ffmpeg is raised inside an at-fork handler
    (`logging` registers one), where Python prints "Exception ignored" and drops it: the run
    went on as if no Ctrl-C had come (a CI run of the tuner's Ctrl-C test saw it). While the
    main thread forks, SIGINT's Python handler only notes the signal; once the fork is done,
    the process just started (put in the yielded list) is killed and the handler it replaced
    gets the signal (the default one raises KeyboardInterrupt)."""
    started: list[subprocess.Popen[str]] = []
    if threading.current_thread() is not threading.main_thread():
        yield started  # Python runs signal handlers in the main thread only
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):  # ignored or the C default: nothing raises in Python
        yield started
        return
    held: list[FrameType | None] = []
    signal.signal(signal.SIGINT, lambda _signum, frame: held.append(frame))
    try:
        yield started
    finally:
        signal.signal(signal.SIGINT, previous)
        if held:
            for proc in started:
                proc.kill()
                proc.communicate()
            previous(signal.SIGINT, held[0])


@dataclasses.dataclass
class Started:
    """An ffmpeg run `SubprocessRunner.start` began: the process and its output so far."""

    argv: list[str]
    proc: subprocess.Popen[str]
    start: float
    stderr_lines: collections.deque[str]
    stdout_lines: collections.deque[str]
    readers: list[threading.Thread] = dataclasses.field(default_factory=list)


class SubprocessRunner:
    """Runs the real ffmpeg binary."""

    def __init__(self, max_stderr_lines: int = 5000) -> None:
        self._max_stderr_lines = max_stderr_lines

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout_s: float | None = None,
        cancel: CancelToken | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> RunResult:
        return self.finish(self.start(argv, on_progress), timeout_s=timeout_s, cancel=cancel)

    def start(self, argv: Sequence[str], on_progress: ProgressCallback | None = None) -> Started:
        """Start ffmpeg and the threads that read its output; `finish` waits for it. Split so
        a run can start ahead of the code that asks for its result (`vmafx.media.prestart`)."""
        argv = list(argv)
        start = time.monotonic()
        try:
            with _fork_quietly() as forked:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    errors="replace",
                    # Own session: a Ctrl-C meant for the caller (a draining node) does not
                    # kill ffmpeg mid-job; the parent-death signal still stops it if the
                    # caller dies.
                    start_new_session=True,
                    preexec_fn=die_with_parent,  # noqa: PLW1509 - only calls prctl
                )
                forked.append(proc)
        except FileNotFoundError:
            raise FfmpegNotFoundError(
                f"Could not start ffmpeg: {argv[0]} does not exist.",
                argv=argv,
                hint="Unset VMAFX_FFMPEG to use the ffmpeg shipped with imageio-ffmpeg, "
                "or point it at an ffmpeg built with --enable-libvmaf.",
            ) from None
        except PermissionError:
            raise FfmpegNotFoundError(
                f"Could not start ffmpeg: {argv[0]} is not executable.",
                argv=argv,
                hint=f"Run `chmod +x {argv[0]}` or point VMAFX_FFMPEG at another build.",
            ) from None
        started = Started(
            argv,
            proc,
            start,
            collections.deque(maxlen=self._max_stderr_lines),
            collections.deque(maxlen=self._max_stderr_lines),
        )
        assert proc.stdout is not None and proc.stderr is not None
        started.readers.extend(
            [
                threading.Thread(
                    target=_read_stdout,
                    args=(proc.stdout, on_progress, started.stdout_lines),
                    daemon=True,
                ),
                threading.Thread(
                    target=_read_stderr, args=(proc.stderr, started.stderr_lines), daemon=True
                ),
            ]
        )
        for reader in started.readers:
            reader.start()
        return started

    @staticmethod
    def discard(started: Started) -> None:
        """Stop a run `start` began whose result nobody wants, and release its pipes."""
        if started.proc.poll() is None:
            stop(started.proc, grace_s=0.2)
        for reader in started.readers:
            reader.join(timeout=5)
        for stream in (started.proc.stdout, started.proc.stderr):
            if stream is not None:
                stream.close()

    def finish(
        self,
        started: Started,
        *,
        timeout_s: float | None = None,
        cancel: CancelToken | None = None,
    ) -> RunResult:
        """Wait for a run `start` began (stopping it on timeout or cancel); its result."""
        argv, proc, start = started.argv, started.proc, started.start
        assert proc.stdout is not None and proc.stderr is not None
        stop_reason = self._wait(proc, start, timeout_s, cancel)
        for reader in started.readers:
            reader.join(timeout=5)
        proc.stdout.close()
        proc.stderr.close()
        stderr = "".join(started.stderr_lines)
        elapsed = time.monotonic() - start
        if stop_reason is not None:
            error_cls = FfmpegTimeoutError if stop_reason == "timeout" else FfmpegCancelledError
            what = (
                f"ffmpeg ran past its timeout of {timeout_s:g} s and was stopped."
                if stop_reason == "timeout"
                else f"ffmpeg was stopped before it finished ({stop_reason})."
            )
            raise error_cls(
                what,
                argv=argv,
                returncode=proc.returncode,
                stderr_tail=stderr_tail(stderr),
                hint="Nothing was scored; run it again"
                + (" with a longer --timeout." if stop_reason == "timeout" else "."),
            )
        if proc.returncode < 0:
            raise FfmpegCancelledError(
                f"ffmpeg was killed by signal {-proc.returncode} before it finished.",
                argv=argv,
                returncode=proc.returncode,
                stderr_tail=stderr_tail(stderr),
                hint="Nothing was scored; check memory (a 4K job takes ~1.25 GB) and run it again.",
            )
        return RunResult(argv, proc.returncode, stderr, elapsed, "".join(started.stdout_lines))

    @staticmethod
    def _wait(
        proc: subprocess.Popen[str],
        start: float,
        timeout_s: float | None,
        cancel: CancelToken | None,
    ) -> str | None:
        exited: int | None = None
        watching = False
        try:
            while True:
                reason = None
                if cancel is not None and cancel.cancelled:
                    reason = cancel.reason
                elif timeout_s is not None and time.monotonic() - start > timeout_s:
                    reason = "timeout"
                if reason is not None:
                    stop(proc, KILL_GRACE_S if reason == "timeout" else CANCEL_GRACE_S)
                    return reason
                if not watching:  # after the first checks: a run cancelled at once needs none
                    exited, watching = _exit_watch(proc.pid), True
                if exited is not None:
                    if select.select([exited], [], [], 0.05)[0]:
                        proc.wait()
                        return None
                    continue
                try:
                    proc.wait(timeout=0.05)
                    return None
                except subprocess.TimeoutExpired:
                    pass
        finally:
            if exited is not None:
                os.close(exited)


def _exit_watch(pid: int) -> int | None:
    """A pidfd that turns readable the moment `pid` exits (Linux 5.3+), or None. Waiting on it
    notices ffmpeg's exit at once, where `Popen.wait(timeout)` polls with sleeps of up to 50 ms,
    time every short scoring run paid (issue 13)."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def stop(proc: subprocess.Popen[str], grace_s: float = KILL_GRACE_S) -> None:
    """Terminate, wait `grace_s`, then kill."""
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def check_returncode(result: RunResult, what: str, hint: str | None = None) -> None:
    if result.returncode != 0:
        raise FfmpegError(
            f"ffmpeg failed while {what} (exit code {result.returncode}).",
            argv=result.argv,
            returncode=result.returncode,
            stderr_tail=result.tail(),
            hint=hint,
        )
