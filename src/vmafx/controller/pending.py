"""Why pending jobs are not running: explained with the scheduler and stored with each job.

A job no live node can run stays pending and says why (`no live node can run it — node-a:
needs encoder av1_nvenc …`). Reasons are computed when jobs are submitted and refreshed
periodically and after node changes. One refresh reads at most `scan_limit` pending jobs,
continuing where the previous one stopped, so a very long queue is covered over a few rounds;
the explanation is computed once per (tenant, queue, requirements). A reason the store wrote
itself (a lost lease's backoff) is kept while the job waits out its backoff, and is only
replaced by a reason of ours, never cleared.
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence

from vmafx.core.clock import Clock
from vmafx.core.jobs import Job, JobState
from vmafx.core.nodes import NodeSession
from vmafx.scheduler import explain_unschedulable
from vmafx.store.port import JobQuery, JobStore

#: Pending jobs one refresh reads (one page). A round reads them as whole rows and the live
#: node list with them, in a burst the event loop shares the GIL with: 5,000 jobs and 10,000
#: sessions every 10 s showed in the claim latency at 10,000 nodes (docs/scale.md).
SCAN_LIMIT = 1000
PAGE = 1000
WRITE_CHUNK = 500
#: How long the live node list is reused. Every node change (registration, expiry, drain,
#: a replica's relayed change) drops it at once (`invalidate`), so this bounds only what slips
#: past those (a relayed notice lost while the replica feed reconnected). Reading 10,000
#: sessions is ~150 ms of decoding under the GIL: every 30 s it showed as a 30 s beat in the
#: claim tail at 10,000 nodes (docs/scale.md, "Where a slow claim's time goes").
NODES_CACHE_S = 300.0
_OURS = ("no live node", "every live node")


def _signature(job: Job) -> Hashable:
    req = job.requirements
    labels = tuple(sorted(req.labels.items()))
    return (job.tenant, job.queue, req.backend, req.gpu_vendor, req.encoder,
            req.min_gpu_memory_mb, labels)  # fmt: skip


class PendingExplainer:
    def __init__(
        self,
        store: JobStore,
        clock: Clock,
        *,
        draining: Callable[[], frozenset[str]],
        scan_limit: int = SCAN_LIMIT,
    ) -> None:
        self._store = store
        self._clock = clock
        self._draining = draining
        self._scan_limit = scan_limit
        self._cursor: str | None = None
        self._nodes: dict[str, list[NodeSession]] | None = None
        self._nodes_at = 0.0

    def invalidate(self) -> None:
        """Forget the cached node list (a node registered, left or was drained)."""
        self._nodes = None

    async def _live_nodes(self) -> dict[str, list[NodeSession]]:
        if self._nodes is not None and time.monotonic() - self._nodes_at < NODES_CACHE_S:
            return self._nodes
        by_tenant: dict[str, list[NodeSession]] = defaultdict(list)
        for node in await self._store.list_nodes(live_at=self._clock.now()):
            by_tenant[node.tenant].append(node)
        self._nodes, self._nodes_at = dict(by_tenant), time.monotonic()
        return self._nodes

    def _explain(self, job: Job, nodes: dict[str, list[NodeSession]]) -> str | None:
        registered = nodes.get(job.tenant, [])
        draining = self._draining()
        open_nodes = [node for node in registered if node.id not in draining]
        if registered and not open_nodes:
            return "every live node is draining"
        return explain_unschedulable(job, open_nodes)

    async def annotate(self, jobs: Sequence[Job]) -> list[Job]:
        """New jobs with their pending reason set (before they are stored)."""
        nodes = await self._live_nodes()
        cache: dict[Hashable, str | None] = {}
        annotated: list[Job] = []
        for job in jobs:
            key = _signature(job)
            if key not in cache:
                cache[key] = self._explain(job, nodes)
            reason = cache[key]
            annotated.append(dataclasses.replace(job, pending_reason=reason) if reason else job)
        return annotated

    async def refresh(self) -> list[Job]:
        """Recompute the reasons of up to `scan_limit` pending jobs; returns the jobs changed."""
        nodes = await self._live_nodes()
        now = self._clock.now()
        cache: dict[Hashable, str | None] = {}
        changed: list[Job] = []
        scanned = 0
        while scanned < self._scan_limit:
            page = await self._store.list_jobs(
                JobQuery(states=(JobState.PENDING,)), limit=PAGE, cursor=self._cursor
            )
            scanned += len(page.jobs)
            for job in page.jobs:
                if job.available_at > now:
                    continue
                key = _signature(job)
                if key not in cache:
                    cache[key] = self._explain(job, nodes)
                reason = cache[key]
                mine = job.pending_reason is None or job.pending_reason.startswith(_OURS)
                if reason != job.pending_reason and (reason is not None or mine):
                    changed.append(dataclasses.replace(job, pending_reason=reason))
            self._cursor = page.next_cursor
            if self._cursor is None:
                break
        for start in range(0, len(changed), WRITE_CHUNK):
            chunk = changed[start : start + WRITE_CHUNK]
            await self._store.set_pending_reasons({job.id: job.pending_reason for job in chunk})
        return changed
