"""`ControllerService`: every rule of the controller, as async verbs on core types.

gRPC servicers, HTTP routes and the in-process fake client are thin layers over this one
class: they authenticate the caller into a `Principal` (`vmafx.controller.auth`), decode their
request into core values (`vmafx.core.messages`), call one verb and encode the answer. Each
verb checks the caller's role and scopes everything to its tenant; errors are `VmafxError`s
that each transport maps in one table.

Client verbs:  submit_job, submit_jobs, get_job, list_jobs, count_jobs, cancel_job, watch_jobs,
               job_events; cancel_jobs, retry_job, retry_jobs (`vmafx.controller.bulk`)
Node verbs:    register_node, heartbeat, pull_work, report_result, release_jobs
Admin/readers: list_nodes, drain_node
Background:    expire_once (leases, sessions), refresh_pending_reasons; the `Sweeper` calls them.

Every job the service changes is published on `bus` (live StreamJobs and server-sent events),
and submissions and requeues wake long-polling pullers through `work`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Hashable, Mapping, Sequence
from datetime import timedelta

from vmafx.controller import bulk, listing, nodeops
from vmafx.controller.admission import Admission
from vmafx.controller.auth import Action, Principal, require
from vmafx.controller.claims import ClaimBatcher
from vmafx.controller.events import JobBus
from vmafx.controller.inputs import InputPolicy
from vmafx.controller.observing import NO_METRICS, JobMetrics
from vmafx.controller.pacing import HeartbeatPacing
from vmafx.controller.pending import PendingExplainer
from vmafx.controller.renewals import RenewalBatcher
from vmafx.controller.sessions import NodeSessions
from vmafx.controller.work import Wake, WorkSignal, capability_key
from vmafx.core import frames
from vmafx.core.clock import Clock
from vmafx.core.events import JobEvent
from vmafx.core.gpuusage import GpuUsage
from vmafx.core.jobs import Job, JobKind, JobState, JsonObject
from vmafx.core.messages import (
    Claim,
    ConcurrencyResult,
    DrainResult,
    HeartbeatAnswer,
    JobDetails,
    JobFilter,
    JobPage,
    JobRef,
    JobRequest,
    NodeRegistration,
    NodeReport,
    NodeView,
    ReportOutcome,
    ResumeResult,
    RunningJob,
    Submitted,
)
from vmafx.core.nodes import NodeCapabilities
from vmafx.core.retries import BulkResult
from vmafx.core.stats import FarmStats, StatsWindow
from vmafx.core.submissions import new_job
from vmafx.core.tokens import token_digest
from vmafx.errors import NotFoundError, UnavailableError, UsageError
from vmafx.scheduler import Scheduler
from vmafx.scheduler.cadence import CadenceSettings
from vmafx.store.port import MAX_PAGE, ClaimRequest, JobStore

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServiceSettings:
    """Limits and timings of the service (leases and backoff live in the Scheduler)."""

    #: The heartbeat interval of a small farm, and the farm's heartbeats per second it is
    #: stretched to stay under as the farm grows (0: never stretched; `scheduler.cadence`).
    heartbeat_interval_s: float = 10.0
    max_heartbeats_per_s: float = 100.0
    #: RegisterNode calls admitted a second (0: no limit; `vmafx.controller.admission`).
    max_registrations_per_s: float = 0.0
    #: Longest long-poll a PullWork may ask for, and how often the store is re-read for each
    #: group of alike waiting pullers (finds work whose backoff ended, or whose notice from
    #: another replica was lost; `vmafx.controller.work`).
    max_wait_s: float = 30.0
    repoll_s: float = 1.0
    max_batch: int = 10_000
    snapshot_limit: int = 10_000
    max_running_ids: int = 64
    #: Most PullWork claims served by one store transaction, and most such transactions at
    #: once (see `ClaimBatcher`).
    max_claim_batch: int = 64
    claim_batches_in_flight: int = 1
    #: Most heartbeats' lease renewals served by one store transaction (see `RenewalBatcher`).
    max_renewal_batch: int = 64


class ControllerService:
    def __init__(
        self,
        store: JobStore,
        *,
        clock: Clock,
        scheduler: Scheduler,
        inputs: InputPolicy,
        settings: ServiceSettings | None = None,
        metrics: JobMetrics = NO_METRICS,
    ) -> None:
        self.store = store
        self.clock = clock
        self.scheduler = scheduler
        self.inputs = inputs
        self.settings = settings or ServiceSettings()
        self.metrics = metrics
        self.bus = JobBus()
        self.work = WorkSignal(self.settings.repoll_s)
        self.claims = ClaimBatcher(
            store,
            clock,
            max_batch=self.settings.max_claim_batch,
            in_flight=self.settings.claim_batches_in_flight,
        )
        self.renewals = RenewalBatcher(store, clock, max_batch=self.settings.max_renewal_batch)
        self.claims.observe = lambda size, seconds: metrics.batch("claim", size, seconds)
        self.renewals.observe = lambda size, seconds: metrics.batch("renewal", size, seconds)
        self.sessions = NodeSessions(store)
        self.admission = Admission(self.settings.max_registrations_per_s)
        self.pacing = HeartbeatPacing(
            store,
            clock,
            scheduler,
            CadenceSettings(
                base_interval_s=self.settings.heartbeat_interval_s,
                max_heartbeats_per_s=self.settings.max_heartbeats_per_s,
            ),
        )
        self.explainer = PendingExplainer(store, clock, draining=self.sessions.draining)
        #: Set when node changes call for fresh pending reasons (the Sweeper waits on it).
        self.nodes_changed = asyncio.Event()
        #: Told when a local node change calls for a refresh (other replicas hear it).
        self.nodes_relay: Callable[[], None] | None = None
        #: More conditions of `/readyz`, each raising UnavailableError (the replicas' feed).
        self.ready_checks: list[Callable[[], None]] = []
        self.closing = False
        self.desk = nodeops.NodeDesk(
            store=store,
            clock=clock,
            renewals=self.renewals,
            sessions=self.sessions,
            metrics=metrics,
            bus=self.bus,
            work=self.work,
            nodes_changed=self.mark_nodes_changed,
        )

    @property
    def lease_ttl_s(self) -> float:
        """Leases granted now (stretched with the heartbeat interval in a large farm)."""
        return self.scheduler.lease_ttl.total_seconds()

    def publish(self, jobs: Sequence[Job]) -> None:
        """Tell live subscribers about jobs that just changed (internal to the service)."""
        self.bus.publish(jobs)

    def mark_nodes_changed(self, *, relay: bool = True) -> None:
        """A node registered, left or drained: pending reasons need a refresh (`relay=False`:
        another replica said so)."""
        self.explainer.invalidate()
        self.nodes_changed.set()
        if relay and self.nodes_relay is not None:
            self.nodes_relay()

    # --- client verbs ------------------------------------------------------------------------
    async def submit_job(self, principal: Principal, request: JobRequest) -> Submitted:
        """Validate and enqueue one job (an idempotency key seen before returns that job)."""
        return (await self.submit_jobs(principal, [request]))[0]

    async def submit_jobs(
        self, principal: Principal, requests: Sequence[JobRequest], *, batch_id: str | None = None
    ) -> list[Submitted]:
        """Enqueue many jobs in one transaction; one invalid job rejects them all.

        Each spec comes typed (parsed at the door); the input policy checks its paths here."""
        require(principal, Action.WRITE)
        if not requests:
            raise UsageError("no jobs to submit.")
        if len(requests) > self.settings.max_batch:
            raise UsageError(
                f"{len(requests)} jobs in one call is more than the {self.settings.max_batch} "
                "allowed.",
                hint="Submit them in several batches.",
            )
        now = self.clock.now()
        jobs = []
        for index, request in enumerate(requests):
            job = new_job(
                tenant=principal.tenant,
                spec=request.spec,
                now=now,
                queue=request.queue,
                priority=request.priority,
                requirements=request.requirements,
                parent_id=request.parent_id,
                batch_id=request.batch_id or batch_id,
                idempotency_key=request.idempotency_key,
            )
            self.inputs.check_spec(job.kind, job.spec, principal.tenant)
            # Microsecond steps keep a batch in submission order under "oldest first".
            jobs.append(dataclasses.replace(job, created_at=now + timedelta(microseconds=index)))
        jobs = await self.explainer.annotate(jobs)
        stored = await self.store.submit_jobs(jobs)
        fresh = [job for job, asked in zip(stored, jobs, strict=True) if job.id == asked.id]
        if fresh:
            self.metrics.submitted(fresh)
            self.publish(fresh)
            self.work.notify_jobs(fresh)
        return [
            Submitted(job, deduplicated=job.id != asked.id)
            for job, asked in zip(stored, jobs, strict=True)
        ]

    async def get_job(self, principal: Principal, job_id: str) -> JobDetails:
        """A job of the caller's tenant with its attempts (NotFoundError otherwise)."""
        require(principal, Action.READ)
        job = await self.store.get_job(job_id, tenant=principal.tenant)
        attempts = await self.store.list_attempts(job_id, tenant=principal.tenant)
        return JobDetails(job=job, attempts=tuple(attempts))

    async def list_jobs(
        self,
        principal: Principal,
        where: JobFilter | None = None,
        *,
        limit: int = 100,
        cursor: str | None = None,
    ) -> JobPage:
        """One page of the tenant's jobs, newest first; pass `next_cursor` back for more.

        The store applies the whole filter: a page holds `limit` jobs while more follow.
        """
        require(principal, Action.READ)
        where = where or JobFilter()
        if not 1 <= limit <= MAX_PAGE:
            raise UsageError(f"page size must lie in [1, {MAX_PAGE}], got {limit}.")
        query = listing.query_for(principal.tenant, where)
        return await self.store.list_jobs(query, limit=limit, cursor=cursor)

    async def cancel_job(self, principal: Principal, job_id: str, reason: str | None = None) -> Job:
        """Cancel a pending or running job (its node hears it in its next heartbeat).

        A finished job is returned unchanged: cancelling is idempotent.
        """
        require(principal, Action.WRITE)
        now = self.clock.now()
        reason = reason or f"cancelled by {principal.name or 'a client'}"
        job = await self.store.cancel_job(job_id, now=now, tenant=principal.tenant, reason=reason)
        if job.state is JobState.CANCELLED and job.finished_at == now:
            self.metrics.finished(job)
            self.publish([job])
        if job.kind is JobKind.TUNE and job.state is JobState.CANCELLED:
            await self._cancel_children(principal, job, reason)
        return job

    async def _cancel_children(self, principal: Principal, parent: Job, reason: str) -> None:
        """A cancelled tune job's probes that still wait or run are cancelled too."""
        query = listing.query_for(
            principal.tenant,
            JobFilter(parent_id=parent.id, states=(JobState.PENDING, JobState.RUNNING)),
        )
        page = await self.store.list_jobs(query, limit=MAX_PAGE)
        for child in page.jobs:
            await self.cancel_job(principal, child.id, f"its tune job was {reason}")

    async def count_jobs(
        self, principal: Principal, where: JobFilter | None = None
    ) -> dict[JobState, int]:
        """How many of the tenant's jobs match `where`, per state."""
        require(principal, Action.READ)
        query = listing.query_for(principal.tenant, where or JobFilter())
        return await self.store.count_jobs(query)

    async def cancel_jobs(
        self, principal: Principal, where: JobFilter, reason: str | None = None
    ) -> BulkResult:
        """Cancel every pending or running job matching `where`, a page per transaction."""
        require(principal, Action.WRITE)
        reason = reason or f"cancelled by {principal.name or 'a client'}"
        query = bulk.cancel_query(principal.tenant, where)
        matched, changed = 0, []
        if query is not None:
            async for page in bulk.pages(self.store, query):
                matched += len(page)
                ids = [job.id for job in page]
                now = self.clock.now()
                done = await self.store.cancel_jobs(
                    ids, now=now, tenant=principal.tenant, reason=reason
                )
                for job in done:
                    self.metrics.finished(job)
                self.publish(done)
                changed += [job.id for job in done]
                for job in done:
                    if job.kind is JobKind.TUNE:
                        await self._cancel_children(principal, job, reason)
        return bulk.result(matched, changed, [])

    async def job_frames(self, principal: Principal, job_id: str) -> JsonObject:
        """A completed job's full per-frame series (`vmafx.core.frames.document`), or
        NotFoundError saying why there is none here."""
        require(principal, Action.READ)
        job = await self.store.get_job(job_id, tenant=principal.tenant)
        kept = await self.store.get_frames(job_id, tenant=principal.tenant)
        if not kept:
            raise NotFoundError(
                frames.missing_reason(job.id, job.state.value, job.result),
                hint="Per-frame series are kept when a job's compressed series fit "
                f"{frames.SHIP_LIMIT // 1024 // 1024} MiB.",
            )
        inputs = [frames.unpack(kept[index]) for index in sorted(kept)]
        return frames.document(job.id, inputs, frames.pooled_names(job.result))

    async def retry_job(self, principal: Principal, job_id: str) -> Submitted:
        """A new job doing what failed (or cancelled) job `job_id` did, linked to it
        (`vmafx.core.retries`); asking again gives the same retry."""
        require(principal, Action.WRITE)
        job = await self.store.get_job(job_id, tenant=principal.tenant)
        return (await self.submit_jobs(principal, [bulk.retry_request(job)]))[0]

    async def retry_jobs(self, principal: Principal, where: JobFilter) -> BulkResult:
        """Retry every failed job matching `where` (and cancelled ones if it names that state)."""
        require(principal, Action.WRITE)
        query = bulk.retry_query(principal.tenant, where)
        matched, changed, skipped = 0, [], []
        if query is not None:
            async for page in bulk.pages(self.store, query):
                matched += len(page)
                done, missed = await bulk.retry_page(
                    page, lambda requests: self.submit_jobs(principal, requests)
                )
                changed += [item.job.id for item in done if not item.deduplicated]
                skipped += missed
        return bulk.result(matched, changed, skipped)

    async def watch_jobs(
        self,
        principal: Principal,
        where: JobFilter | None = None,
        *,
        snapshot_only: bool = False,
        with_snapshot: bool = True,
    ) -> AsyncIterator[Job]:
        """The matching jobs now (oldest first, at most `snapshot_limit`), then every change
        to a matching job until the caller stops iterating or the service closes."""
        require(principal, Action.READ)
        where = where or JobFilter()
        tenant = principal.tenant
        subscription = self.bus.subscribe(listing.live_matcher(tenant, where))
        try:
            if with_snapshot:
                for job in await listing.snapshot(
                    self.store, tenant, where, self.settings.snapshot_limit
                ):
                    yield job
            if snapshot_only:
                return
            async for job in subscription:
                yield job
        finally:
            subscription.close()

    async def job_events(
        self, principal: Principal, job_id: str, *, after: int = 0
    ) -> AsyncIterator[JobEvent]:
        """A job's events after `after` (a `seq`), live until the job ends: for SSE."""
        require(principal, Action.READ)
        tenant = principal.tenant
        subscription = self.bus.subscribe(lambda job: job.id == job_id and job.tenant == tenant)
        try:
            job = await self.store.get_job(job_id, tenant=tenant)
            while True:
                for event in await self.store.list_events(job_id, after=after, tenant=tenant):
                    after = event.seq
                    yield event
                if job.is_terminal or self.closing:
                    return
                batch = await subscription.next_batch(timeout=self.settings.repoll_s * 5)
                if subscription.closed and not batch:
                    return
                job = batch[-1] if batch else await self.store.get_job(job_id, tenant=tenant)
        finally:
            subscription.close()

    # --- node verbs --------------------------------------------------------------------------
    async def register_node(
        self, principal: Principal, name: str, capabilities: NodeCapabilities
    ) -> NodeRegistration:
        """Open a session for a node (node role); the token is returned once, kept hashed.

        OverloadedError, with a retry-after, while registrations come faster than admitted."""
        require(principal, Action.NODE)
        nodeops.check_node_name(name)
        self.admission.admit()
        await self.pacing.interval()  # a fresh count first, if due
        self.pacing.registered()
        interval = self.pacing.interval_s
        token = secrets.token_urlsafe(32)
        session = await self.store.register_node(
            tenant=principal.tenant,
            name=name,
            capabilities=capabilities,
            token_sha256=token_digest(token),
            now=self.clock.now(),
        )
        self.sessions.remember(session)
        self.mark_nodes_changed()
        log.info("node registered", extra={"node": name, "node_id": session.id})
        return NodeRegistration(
            node_id=session.id,
            session_token=token,
            heartbeat_interval_s=interval,
            lease_ttl_s=self.lease_ttl_s,
        )

    async def check_node(self, principal: Principal, node_id: str, token: str) -> None:
        """The caller has the node role and `token` opens session `node_id` of its tenant."""
        require(principal, Action.NODE)
        await self.sessions.verify(node_id, token, principal.tenant)

    async def heartbeat(
        self,
        principal: Principal,
        node_id: str,
        session_token: str,
        *,
        running: Sequence[RunningJob] = (),
        draining: bool = False,
        gpu_usage: Sequence[GpuUsage] = (),
    ) -> HeartbeatAnswer:
        """Renew the session and the leases of `running` (none named: every job it holds).

        The answer names jobs the node must stop (cancelled, or no longer its own), asks it to
        drain when an operator said so, and says `session_unknown` when it must re-register.
        """
        if len(running) > self.settings.max_running_ids:
            raise UsageError(
                f"a heartbeat may name at most {self.settings.max_running_ids} running jobs, "
                f"got {len(running)}."
            )
        try:
            await self.check_node(principal, node_id, session_token)
        except NotFoundError:
            return HeartbeatAnswer(ok=False, session_unknown=True)
        interval = await self.pacing.interval()  # before the renewal: it sets the TTL floor
        answer = await nodeops.heartbeat(self.desk, node_id, running, draining, gpu_usage)
        return dataclasses.replace(answer, heartbeat_interval_s=interval) if answer.ok else answer

    async def pull_work(
        self,
        principal: Principal,
        node_id: str,
        session_token: str,
        *,
        queues: Sequence[str] | None = None,
        wait_s: float = 0.0,
        capabilities: NodeCapabilities | None = None,
    ) -> Claim | None:
        """Claim the next job the node is fit for, waiting up to `wait_s` for one to appear.

        Waiting pullers wake when jobs are submitted or requeued, not by polling; besides, one
        puller per group of alike pullers re-reads the store every `repoll_s`
        (`vmafx.controller.work`). None when nothing fits in time, when the node is
        draining, or when the service shuts down.
        """
        loop = asyncio.get_running_loop()
        since = loop.time()  # the claim's time in the controller runs from here or a wake-up
        await self.check_node(principal, node_id, session_token)
        deadline = loop.time() + max(0.0, min(wait_s, self.settings.max_wait_s))
        woken: Wake | None = None  # None: no wait yet
        override = self.sessions.overridden(node_id)
        if override is not None:  # an operator's concurrency wins until the node applied it
            capabilities = dataclasses.replace(
                capabilities or override, concurrency=override.concurrency, slots=override.slots
            )
        request = ClaimRequest(node_id, tuple(queues) if queues else None, capabilities)
        group = self._puller_group(principal.tenant, node_id, request)
        while not self.closing and not self.sessions.drain_requested(node_id):
            seen = self.work.version
            job = None
            # A puller that just came finds nothing where one of its group found nothing a
            # moment ago and nothing changed since: it waits without a claim of its own.
            if woken is not None or not self.work.knows_empty(group, seen):
                job = await self.claims.claim(request)
            if job is not None:
                if woken is Wake.SCOUT:  # the re-read found work: there may be more for the group
                    self.work.scout(group)
                return await self._claimed(job, loop.time() - since)
            self.work.found_nothing(group, seen)
            if woken is Wake.NOTIFIED:
                self.work.pass_on()  # the new work was not for this node: wake the next one
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            woken = await self.work.wait(seen, remaining, request.queues, group)
            since = loop.time()
            if woken is Wake.TIMEOUT:  # its group's scouts re-read the store meanwhile
                break
        return None

    def _puller_group(self, tenant: str, node_id: str, request: ClaimRequest) -> Hashable:
        """Pullers whose claims would find the same jobs share one store re-read."""
        caps = request.capabilities or self.sessions.capabilities(node_id)
        if caps is None:
            return ("node", node_id)
        queues = tuple(sorted(request.queues)) if request.queues else None
        return (tenant, queues, capability_key(caps))

    async def _claimed(self, job: Job, seconds: float | None = None) -> Claim:
        self.metrics.claimed(job, seconds)
        self.publish([job])
        roots = self.inputs.roots_to_tell(job.tenant)
        signed: tuple[dict[str, str], dict[str, str]] = ({}, {})
        if self.inputs.storage.names_objects(job):  # fresh URLs for every attempt
            signed = await asyncio.to_thread(self.inputs.storage.sign_claim, job)
        return Claim(
            job=job,
            lease_ttl_s=self.lease_ttl_s,
            scoring_roots=roots,
            signed_inputs=signed[0],
            signed_outputs=signed[1],
        )

    async def report_result(
        self, principal: Principal, node_id: str, session_token: str, report: NodeReport
    ) -> ReportOutcome:
        """A node's partial or final report, fenced by attempt and session.

        Repeating the final report is a no-op; a report on a job cancelled meanwhile is
        accepted and discarded; a report from a superseded attempt raises StaleAttemptError.
        """
        await self.check_node(principal, node_id, session_token)
        return await nodeops.report(self.desk, principal.tenant, node_id, report)

    async def release_jobs(
        self,
        principal: Principal,
        node_id: str,
        session_token: str,
        jobs: Sequence[JobRef],
        *,
        reason: str = "",
        end_session: bool = False,
    ) -> list[str]:
        """Hand jobs back (pending again, not a lost lease); `end_session` closes the session
        and releases every job it still holds. Returns the ids that went back to pending."""
        await self.check_node(principal, node_id, session_token)
        return await nodeops.release(self.desk, node_id, jobs, reason, end_session)

    async def list_nodes(
        self, principal: Principal, *, include_offline: bool = False
    ) -> list[NodeView]:
        require(principal, Action.READ)
        return await nodeops.list_nodes(self.desk, principal.tenant, include_offline)

    async def drain_node(
        self, principal: Principal, node_id: str, *, release_jobs: bool = False
    ) -> DrainResult:
        """Stop giving a node work (admin); with `release_jobs` its jobs go back at once."""
        require(principal, Action.ADMIN)
        return await nodeops.drain(self.desk, principal.tenant, node_id, release_jobs)

    async def farm_stats(
        self, principal: Principal, *, hours: float = 24, bucket: str = "hour"
    ) -> FarmStats:
        """The tenant's statistics over the last `hours` (a reader may see them)."""
        require(principal, Action.READ)
        window = StatsWindow.last(self.clock.now(), hours=hours, bucket=bucket)
        return await self.store.farm_stats(window, tenant=principal.tenant)

    async def resume_node(self, principal: Principal, node_id: str) -> ResumeResult:
        """Take back a drain (admin): the node gets work again."""
        require(principal, Action.ADMIN)
        return await nodeops.resume(self.desk, principal.tenant, node_id)

    async def set_node_concurrency(
        self, principal: Principal, node_id: str, limits: Mapping[str, int]
    ) -> ConcurrencyResult:
        """Change a node's jobs at once per queue (admin); claims follow now, the node on its
        next heartbeat."""
        require(principal, Action.ADMIN)
        return await nodeops.set_concurrency(self.desk, principal.tenant, node_id, limits)

    # --- background ----------------------------------------------------------------------------
    async def expire_once(self) -> list[Job]:
        """Requeue or fail jobs whose lease ran out and drop expired sessions; returns the jobs."""
        return await nodeops.expire(self.desk)

    async def refresh_pending_reasons(self) -> list[Job]:
        """Recompute why pending jobs cannot run; returns the jobs whose reason changed."""
        changed = await self.explainer.refresh()
        self.publish(changed)
        return changed

    async def check_ready(self) -> None:
        """Raise UnavailableError unless the store answers with a current schema and every
        `ready_checks` passes (/readyz)."""
        if self.closing:
            raise UnavailableError("the controller is shutting down.")
        await self.store.ping()
        for check in self.ready_checks:
            check()

    async def close(self) -> None:
        """Stop: long-polls answer empty at once and live streams end."""
        self.closing = True
        self.work.notify()  # every waiter
        await self.work.close()
        self.bus.close_all()
