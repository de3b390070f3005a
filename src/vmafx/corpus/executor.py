"""The `ClipExecutor` port, and `LocalExecutor`: a pool of worker processes on this machine.

An executor takes clips and yields their outcomes as they finish, in any order. The driver
stages each outcome before it asks for the next, so an executor must not hold finished results
back. `LocalExecutor` keeps at most `2 × workers` clips in flight (memory stays flat over
150,000 clips); each worker scores one clip at a time with one ffmpeg whose libvmaf runs
`options.threads` threads (1 by default: N workers use N cores). Frames go straight from the
decoder into libvmaf: no scratch YUV files.

`FarmExecutor` (`farm.py`: one score job per clip through the controller, results streamed
back) implements the same port.

A worker outlives nothing: when the run's process dies (`kill -9`), each worker cancels its
ffmpeg and exits within `ORPHAN_GRACE_S`; with the workers gone the forkserver and the resource
tracker (alive while any process holds their pipes) exit too. A worker's parent is the
forkserver, not the run, so the parent-death signal cannot serve here: each worker follows the
run's pid (a pidfd on Linux, polling elsewhere).
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import multiprocessing
import os
import select
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from multiprocessing.queues import SimpleQueue
from multiprocessing.synchronize import Event
from typing import Any, Protocol

from vmafx.corpus.clips import ClipFailed, ClipJob, ClipOutcome, ClipSettings, score_clip
from vmafx.errors import UsageError
from vmafx.media.ffmpeg import FfmpegInfo
from vmafx.media.runner import KILL_GRACE_S, CancelToken, SubprocessRunner
from vmafx.media.scorer import LibvmafScorer


class ClipExecutor(Protocol):
    """Scores clips somewhere (this machine, the farm) and yields each outcome once."""

    def run(self, jobs: Iterable[ClipJob]) -> Iterator[ClipOutcome]:
        """Outcomes as clips finish, one per job, in any order."""
        ...

    def cancel(self) -> None:
        """Stop the clips in flight (Ctrl-C); their outcomes will not be asked for."""
        ...

    def close(self) -> None:
        """Release workers; idempotent."""
        ...

    def describe(self) -> dict[str, Any]:
        """What ran the clips, for the run manifest (`{"executor": "local", "workers": 8}`)."""
        ...


#: After the run's process died: how long a worker gives its ffmpeg to stop before it exits.
ORPHAN_GRACE_S = KILL_GRACE_S + 1.0
#: How often a worker without pidfd support looks for the run's process.
ORPHAN_POLL_S = 1.0


class _EventCancel(CancelToken):
    """A CancelToken that follows an Event shared with the parent process (and can also be
    cancelled in this process alone)."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self._shared = event

    @property
    def cancelled(self) -> bool:
        return super().cancelled or self._shared.is_set()


@dataclasses.dataclass
class _Worker:
    scorer: LibvmafScorer
    settings: ClipSettings
    cancel: CancelToken


#: The scorer of this worker process (set once by `_init_worker`; a pool initializer has no
#: other way to hand state to the tasks it runs).
_WORKER: _Worker | None = None


def _init_worker(
    ffmpeg: FfmpegInfo,
    settings: ClipSettings,
    event: Event,
    cores: SimpleQueue[int] | None,
    run_pid: int,
) -> None:
    global _WORKER  # noqa: PLW0603 - one scorer per worker process, set once
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    if cores is not None:  # this worker and its ffmpegs stay on one core of their own
        os.sched_setaffinity(0, {cores.get()})
    cancel = _EventCancel(event)
    _follow_run(run_pid, cancel)
    _WORKER = _Worker(LibvmafScorer(ffmpeg, SubprocessRunner()), settings, cancel)


def _follow_run(run_pid: int, cancel: CancelToken) -> None:
    """Once the run's process `run_pid` is gone: cancel this worker's ffmpeg, give it
    `ORPHAN_GRACE_S` to stop, and exit (the run is not there to take the outcome)."""

    def orphaned() -> None:
        _wait_for_exit(run_pid)
        cancel.cancel("the corpus run's process died")
        time.sleep(ORPHAN_GRACE_S)
        os._exit(1)

    threading.Thread(target=orphaned, name="vmafx-follow-run", daemon=True).start()


