"""The JobStore port: everything the controller keeps durably, as async methods on core types.

Implementations: `InMemoryJobStore` (tests, `memory://`) and `SqlJobStore` (SQLite, PostgreSQL).
Both pass one contract suite (tests/contract/test_job_store.py). Every method that changes
something takes `now` explicitly; the caller owns the clock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from vmafx.core.attempts import Attempt, Attribution
from vmafx.core.events import EventType, JobEvent
from vmafx.core.jobs import Job, JobKind, JobState, JsonObject
from vmafx.core.jobsearch import Term
from vmafx.core.messages import JobPage
from vmafx.core.nodes import NodeCapabilities, NodeSession
from vmafx.core.stats import FarmStats, StatsWindow
from vmafx.core.tokens import ApiToken
from vmafx.errors import NotFoundError

#: The largest page `list_jobs` returns.
MAX_PAGE = 1000


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class JobQuery:
    """Filters for `list_jobs`, all applied by the store (so a page is full while more follow);
    an empty tuple or None means no filter on that field. `node_id` matches the jobs running
    under that node session's lease; the creation range is [created_after, created_before).
    A job matches every one of `terms` (`vmafx.core.jobsearch`): an id prefix, a substring of
    its input/output paths, of the name of a node any attempt ran on, or of its error."""

    tenant: str | None = None
    states: tuple[JobState, ...] = ()
    kinds: tuple[JobKind, ...] = ()
    queues: tuple[str, ...] = ()
    batch_id: str | None = None
    parent_id: str | None = None
    node_id: str | None = None
    job_ids: tuple[str, ...] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None
    terms: tuple[Term, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class ClaimRequest:
    """One node's ask for work inside a batch of claims (see `JobStore.claim_batch`).

    `queues` narrows the node's subscription; `capabilities` replaces the registered ones.
    """

    session_id: str
    queues: tuple[str, ...] | None = None
    capabilities: NodeCapabilities | None = None


#: What one request of a batch got: the job it now holds, None for nothing that fits, or the
#: NotFoundError for an unknown or expired session (the other requests are not affected).
ClaimOutcome = Job | None | NotFoundError


@dataclasses.dataclass(frozen=True, slots=True)
class LeaseRenewal:
    """A heartbeat's answer: leases renewed, and jobs the node must stop (cancelled or lost)."""

    renewed: list[str]
    cancel: list[str]


@dataclasses.dataclass(frozen=True, slots=True)
class RenewalRequest:
    """One node's heartbeat inside a batch of renewals (see `JobStore.renew_batch`): the jobs
    whose leases it renews (None: every job the session holds)."""

    session_id: str
    job_ids: tuple[str, ...] | None = None


#: What one heartbeat of a batch got: its renewal, or the NotFoundError for an unknown or
#: expired session (the other heartbeats are not affected).
RenewalOutcome = LeaseRenewal | NotFoundError


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TuneProbe:
    """One measured tune probe kept for later searches (`vmafx.controller.tuning`): the probe
    job's result as its node reported it, who made it, and when it was kept. Looked up by
    (tenant, key); the key names the source's content and the probe's whole encode spec."""

    key: str
    job_id: str
    result: JsonObject
    node: str | None = None
    where: str | None = None
    gpu: str | None = None
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class QueueDepth:
    queue: str
    state: JobState
    count: int
    oldest_created_at: datetime


