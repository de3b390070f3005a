"""In-process pub/sub of job changes, and the signal that wakes long-polling pullers.

`JobBus`: the service publishes every job it changes; a `Subscription` (StreamJobs, HTTP
server-sent events) receives the jobs matching its filter. A slow subscriber never blocks the
publisher: it keeps only the newest state of each job, and once more than `max_pending` jobs
wait for it, it is closed with `SubscriberLaggedError` (the client reconnects and re-reads).

`WorkSignal`: a version counter that submissions and requeues bump; a puller waits for the
version to move past the one it saw before its last claim attempt, so it never misses a wake-up.

Both live in one process. With several controller replicas on PostgreSQL, each one's `relay`
hook hands its own changes to `vmafx.controller.crosstalk`, which tells the other replicas
(LISTEN/NOTIFY); what arrives from them is published here with `relay=False`, so it is not sent
back. Pullers also re-poll the store every `repoll_s`, so a lost notification costs latency only.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence

from vmafx.core.jobs import Job
from vmafx.errors import UnavailableError

MAX_PENDING = 10_000


class SubscriberLaggedError(UnavailableError):
    """A subscriber fell so far behind that updates would be lost; it must reconnect."""


class Subscription:
    """Jobs matching `accepts`, newest state per job, in the order they first changed."""

    def __init__(
        self, bus: JobBus, accepts: Callable[[Job], bool], max_pending: int = MAX_PENDING
    ) -> None:
        self._bus = bus
        self._accepts = accepts
        self._max_pending = max_pending
        self._pending: dict[str, Job] = {}
        self._ready = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self.closed = False
        self.lagged = False

    def offer(self, job: Job) -> None:
        """Called by the bus for every change, on any thread."""
        if self.closed or not self._accepts(job):
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - published from a thread without a loop
            running = None
        if running is not self._loop:  # pragma: no cover - vmafx publishes from its one loop
            self._loop.call_soon_threadsafe(self._put, job)
        else:
            self._put(job)

    def _put(self, job: Job) -> None:
        self._pending.pop(job.id, None)
        self._pending[job.id] = job
        if len(self._pending) > self._max_pending:
            self.lagged = True
        self._ready.set()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._bus.remove(self)
            self._ready.set()

    async def next_batch(self, timeout: float | None = None) -> list[Job]:
        """Wait for changes (at most `timeout` s) and take them all; [] on timeout or close."""
        if not self._pending and not self.closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), timeout)
        if self.lagged:
            self.close()
            raise SubscriberLaggedError(
                "the job stream fell too far behind and was closed.",
                hint="Reconnect; the new stream starts with a fresh snapshot.",
            )
        batch = list(self._pending.values())
        self._pending.clear()
        self._ready.clear()
        return batch

    async def __aiter__(self) -> AsyncIterator[Job]:
        while not self.closed or self._pending:
            for job in await self.next_batch():
                yield job


class JobBus:
    """Fan-out of job changes to subscriptions."""

    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        #: Told about every change published here with `relay=True` (other replicas hear it).
        self.relay: Callable[[Sequence[Job]], None] | None = None

    def subscribe(
        self, accepts: Callable[[Job], bool], max_pending: int = MAX_PENDING
    ) -> Subscription:
        subscription = Subscription(self, accepts, max_pending)
        self._subscriptions.add(subscription)
        return subscription

    def remove(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    def publish(self, jobs: Iterable[Job], *, relay: bool = True) -> None:
        """Offer `jobs` to every subscription; `relay=False` for changes another replica made."""
        jobs = list(jobs)
        for job in jobs:
            for subscription in list(self._subscriptions):
                subscription.offer(job)
        if relay and jobs and self.relay is not None:
            self.relay(jobs)

    def close_all(self) -> None:
        for subscription in list(self._subscriptions):
            subscription.close()

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)


#: A waiter's queues: None takes work of any queue.
Queues = frozenset[str] | None


class WorkSignal:
    """Wakes waiting pullers when work may have appeared; `version` moves on every notify.

    `notify(n, queue=Q)` wakes the `n` longest-waiting pullers that take queue Q (any puller
    when Q is None; all of them when n is None), so one new job does not start 32 claim
    transactions, nor wake a puller of another pool; a woken puller that finds nothing it may
    run (its requirements do not fit) hands the wake-up on to the next waiter (`pass_on`), so a
    job only some nodes can run still reaches them.
    """

    def __init__(self) -> None:
        self.version = 0
        self._waiters: collections.deque[tuple[asyncio.Future[bool], Queues]] = collections.deque()
        #: Told about every `notify(count, queue=…)` with `relay=True` (other replicas wake theirs).
        self.relay: Callable[[int, str | None], None] | None = None

    @property
    def waiting(self) -> int:
        """Pullers waiting now (for tests and metrics)."""
        return sum(not waiter.done() for waiter, _ in self._waiters)

    def notify(
        self, count: int | None = None, *, relay: bool = True, queue: str | None = None
    ) -> None:
        """Wake `count` waiters taking `queue` (None: all, never relayed). `relay=False` marks a
        wake-up from another replica: its waiters owe no `pass_on`, since the replica where the
        work appeared woke its own, and one job must not ripple through every waiter of every
        replica."""
        self.version += 1
        self._wake(len(self._waiters) if count is None else count, owes=relay, queue=queue)
        if relay and count and self.relay is not None:
            self.relay(count, queue)

    def notify_jobs(self, jobs: Iterable[Job]) -> None:
        """New or requeued `jobs`: wake, per queue, as many of that queue's pullers."""
        for queue, count in collections.Counter(job.queue for job in jobs).items():
            self.notify(count, queue=queue)

    def pass_on(self) -> None:
        """Wake one more waiter without moving `version` (the caller could not use it)."""
        self._wake(1, owes=True, queue=None)

    def _wake(self, count: int, *, owes: bool, queue: str | None) -> None:
        skipped: collections.deque[tuple[asyncio.Future[bool], Queues]] = collections.deque()
        while count > 0 and self._waiters:
            waiter, queues = self._waiters.popleft()
            if waiter.done():
                continue
            if queue is not None and queues is not None and queue not in queues:
                skipped.append((waiter, queues))  # another pool's puller: left waiting
                continue
            waiter.set_result(owes)
            count -= 1
        skipped.extend(self._waiters)
        self._waiters = skipped

    async def wait(self, seen: int, timeout: float, queues: Iterable[str] | None = None) -> bool:
        """Return at once when `version` moved past `seen` (something changed while the caller
        was busy), else wait up to `timeout` s for work of `queues` (None: any). True only when a
        local notify woke this very waiter (the caller then owes a `pass_on` if it cannot use
        the work)."""
        if self.version != seen:
            return False
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        entry = (waiter, frozenset(queues) if queues else None)
        self._waiters.append(entry)
        try:
            return await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            return False
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(entry)
