"""`GroupCommit`: the requests of many callers served by one store transaction per batch.

Callers hand their request to `submit`. Up to `in_flight` batches run in the store at once;
requests that come while they run queue, and the next free runner takes all of them (up to
`max_batch`) as one batch. A lone request on an idle controller runs at once, with no added
wait; under load one transaction serves many requests, so its cost (a worker thread, BEGIN,
its statements, COMMIT and its WAL flush) is paid per batch instead of per request.

A subclass says how a batch is served (`_commit`: one outcome per request, in order, an
exception being that caller's alone) and what becomes of an answer whose caller went away
while its batch ran (`_orphans`; by default nothing). When `_commit` raises, every caller in
the batch hears why and the next batch runs. A runner that dies of an unexpected exception (a
bug) is reported to `supervisor`, which stops the controller; its callers hear the same error
rather than wait forever. Users: `ClaimBatcher` (claims) and `RenewalBatcher` (heartbeats).
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from vmafx.core.clock import Clock
from vmafx.store.port import JobStore
from vmafx.supervision import Supervisor

RequestT = TypeVar("RequestT")
AnswerT = TypeVar("AnswerT")


class GroupCommit(ABC, Generic[RequestT, AnswerT]):
    #: The runner's name in the supervisor's report.
    name = "group commit"

    def __init__(
        self, store: JobStore, clock: Clock, *, max_batch: int = 64, in_flight: int = 1
    ) -> None:
        self._store = store
        self._clock = clock
        self._max_batch = max_batch
        self._in_flight = in_flight
        self._waiting: list[tuple[RequestT, asyncio.Future[AnswerT]]] = []
        #: Runners serving batches; counted in `_run` itself, so that the count drops in the
        #: same step as a runner sees the queue empty (a done-callback would come too late).
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()
        #: Told when a runner dies (set by the controller's composition root).
        self.supervisor: Supervisor | None = None
        #: Told each batch's size and its transaction's seconds (the service's metrics).
        self.observe: Callable[[int, float], None] | None = None

    @abstractmethod
    async def _commit(self, requests: list[RequestT]) -> Sequence[AnswerT | Exception]:
        """Serve a batch in one transaction: one outcome per request, in order."""

    async def _orphans(self, answers: list[AnswerT]) -> None:
        """Answers whose caller went away while their batch ran, after every caller has its
        answer (a claimed job to give back, say)."""

    async def submit(self, request: RequestT) -> AnswerT:
        """The answer the store gave this request; raises what the store raised for it."""
        future: asyncio.Future[AnswerT] = asyncio.get_running_loop().create_future()
        self._waiting.append((request, future))
        if self._running < self._in_flight:
            self._running += 1
            runner = asyncio.create_task(self._run(), name=f"vmafx-{self.name}")
            if self.supervisor is not None:
                self.supervisor.watch(runner, self.name)
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

    async def _serve(self, batch: list[tuple[RequestT, asyncio.Future[AnswerT]]]) -> None:
        try:
            await self._settle(batch)
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as error:  # a bug: no caller is left waiting, and the runner dies
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            raise

    async def _settle(self, batch: list[tuple[RequestT, asyncio.Future[AnswerT]]]) -> None:
        started = time.perf_counter()
        try:
            outcomes = await self._commit([request for request, _ in batch])
        except Exception as error:  # the transaction failed: every caller in it hears why
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        finally:
            if self.observe is not None:
                self.observe(len(batch), time.perf_counter() - started)
        orphans: list[AnswerT] = []
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Exception):
                if not future.done():
                    future.set_exception(outcome)
            elif not future.done():
                future.set_result(outcome)
            else:
                orphans.append(outcome)
        if orphans:
            await self._orphans(orphans)