def _wait_for_exit(pid: int) -> None:
    """Block until process `pid` has exited."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except (AttributeError, OSError):  # no pidfd (not Linux, or a kernel before 5.3): poll
        while _alive(pid):
            time.sleep(ORPHAN_POLL_S)
        return
    try:
        select.select([pidfd], [], [])  # a pidfd turns readable when its process exits
    finally:
        os.close(pidfd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _score_in_worker(job: ClipJob) -> ClipOutcome:
    assert _WORKER is not None, "worker used before its initializer ran"
    return score_clip(job, _WORKER.settings, _WORKER.scorer, _WORKER.cancel)


_Pending = dict[cf.Future[ClipOutcome], ClipJob]


def pinnable_cores(workers: int) -> list[int]:
    """The cores `workers` pinned workers get, one each; UsageError when there are too few."""
    cores = sorted(os.sched_getaffinity(0))
    if workers > len(cores):
        raise UsageError(
            f"--pin-cores needs a core per worker: {workers} workers, {len(cores)} cores "
            "available to this process.",
            hint=f"Use --workers {len(cores)} or fewer, or leave out --pin-cores.",
        )
    return cores[:workers]


class LocalExecutor:
    """Scores clips in `workers` processes on this machine."""

    def __init__(
        self,
        ffmpeg: FfmpegInfo,
        settings: ClipSettings,
        workers: int,
        *,
        in_flight: int | None = None,
        start_method: str = "forkserver",
        pin_cores: bool = False,
    ) -> None:
        self._ffmpeg = ffmpeg
        self._settings = settings
        self._workers = max(1, workers)
        self._in_flight = in_flight or 2 * self._workers
        self._context = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            self._context.set_forkserver_preload(["vmafx.corpus.executor"])
        self._event = self._context.Event()
        self._pool: cf.ProcessPoolExecutor | None = None
        self._cores = pinnable_cores(self._workers) if pin_cores else None

    def describe(self) -> dict[str, Any]:
        return {
            "executor": "local",
            "workers": self._workers,
            "libvmaf_threads_per_worker": self._settings.options.threads,
            "pinned_cores": self._cores,
        }

    def _ensure_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            cores: SimpleQueue[int] | None = None
            if self._cores is not None:  # one core per worker (a new pool hands them out anew)
                cores = self._context.SimpleQueue()
                for core in self._cores:
                    cores.put(core)
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=self._context,
                initializer=_init_worker,
                initargs=(self._ffmpeg, self._settings, self._event, cores, os.getpid()),
            )
        return self._pool

    def run(self, jobs: Iterable[ClipJob]) -> Iterator[ClipOutcome]:
        pending: _Pending = {}
        queue = iter(jobs)
        try:
            self._fill(pending, queue)
            while pending:
                done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    job = pending.pop(future)
                    yield self._outcome(future, job)
                self._fill(pending, queue)
        finally:
            for future in pending:
                future.cancel()

    def _fill(
        self, pending: dict[cf.Future[ClipOutcome], ClipJob], queue: Iterator[ClipJob]
    ) -> None:
        while len(pending) < self._in_flight:
            job = next(queue, None)
            if job is None:
                return
            pending[self._ensure_pool().submit(_score_in_worker, job)] = job

    def _outcome(self, future: cf.Future[ClipOutcome], job: ClipJob) -> ClipOutcome:
        try:
            return future.result()
        except cf.process.BrokenProcessPool as exc:
            self._discard_broken_pool()
            return ClipFailed(
                job.id,
                "WorkerDied",
                "The worker process scoring this clip (or one next to it) died before it "
                f"finished ({exc}); out of memory is the usual cause. The clip is tried again "
                "on the next run.",
                1,
            )
        except Exception as exc:  # e.g. a result that could not be sent back: isolate the clip
            return ClipFailed(job.id, type(exc).__name__, f"unexpected error: {exc}", 1)

    def _discard_broken_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def cancel(self) -> None:
        self._event.set()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
