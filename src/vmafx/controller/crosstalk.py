"""Wake-ups across controller replicas: the service's in-process signals, carried between
replicas by a change feed (PostgreSQL LISTEN/NOTIFY, `vmafx.store.sql.notify.PgChangeFeed`).

What a replica does locally it also tells the others, right after the store committed it:
- new or requeued work (`WorkSignal.notify(n, queue=Q)`): each other replica wakes `n` of its
  long-polling pullers of queue Q (they owe no `pass_on`: the replica where the work appeared
  woke its own, and one job must not ripple through every waiter of every replica);
- changed jobs (`JobBus.publish`): a replica with live watchers (StreamJobs, server-sent events)
  reads those jobs from the store, in batches, and publishes them to its watchers; one without
  watchers reads nothing;
- node changes: pending reasons are refreshed soon by whichever replica sweeps;
- drain requests: every replica running then tells the node in its next heartbeat answer, and
  stops giving it work (a replica started later does not know of the request).
When the feed's LISTEN connection comes back after a drop, notices sent meanwhile are lost:
every waiting puller is woken to re-read the store (watchers of StreamJobs may miss a state in
the gap; server-sent events re-read a job's events every few seconds anyway). `/readyz` answers
503 while the LISTEN connection is down.

SQLite (one controller per file) and the memory store need none of this: no feed is built.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Protocol

from vmafx.controller.service import ControllerService
from vmafx.core.jobs import Job
from vmafx.errors import UnavailableError, VmafxError
from vmafx.store.port import MAX_PAGE, JobQuery

log = logging.getLogger(__name__)
#: Marks a relayed resume among the drained node ids of a notice.
RESUMED = "-"


class HeardNotice(Protocol):
    """A notice from another replica (`vmafx.store.sql.notify.Notice` is one)."""

    @property
    def origin(self) -> str: ...
    @property
    def work(self) -> tuple[tuple[str, int], ...]: ...
    @property
    def job_ids(self) -> tuple[str, ...]: ...
    @property
    def nodes_changed(self) -> bool: ...
    @property
    def drained(self) -> tuple[str, ...]: ...


class ChangeFeed(Protocol):
    """What `Crosstalk` needs of a feed (`PgChangeFeed` is one)."""

    connected: bool
    dropped: int
    reconnects: int

    def send(
        self,
        *,
        work: int = 0,
        queue: str | None = None,
        job_ids: tuple[str, ...] = (),
        nodes_changed: bool = False,
        drained: tuple[str, ...] = (),
    ) -> None: ...

    async def start(
        self,
        heard: Callable[[HeardNotice], None],
        reconnected: Callable[[], None],
        *,
        wait_s: float = 5.0,
    ) -> None: ...

    @property
    def tasks(self) -> list[asyncio.Task[None]]: ...

    async def close(self) -> None: ...


def new_origin() -> str:
    """A replica's name on the feed: random, so a restarted replica is a new one."""
    return uuid.uuid4().hex[:12]


class Crosstalk:
    """Joins one service to a change feed (see the module doc)."""

    def __init__(self, service: ControllerService, feed: ChangeFeed) -> None:
        self._service = service
        self._feed = feed
        self._to_fetch: dict[str, None] = {}
        self._fetch_ready = asyncio.Event()
        self._fetcher: asyncio.Task[None] | None = None
        #: Notices heard from other replicas, and jobs read for local watchers (metrics, tests).
        self.heard = 0
        self.fetched = 0
        self.closing = False

    async def start(self, *, wait_s: float = 5.0) -> list[asyncio.Task[None]]:
        """Hook into the service and start the feed; returns the tasks to supervise (each
        runs until `close`)."""
        service = self._service
        service.bus.relay = self._relay_jobs
        service.work.relay = self._relay_work
        service.nodes_relay = self._relay_nodes
        service.sessions.drain_relay = self._relay_drain
        service.sessions.resume_relay = self._relay_resume
        service.ready_checks.append(self.check_ready)
        self._fetcher = asyncio.create_task(self._fetch_loop(), name="vmafx-crosstalk")
        await self._feed.start(self._hear, self._reconnected, wait_s=wait_s)
        return [self._fetcher, *self._feed.tasks]

    # --- out ----------------------------------------------------------------------------------
    def _relay_jobs(self, jobs: Sequence[Job]) -> None:
        self._feed.send(job_ids=tuple(job.id for job in jobs))

    def _relay_work(self, count: int, queue: str | None) -> None:
        self._feed.send(work=count, queue=queue)

    def _relay_nodes(self) -> None:
        self._feed.send(nodes_changed=True)

    def _relay_drain(self, node_id: str) -> None:
        self._feed.send(drained=(node_id,))

    def _relay_resume(self, node_id: str) -> None:
        # A resume rides with the drains, marked (node ids are hex: the mark never clashes).
        self._feed.send(drained=(RESUMED + node_id,))

    # --- in -----------------------------------------------------------------------------------
    def _hear(self, notice: HeardNotice) -> None:
        self.heard += 1
        service = self._service
        for queue, count in notice.work:  # each queue's pullers ("": any puller)
            service.work.notify(count, relay=False, queue=queue or None)
        for node_id in notice.drained:
            if node_id.startswith(RESUMED):
                service.sessions.resume(node_id.removeprefix(RESUMED), relay=False)
            else:
                service.sessions.request_drain(node_id, relay=False)
        if notice.nodes_changed or notice.drained:
            service.mark_nodes_changed(relay=False)
        if notice.job_ids and service.bus.subscribers:
            self._to_fetch.update(dict.fromkeys(notice.job_ids))
            self._fetch_ready.set()

    def _reconnected(self) -> None:
        self._service.work.notify(relay=False)  # every waiter re-reads the store

    async def _fetch_loop(self) -> None:
        while True:
            await self._fetch_ready.wait()
            self._fetch_ready.clear()
            while self._to_fetch:
                ids = list(self._to_fetch)[:MAX_PAGE]
                for job_id in ids:
                    del self._to_fetch[job_id]
                if not self._service.bus.subscribers:
                    continue
                try:
                    page = await self._service.store.list_jobs(
                        JobQuery(job_ids=tuple(ids)), limit=len(ids)
                    )
                except VmafxError as error:  # watchers miss this change; pullers are not hit
                    log.warning("could not read jobs another replica changed: %s", error)
                    continue
                self.fetched += len(page.jobs)
                self._service.bus.publish(page.jobs, relay=False)

    # --- health and life ---------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._feed.connected

    @property
    def dropped(self) -> int:
        return self._feed.dropped

    @property
    def reconnects(self) -> int:
        return self._feed.reconnects

    def check_ready(self) -> None:
        if not self._feed.connected:
            raise UnavailableError(
                "this controller does not hear the other replicas' changes: its PostgreSQL "
                "LISTEN connection is down (it keeps retrying).",
                hint="Check the database and its max_connections; each replica holds one "
                "LISTEN and one NOTIFY connection beside its pool.",
            )

    async def close(self) -> None:
        self.closing = True
        service = self._service
        service.bus.relay = None
        service.work.relay = None
        service.nodes_relay = None
        service.sessions.drain_relay = None
        service.sessions.resume_relay = None
        if self._fetcher is not None:
            self._fetcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._fetcher
        await self._feed.close()