class JobStore(Protocol):
    # --- jobs, client side -------------------------------------------------------------------
    async def submit_job(self, job: Job) -> Job:
        """Store a new pending job. A known (tenant, idempotency key) returns the earlier job;
        the same key with a different kind or spec raises ConflictError."""
        ...

    async def submit_jobs(self, jobs: Sequence[Job]) -> list[Job]:
        """`submit_job` for many jobs in one transaction, answers in the same order."""
        ...

    async def get_job(self, job_id: str, *, tenant: str | None = None) -> Job:
        """The job, or NotFoundError (also when it belongs to another tenant)."""
        ...

    async def list_jobs(
        self, query: JobQuery, *, limit: int = 100, cursor: str | None = None
    ) -> JobPage: ...

    async def count_jobs(self, query: JobQuery) -> dict[JobState, int]:
        """How many jobs match `query`, per state (states with none are left out)."""
        ...

    async def batch_counts(
        self, prefix: str, *, tenant: str | None = None
    ) -> dict[str, dict[JobState, int]]:
        """Per batch id starting with `prefix` (a watched folder's `watch:NAME`), how many of
        its jobs are in each state."""
        ...

    async def cancel_job(
        self, job_id: str, *, now: datetime, tenant: str | None = None, reason: str | None = None
    ) -> Job:
        """Cancel a pending or running job; a terminal job is returned unchanged."""
        ...

    async def cancel_jobs(
        self, job_ids: Sequence[str], *, now: datetime, tenant: str | None = None, reason: str
    ) -> list[Job]:
        """`cancel_job` for many jobs in one transaction; returns those it cancelled (jobs
        already terminal or unknown are skipped)."""
        ...

    async def save_frames(self, job_id: str, frames: Mapping[int, bytes]) -> None:
        """Keep a job's per-frame series (input index → packed bytes), replacing any before."""
        ...

    async def get_frames(self, job_id: str, *, tenant: str | None = None) -> dict[int, bytes]:
        """A job's kept per-frame series by input index (empty when none was kept);
        NotFoundError for an unknown job (or another tenant's)."""
        ...

    async def set_pending_reasons(self, reasons: Mapping[str, str | None]) -> None:
        """Record why pending jobs cannot run (None clears); other jobs are left alone."""
        ...

    async def queue_depths(self, *, tenant: str | None = None) -> list[QueueDepth]:
        """Pending and running job counts per queue, with the oldest job's creation time."""
        ...

    async def list_attempts(self, job_id: str, *, tenant: str | None = None) -> list[Attempt]: ...

    async def farm_stats(self, window: StatsWindow, *, tenant: str) -> FarmStats:
        """The tenant's statistics over `window` (see `vmafx.core.stats`), aggregated by the
        store."""
        ...

    # --- jobs, node side ---------------------------------------------------------------------
    async def claim_next(
        self,
        session_id: str,
        *,
        now: datetime,
        queues: Sequence[str] | None = None,
        capabilities: NodeCapabilities | None = None,
    ) -> Job | None:
        """Atomically take the first pending job this node may run, or None.

        `queues` narrows the node's subscription; `capabilities` replaces the registered ones
        for this claim. Raises NotFoundError for an unknown or expired session.
        """
        ...

    async def claim_batch(
        self, requests: Sequence[ClaimRequest], *, now: datetime
    ) -> list[ClaimOutcome]:
        """Claims for several nodes in one transaction: one outcome per request, in order.

        Each request gets what `claim_next` would have given it had the requests run one
        after another; no job goes to two requests, and per-queue concurrency counts the jobs
        a session claims earlier in the same batch.
        """
        ...

    async def renew_leases(
        self, session_id: str, *, now: datetime, job_ids: Sequence[str] | None = None
    ) -> LeaseRenewal:
        """Heartbeat: extend the session and the leases of `job_ids` (None: all it holds)."""
        ...

    async def renew_batch(
        self, requests: Sequence[RenewalRequest], *, now: datetime
    ) -> list[RenewalOutcome]:
        """Heartbeats of several nodes in one transaction, with a fixed number of statements:
        one outcome per request, in order, each what `renew_leases` would have answered."""
        ...

    async def report_progress(
        self,
        job_id: str,
        *,
        attempt: int,
        session_id: str,
        now: datetime,
        progress: float | None,
        partial: JsonObject | None = None,
    ) -> Job: ...

    async def complete_job(
        self,
        job_id: str,
        *,
        attempt: int,
        session_id: str,
        now: datetime,
        result: JsonObject,
        attribution: Attribution | None = None,
    ) -> Job:
        """Final success report, fenced by attempt and session; a repeat is a no-op."""
        ...

    async def fail_job(
        self,
        job_id: str,
        *,
        attempt: int,
        session_id: str,
        now: datetime,
        error: str,
        attribution: Attribution | None = None,
    ) -> Job: ...

    async def release_job(
        self, job_id: str, *, attempt: int, session_id: str, now: datetime, reason: str = ""
    ) -> Job:
        """Give a running job back (node draining): pending again, not counted as lost."""
        ...

    async def expire_leases(self, *, now: datetime, limit: int = 1000) -> list[Job]:
        """Requeue (with backoff) or fail running jobs whose lease ran out; returns them."""
        ...

    # --- node sessions -----------------------------------------------------------------------
    async def register_node(
        self,
        *,
        tenant: str,
        name: str,
        capabilities: NodeCapabilities,
        token_sha256: str,
        now: datetime,
        session_id: str | None = None,
    ) -> NodeSession: ...

    async def get_node(self, session_id: str, *, tenant: str | None = None) -> NodeSession: ...

    async def list_nodes(
        self, *, tenant: str | None = None, live_at: datetime | None = None
    ) -> list[NodeSession]: ...

    async def count_nodes(self, *, live_at: datetime) -> int:
        """How many node sessions of every tenant are live at `live_at` (the farm's size)."""
        ...

    async def forget_node(self, session_id: str, *, now: datetime) -> list[Job]:
        """Drop a session; its running jobs go back to pending (not counted as lost)."""
        ...

    async def expire_nodes(self, *, now: datetime) -> list[str]:
        """Drop sessions not seen within their TTL; their leases expire on their own."""
        ...

    # --- events ------------------------------------------------------------------------------
    async def append_event(
        self, job_id: str, event_type: EventType, data: JsonObject, *, now: datetime
    ) -> JobEvent: ...

    async def list_events(
        self, job_id: str, *, after: int = 0, limit: int = 1000, tenant: str | None = None
    ) -> list[JobEvent]: ...

    # --- API tokens --------------------------------------------------------------------------
    async def create_token(self, token: ApiToken) -> ApiToken: ...

    async def find_token(self, token_sha256: str) -> ApiToken | None: ...

    async def list_tokens(self, *, tenant: str | None = None) -> list[ApiToken]: ...

    async def revoke_token(self, token_id: str, *, now: datetime) -> ApiToken: ...

    async def prune_finished(self, *, finished_before: datetime, limit: int = 1000) -> int:
        """Delete up to `limit` terminal jobs that finished before `finished_before` (oldest
        first), with their attempts, events and per-frame series; returns how many went
        (retention)."""
        ...

    # --- tune probes kept across searches -----------------------------------------------------
    async def save_tune_probe(self, tenant: str, probe: TuneProbe) -> None:
        """Keep a measured probe under (tenant, probe.key), replacing one kept before."""
        ...

    async def find_tune_probes(self, tenant: str, keys: Sequence[str]) -> dict[str, TuneProbe]:
        """The tenant's kept probes among `keys` (never another tenant's), by key."""
        ...

    async def prune_tune_probes(self, *, created_before: datetime, limit: int = 1000) -> int:
        """Delete up to `limit` kept probes older than `created_before` (oldest first), of
        every tenant; returns how many went (retention)."""
        ...

    # --- the store itself --------------------------------------------------------------------
    async def try_sweep_lock(self) -> bool:
        """Whether this store handle may run the periodic sweeps now, without waiting.

        PostgreSQL: one handle across every controller replica holds it (a session-level
        advisory lock on a connection of its own, kept until `close()`); when its holder dies,
        the database drops the lock and another replica's next try takes it. SQLite and memory
        (one controller per store): always granted.
        """
        ...

    async def vacuum_queue(self) -> list[str]:
        """Reclaim the dead rows the queue's churn left in its hot tables, where they passed
        the threshold the jobs table's autovacuum settings name (migration 0009); the tables
        vacuumed. PostgreSQL: `VACUUM (ANALYZE)`, a cover for servers whose autovacuum is off
        or behind (it normally gets there first, and then this finds nothing to do). SQLite
        and memory: nothing (no dead index entries to step over)."""
        ...

    async def ping(self) -> None:
        """Raise UnavailableError unless the store answers and its schema is current."""
        ...

    async def close(self) -> None: ...
