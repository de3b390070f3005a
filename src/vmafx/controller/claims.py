"""`ClaimBatcher`: the claims of many pullers in one store transaction (a group commit).

Every PullWork hands its request to the batcher, which serves them as `GroupCommit` says: a
lone request at once, requests that come while a batch runs as the next batch (up to
`max_batch`), up to `in_flight` batches in the store at once, in arrival order within a batch.
One transaction (BEGIN, six statements, COMMIT and its WAL flush, a worker thread) then
serves many claims. A claim whose caller went away (its node hung up) while its batch ran is
released at once rather than left to expire.

One batch at a time is the default because it measured fastest (benchmarks/controller.py:
1 in flight ~1,700 claims/s on PostgreSQL, 2 ~1,370, 4 ~980): concurrent batches hold the same
nodes' session rows, so they queue on each other's locks and split into smaller batches.
"""

from __future__ import annotations

import logging

from vmafx.controller.groupcommit import GroupCommit
from vmafx.core.clock import Clock
from vmafx.core.jobs import Job
from vmafx.store.port import ClaimOutcome, ClaimRequest, JobStore

log = logging.getLogger(__name__)


class ClaimBatcher(GroupCommit[ClaimRequest, Job | None]):
    name = "claim batcher"

    def __init__(
        self, store: JobStore, clock: Clock, *, max_batch: int = 64, in_flight: int = 1
    ) -> None:
        super().__init__(store, clock, max_batch=max_batch, in_flight=in_flight)
        #: Claims whose caller went away while its batch ran; given back by `_give_back`.
        self.orphaned = 0

    async def claim(self, request: ClaimRequest) -> Job | None:
        """The job the store gave this request, or None; raises what the store raised."""
        return await self.submit(request)

    async def _commit(self, requests: list[ClaimRequest]) -> list[ClaimOutcome]:
        return await self._store.claim_batch(requests, now=self._clock.now())

    async def _orphans(self, answers: list[Job | None]) -> None:
        for job in answers:
            if job is not None:
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
