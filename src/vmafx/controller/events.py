"""In-process pub/sub of job changes (the signal that wakes long-polling pullers is
`vmafx.controller.work`).

`JobBus`: the service publishes every job it changes; a `Subscription` (StreamJobs, HTTP
server-sent events) receives the jobs matching its filter. A slow subscriber never blocks the
publisher: it keeps only the newest state of each job, and once more than `max_pending` jobs
wait for it, it is closed with `SubscriberLaggedError` (the client reconnects and re-reads).

It lives in one process. With several controller replicas on PostgreSQL, each one's `relay`
hook hands its own changes to `vmafx.controller.crosstalk`, which tells the other replicas
(LISTEN/NOTIFY); what arrives from them is published here with `relay=False`, so it is not sent
back.
"""

from __future__ import annotations

import asyncio
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
