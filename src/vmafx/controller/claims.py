"""`ClaimBatcher`: the claims of many pullers in one store transaction (a group commit).

Every PullWork hands its request to the batcher. Up to `in_flight` batches run in the store at
once; requests that come while they run queue, and the next free runner takes all of them (up
to `max_batch`) as one batch. A lone request on an idle farm runs at once, with no added wait;
under load one transaction serves many claims, so the cost of a transaction (BEGIN, six
statements, COMMIT and its WAL flush, a worker thread) is paid per batch instead of per claim.
A batch serves its requests in arrival order. A runner that dies of an unexpected exception
(a bug: the store's own errors reach the callers) is reported to `supervisor`, which stops the
controller; its callers hear the same error rather than wait forever.

One batch at a time is the default because it measured fastest (benchmarks/controller.py:
1 in flight ~1,700 claims/s on PostgreSQL, 2 ~1,370, 4 ~980): concurrent batches hold the same
nodes' session rows, so they queue on each other's locks and split into smaller batches.
"""

from __future__ import annotations

import asyncio
import logging

from vmafx.core.clock import Clock
from vmafx.core.jobs import Job
from vmafx.store.port import ClaimOutcome, ClaimRequest, JobStore
from vmafx.supervision import Supervisor

log = logging.getLogger(__name__)


class ClaimBatcher:
    def __init__(
        self, store: JobStore, clock: Clock, *, max_batch: int = 64, in_flight: int = 1
    ) -> None:
        self._store = store
        self._clock = clock
        self._max_batch = max_batch
        self._in_flight = in_flight
        self._waiting: list[tuple[ClaimRequest, asyncio.Future[Job | None]]] = []
        #: Runners serving batches; counted in `_run` itself, so that the count drops in the
        #: same step as a runner sees the queue empty (a done-callback would come too late).
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()
        #: Claims whose caller went away while its batch ran; given back by `_give_back`.
        self.orphaned = 0
        #: Told when a runner dies (set by the controller's composition root).
        self.supervisor: Supervisor | None = None

    async def claim(self, request: ClaimRequest) -> Job | None:
        """The job the store gave this request, or None; raises what the store raised."""
        future: asyncio.Future[Job | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((request, future))
        if self._running < self._in_flight:
            self._running += 1
            runner = asyncio.create_task(self._run(), name="vmafx-claims")
            if self.supervisor is not None:
                self.supervisor.watch(runner, "claim batcher")
            self._tasks.add(runner)
            runner.add_done_callback(self._tasks.discard)
        return await future

    async def _run(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                await self._serve(batch)
        finally:
            self._running -= 1

    async def _serve(self, batch: list[tuple[ClaimRequest, asyncio.Future[Job | None]]]) -> None:
        try:
            await self._claim(batch)
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as error:  # a bug: no caller is left waiting, and the runner dies
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            raise

    async def _claim(self, batch: list[tuple[ClaimRequest, asyncio.Future[Job | None]]]) -> None:
        try:
            outcomes = await self._store.claim_batch(
                [request for request, _ in batch], now=self._clock.now()
            )
        except Exception as error:  # the transaction failed: every caller in it hears why
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        orphans: list[Job] = []
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if not future.done():
                _settle(future, outcome)
            elif isinstance(outcome, Job):
                orphans.append(outcome)
        for job in orphans:  # after every caller has its answer
            await self._give_back(job)

    async def _give_back(self, job: Job) -> None:
        """The caller was cancelled (its node hung up) after the store gave it `job`: release
        it at once instead of letting the lease run out and count as lost."""
        self.orphaned += 1
        assert job.lease is not None
        try:
            await self._store.release_job(
                job.id,
                attempt=job.attempt,
                session_id=job.lease.session_id,
                now=self._clock.now(),
                reason="the node hung up before the claim reached it",
            )
        except Exception as error:  # the lease expiry will requeue it instead
            log.warning("could not release job %s: %s", job.id, error)


def _settle(future: asyncio.Future[Job | None], outcome: ClaimOutcome) -> None:
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
