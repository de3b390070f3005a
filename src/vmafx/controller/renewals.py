"""`RenewalBatcher`: the heartbeats of many nodes in one store transaction (a group commit).

Every heartbeat hands its lease renewal to the batcher, which serves them as `GroupCommit`
says: a lone heartbeat at once, heartbeats that come while a batch runs as the next batch (up
to `max_batch`). At 10,000 nodes (~100 heartbeats/s) one transaction (BEGIN, two writes,
COMMIT and its WAL flush, a worker thread) then serves many heartbeats instead of one each
(`JobStore.renew_batch`). A renewal whose caller went away needs no undoing: the node's next
heartbeat renews again.
"""

from __future__ import annotations

from collections.abc import Sequence

from vmafx.controller.groupcommit import GroupCommit
from vmafx.store.port import LeaseRenewal, RenewalOutcome, RenewalRequest


class RenewalBatcher(GroupCommit[RenewalRequest, LeaseRenewal]):
    name = "renewal batcher"

    async def renew(self, session_id: str, *, job_ids: Sequence[str] | None = None) -> LeaseRenewal:
        """What `JobStore.renew_leases` answers; NotFoundError for an unknown or expired
        session (only this caller hears it)."""
        named = tuple(job_ids) if job_ids is not None else None
        return await self.submit(RenewalRequest(session_id, named))

    async def _commit(self, requests: list[RenewalRequest]) -> list[RenewalOutcome]:
        return await self._store.renew_batch(requests, now=self._clock.now())
