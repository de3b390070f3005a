"""`WorkSignal`: wakes long-polling pullers when work may have appeared, and re-reads the store
for them once per group of alike pullers, not once per puller.

Two ways a waiting puller wakes:

- **Notified**: submissions, requeues and freed slots bump `version` and wake, per queue, as
  many of that queue's longest-waiting pullers (`notify(n, queue=Q)`; all of them when n is
  None). A puller waits for the version to move past the one it saw before its last claim
  attempt, so it never misses a wake-up. A woken puller that finds nothing it may run (its
  requirements do not fit) hands the wake-up on (`pass_on`), so a job only some nodes can run
  still reaches them. A wake-up relayed from another replica owes no hand-on: the replica where
  the work appeared woke its own.
- **Scouting**: work can also appear without a notify: a backoff that ended, a notice from
  another replica that was lost. For that, the store is re-read every `repoll_s`, but by one
  puller per *group* (pullers alike: same tenant, queues and matching capabilities, so what
  one of them may claim any of them may), the group's longest waiter (`Wake.SCOUT`). A scout
  that claims a job wakes the next scout of its group at once (`scout(group)`: there may be
  more), one that finds nothing goes back to the end of the line, so the next round asks
  another member. An idle farm of N alike nodes thus costs one claim attempt per `repoll_s`,
  not N (10,000 idle nodes on a 1 s repoll were 10,000 claim attempts a second).
- A puller whose long-poll ran out returns without a last claim (its group's scouts re-read
  meanwhile), and one that just came skips its first claim when a puller of its group found
  nothing less than `repoll_s` ago and `version` has not moved since (`knows_empty`): nodes
  that re-poll in a loop do not each cost a claim attempt per long-poll either.

One ticker task runs while anybody waits, and ends with the last waiter.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
from collections.abc import Callable, Hashable, Iterable
from typing import NamedTuple

from vmafx.core.jobs import Job
from vmafx.core.nodes import NodeCapabilities

#: A waiter's queues: None takes work of any queue.
Queues = frozenset[str] | None


class Wake(enum.Enum):
    """Why `WorkSignal.wait` returned."""

    TIMEOUT = "timeout"
    #: `version` moved while the caller was busy: something changed, claim again.
    CHANGED = "changed"
    #: A local notify woke this waiter: hand it on (`pass_on`) when the work was not for it.
    NOTIFIED = "notified"
    #: Another replica's notify: nothing is owed.
    RELAYED = "relayed"
    #: This waiter re-reads the store for its group; on success, wake the group's next scout.
    SCOUT = "scout"


class _Waiter(NamedTuple):
    future: asyncio.Future[Wake]
    queues: Queues
    group: Hashable


def capability_key(caps: NodeCapabilities) -> Hashable:
    """What of a node's capabilities a claim looks at (not its host name or GPU UUIDs): two
    nodes with equal keys may claim the same jobs."""
    return (
        tuple(sorted(caps.backends)),
        caps.gpu_vendor,
        tuple(sorted((gpu.vendor, gpu.memory_mb) for gpu in caps.gpus)),
        tuple(sorted(caps.encoders)),
        tuple(sorted(caps.queues)),
        caps.slots,
        tuple(sorted(caps.concurrency.items())),
        tuple(sorted(caps.labels.items())),
    )


class WorkSignal:
    """See the module doc. `repoll_s` is how often each group's scout re-reads the store."""

    def __init__(self, repoll_s: float = 1.0) -> None:
        self.version = 0
        self.repoll_s = repoll_s
        self._waiters: collections.deque[_Waiter] = collections.deque()
        self._ticker: asyncio.Task[None] | None = None
        #: Per group: the `version` at which a claim of one of its pullers found nothing, when.
        self._empty: dict[Hashable, tuple[int, float]] = {}
        #: Told about every `notify(count, queue=…)` with `relay=True` (other replicas wake theirs).
        self.relay: Callable[[int, str | None], None] | None = None
        #: Scouts woken so far (rounds and chains; for tests and metrics).
        self.scouts = 0

    @property
    def waiting(self) -> int:
        """Pullers waiting now (for tests and metrics)."""
        return sum(not waiter.future.done() for waiter in self._waiters)

    @property
    def groups(self) -> int:
        """Distinct groups among the pullers waiting now."""
        return len({waiter.group for waiter in self._waiters if not waiter.future.done()})

    def notify(
        self, count: int | None = None, *, relay: bool = True, queue: str | None = None
    ) -> None:
        """Wake `count` waiters taking `queue` (None: all, never relayed). `relay=False` marks a
        wake-up from another replica: its waiters owe no `pass_on`, since the replica where the
        work appeared woke its own, and one job must not ripple through every waiter of every
        replica."""
        self.version += 1
        how = Wake.NOTIFIED if relay else Wake.RELAYED
        self._wake(len(self._waiters) if count is None else count, how, queue=queue)
        if relay and count and self.relay is not None:
            self.relay(count, queue)

    def notify_jobs(self, jobs: Iterable[Job]) -> None:
        """New or requeued `jobs`: wake, per queue, as many of that queue's pullers."""
        for queue, count in collections.Counter(job.queue for job in jobs).items():
            self.notify(count, queue=queue)

    def pass_on(self) -> None:
        """Wake one more waiter without moving `version` (the caller could not use it)."""
        self._wake(1, Wake.NOTIFIED, queue=None)

    def scout(self, group: Hashable | None = None) -> int:
        """Wake the longest waiter of `group` (None: of every group) to re-read the store for
        it; returns how many were woken."""
        woken: set[Hashable] = set()
        for waiter in self._waiters:
            if waiter.future.done() or waiter.group in woken:
                continue
            if group is not None and waiter.group != group:
                continue
            waiter.future.set_result(Wake.SCOUT)
            woken.add(waiter.group)
            if group is not None:
                break
        self._waiters = collections.deque(w for w in self._waiters if not w.future.done())
        self.scouts += len(woken)
        return len(woken)

    def found_nothing(self, group: Hashable, seen: int) -> None:
        """A puller of `group` claimed nothing at version `seen`."""
        self._empty[group] = (seen, asyncio.get_running_loop().time())

    def knows_empty(self, group: Hashable, seen: int) -> bool:
        """Whether a puller of `group` found nothing at version `seen` within `repoll_s`: a
        newcomer would find nothing either (what appears without a notify, its group's scouts
        find)."""
        found = self._empty.get(group)
        if found is None or found[0] != seen:
            return False
        return asyncio.get_running_loop().time() - found[1] < self.repoll_s

    def _wake(self, count: int, how: Wake, *, queue: str | None) -> None:
        skipped: collections.deque[_Waiter] = collections.deque()
        while count > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if waiter.future.done():
                continue
            if queue is not None and waiter.queues is not None and queue not in waiter.queues:
                skipped.append(waiter)  # another pool's puller: left waiting
                continue
            waiter.future.set_result(how)
            count -= 1
        skipped.extend(self._waiters)
        self._waiters = skipped

    async def wait(
        self,
        seen: int,
        timeout: float,
        queues: Iterable[str] | None = None,
        group: Hashable = None,
    ) -> Wake:
        """Return CHANGED at once when `version` moved past `seen` (something changed while
        the caller was busy), else wait up to `timeout` s for work of `queues` (None: any) or
        for this waiter's turn to scout for `group` (None: a group of its own)."""
        if self.version != seen:
            return Wake.CHANGED
        future: asyncio.Future[Wake] = asyncio.get_running_loop().create_future()
        own = object() if group is None else group
        waiter = _Waiter(future, frozenset(queues) if queues else None, own)
        self._waiters.append(waiter)
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.create_task(self._tick(), name="vmafx-work-scout")
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return Wake.TIMEOUT
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    async def _tick(self) -> None:
        """Every `repoll_s` while anybody waits: one scout per group."""
        while self.waiting:
            await asyncio.sleep(self.repoll_s)
            self.scout()
            now = asyncio.get_running_loop().time()
            self._empty = {
                group: found
                for group, found in self._empty.items()
                if now - found[1] < self.repoll_s and found[0] == self.version
            }

    async def close(self) -> None:
        """Stop the ticker (the service's `close` wakes every waiter first)."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
