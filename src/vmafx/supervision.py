"""Background work that must not die quietly: when it does, the whole process stops, loudly.

A long-running vmafx process (controller, node, trainer) runs work beside its main loop: a
sweeper, a heartbeat, pull loops, a claim batcher, listener threads. Each handles the failures
it expects (a controller away → retry with backoff; a store error → next round). An exception
that still escapes one is a bug or a broken invariant, and the process can no longer be trusted
to do its job (a node whose heartbeat died would keep claiming jobs whose leases then expire).
So, as procrastinate's worker does, the process stops: the exception is logged at CRITICAL
with the task's name and traceback, the process shuts down and exits non-zero, and whatever
supervises it (systemd, Kubernetes) starts it again.

    supervisor = Supervisor("node")
    supervisor.watch(asyncio.create_task(heartbeat.run(stop)), "heartbeat", finishing=stop.is_set)
    with supervisor.catching_threads():     # a thread's escaping exception counts too
        await supervisor.died()             # → the first failure; `raise_failure()` raises it

A `VmafxError` escaping a task (a refused token) is a deliberate stop: logged at ERROR without
a traceback, and raised as itself (its own exit code). Anything else becomes `TaskDiedError`
(exit 1). A task given `finishing` must not return while `finishing()` is False either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from vmafx.errors import VmafxError

log = logging.getLogger(__name__)

T = TypeVar("T")


class TaskDiedError(VmafxError):
    """A background task or thread of a long-running process ended unexpectedly (exit 1)."""

    def __init__(self, process: str, task: str, cause: BaseException | None) -> None:
        self.process = process
        self.task = task
        why = f"{type(cause).__name__}: {cause}" if cause is not None else "it returned"
        super().__init__(
            f"the {process} stopped because its background task {task!r} died ({why}).",
            hint="The traceback is in the log above; this is a bug in vmafx, please report it. "
            "Run the process under a supervisor (systemd, Kubernetes) that restarts it.",
        )


class Supervisor:
    """Watches background tasks and threads; the first one that dies is the process's failure.

    Thread-safe: a death may be reported from any thread. `died()` (async) and `wait()`
    (threads) return when one is reported; `on_death` callbacks run once, on the thread that
    reported it (for an asyncio task: the event loop).
    """

    def __init__(self, process: str) -> None:
        self.process = process
        self._lock = threading.Lock()
        self._failure: VmafxError | None = None
        self._dead = threading.Event()
        self._callbacks: list[Callable[[VmafxError], object]] = []

    @property
    def failure(self) -> VmafxError | None:
        """The first failure reported, or None."""
        return self._failure

    def on_death(self, callback: Callable[[VmafxError], object]) -> None:
        """Call `callback(failure)` once a task dies (at once if one died already)."""
        with self._lock:
            failure = self._failure
            if failure is None:
                self._callbacks.append(callback)
        if failure is not None:
            callback(failure)

    def watch(
        self,
        task: asyncio.Task[T],
        name: str | None = None,
        *,
        finishing: Callable[[], bool] | None = None,
    ) -> asyncio.Task[T]:
        """Report `task` when it raises (or, with `finishing`, returns while not finishing)."""
        label = name or task.get_name()

        def done(task: asyncio.Task[T]) -> None:
            if task.cancelled():
                return
            error = task.exception()
            if error is not None:
                self.report(label, error)
            elif finishing is not None and not finishing():
                self.report(label, None)

        task.add_done_callback(done)
        return task

    def report(self, task: str, error: BaseException | None) -> None:
        """Record that `task` died of `error` (None: it returned when it should not have)."""
        if isinstance(error, VmafxError):
            log.error("%s: %s stopped: %s", self.process, task, error)
            failure: VmafxError = error
        else:
            log.critical(
                "%s: background task %s died%s; stopping so that a supervisor restarts it",
                self.process,
                task,
                f" ({type(error).__name__}: {error})" if error is not None else " (it returned)",
                exc_info=error,
                extra={"task": task},
            )
            failure = TaskDiedError(self.process, task, error)
        with self._lock:
            if self._failure is not None:
                return
            self._failure = failure
            callbacks, self._callbacks = self._callbacks, []
        self._dead.set()
        for callback in callbacks:
            callback(failure)

    async def died(self) -> VmafxError:
        """Wait until a task dies; its failure."""
        loop = asyncio.get_running_loop()
        woken: asyncio.Future[VmafxError] = loop.create_future()

        def wake(failure: VmafxError) -> None:
            def settle() -> None:
                if not woken.done():
                    woken.set_result(failure)

            if loop.is_closed():
                return
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                settle()
            else:
                loop.call_soon_threadsafe(settle)

        self.on_death(wake)
        return await woken

    def wait(self, stop: threading.Event, poll_s: float = 0.5) -> None:
        """Block until `stop` is set (return) or a task dies (raise its failure)."""
        while not stop.is_set():
            if self._dead.wait(poll_s):
                break
        self.raise_failure()

    def raise_failure(self) -> None:
        """Raise the first failure, if any."""
        if self._failure is not None:
            raise self._failure

    @contextlib.contextmanager
    def catching_threads(self) -> Iterator[None]:
        """Within: an exception escaping any thread's target is reported as that thread's death
        (`threading.excepthook`, restored on exit)."""
        previous = threading.excepthook

        def hook(args: Any) -> None:
            if args.exc_type is SystemExit:
                return
            name = args.thread.name if args.thread is not None else "a thread"
            self.report(f"thread {name}", args.exc_value)

        threading.excepthook = hook
        try:
            yield
        finally:
            threading.excepthook = previous
