"""The controller's tuner: runs `tune` jobs by submitting their probes as child encode jobs.

It takes tune jobs the way a node takes work, through the service's own node verbs: one node
session per tenant named `controller-tuner`, subscribed by name to queue `tune` (the only
subscriber: nodes never take that queue, see `vmafx.scheduler.matching`). So a tune job has a
lease like any job: the tuner's heartbeat renews it, and when this controller dies the lease
runs out, the job goes back to pending and a replica's (or the restarted controller's) tuner
takes it again and goes on from the probe jobs already in the store.

Each round, for every tune job it holds, the tuner reads the job's children and asks the pure
`vmafx.tune.farm.TuneDriver` what to do: submit probe jobs (idempotency key
`tune:<parent>:<probe>`, so a repeat after a restart is the same job), cancel probes the
search no longer needs, or end the tune job with its result or error. A probe whose node dies
is requeued by the ordinary lease machinery; the tune job only waits for it. Cancelling a tune
job cancels its probes (`ControllerService.cancel_job`).

Probes kept across searches (`vmafx.tune.kept`): each completed probe whose node read the file
the submitter hashed is kept in the store (`JobStore.save_tune_probe`); before submitting a
probe, the tuner looks it up by (tenant, key), and a kept one stands in for the child job
(`cached: true` in the result). The step is then asked again, until it wants only probes
nobody measured. A chosen encode (or ladder rung) that was kept is encoded again for its file
(a `deliver:` child, not scored). The sweeper prunes kept probes by age, as finished jobs.

Learned priors: finished searches are remembered (`vmafx.tune.history`) in `tune-history.json`
beside a SQLite store, else in `tune/farm-history.json` in the controller's state folder (so
with PostgreSQL each replica keeps its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from vmafx.config import state_dir
from vmafx.controller.auth import Principal
from vmafx.controller.events import Subscription
from vmafx.controller.service import ControllerService
from vmafx.core.jobs import TUNE_QUEUE, Job, JobKind, JobState, Requirements
from vmafx.core.messages import JobRequest, NodeRegistration, NodeReport, NodeState, RunningJob
from vmafx.core.nodes import NodeCapabilities
from vmafx.core.specs import EncodeSpec, TuneSpec
from vmafx.core.tokens import Role
from vmafx.errors import NotFoundError, UnavailableError, VmafxError
from vmafx.store.port import JobQuery, TuneProbe
from vmafx.tune.farm import Child, ProbeJob, Step, TuneDriver, child_spec, choose_encoder
from vmafx.tune.history import History
from vmafx.tune.kept import cache_key, keepable, probe_for

log = logging.getLogger(__name__)
TUNER_NAME = "controller-tuner"
MAX_CHILDREN = 1000
#: Most times one round asks the step again after kept probes answered what it wanted.
MAX_LOOKUPS = 64


class _NoNodeYetError(Exception):
    """No node is live: the encoder is chosen once one registers."""


@dataclasses.dataclass
class _Held:
    job: Job
    driver: TuneDriver | None = None
    progress: float = 0.0
    #: Probes answered by earlier searches' kept measurements, by probe key.
    cached: dict[str, Child] = dataclasses.field(default_factory=dict)
    #: Probe jobs already offered to the store's kept probes.
    offered: set[str] = dataclasses.field(default_factory=set)


class Tuner:
    def __init__(
        self,
        service: ControllerService,
        *,
        history: History | None = None,
        interval_s: float = 1.0,
        lock: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self.service = service
        self.history = history
        self.interval_s = interval_s
        self._lock = lock
        self._sessions: dict[str, NodeRegistration] = {}
        self._held: dict[str, _Held] = {}
        #: Finished children never change: their views are kept.
        self._done: dict[str, Child] = {}
        self._beat = float("-inf")
        self._stop = asyncio.Event()

    # --- the loop ------------------------------------------------------------------------------
    async def run(self) -> None:
        """Rounds until stopped: woken by changes to held tune jobs and their probes (a bus
        subscription held only while it holds tune jobs), else every `interval_s`."""
        wake: Subscription | None = None
        try:
            while not self._stop.is_set() and not self.service.closing:
                try:
                    await self.run_once()
                except VmafxError as error:  # the store away: next round retries
                    log.error("tuner round failed, retried: %s", error)
                if self._held and wake is None:
                    wake = self.service.bus.subscribe(self._concerns)
                elif not self._held and wake is not None:
                    wake.close()
                    wake = None
                if wake is not None:
                    await wake.next_batch(timeout=self.interval_s)
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), self.interval_s)
        finally:
            if wake is not None:
                wake.close()

    def stop(self) -> None:
        self._stop.set()

    def stopping(self) -> bool:
        """Whether the loop may end now (told to stop, or the controller shuts down)."""
        return self._stop.is_set() or self.service.closing

    def _concerns(self, job: Job) -> bool:
        return job.kind is JobKind.TUNE or job.parent_id in self._held

    async def run_once(self) -> None:
        """One round: take pending tune jobs, renew leases, advance each held job."""
        if self._lock is not None and not await self._lock():
            return
        await self._claim()
        await self._heartbeat(force=False)
        for job_id in list(self._held):
            try:
                await self._advance(self._held[job_id])
            except VmafxError as error:
                log.warning("tune job %s not advanced: %s", job_id, error)

    # --- sessions and claims -------------------------------------------------------------------
    def _principal(self, tenant: str, role: Role) -> Principal:
        return Principal.of(tenant, role, name=TUNER_NAME)

    async def _session(self, tenant: str) -> NodeRegistration:
        found = self._sessions.get(tenant)
        if found is None:
            caps = NodeCapabilities(
                host=TUNER_NAME, queues=(TUNE_QUEUE,), slots=10_000, concurrency={}
            )
            found = await self.service.register_node(
                self._principal(tenant, Role.NODE), TUNER_NAME, caps
            )
            self._sessions[tenant] = found
        return found

    async def _claim(self) -> None:
        query = JobQuery(kinds=(JobKind.TUNE,), states=(JobState.PENDING,))
        page = await self.service.store.list_jobs(query, limit=100)
        for tenant in sorted({job.tenant for job in page.jobs}):
            session = await self._session(tenant)
            principal = self._principal(tenant, Role.NODE)
            while True:
                try:
                    claim = await self.service.pull_work(
                        principal, session.node_id, session.session_token, queues=[TUNE_QUEUE]
                    )
                except NotFoundError:  # the session expired: a new one next round
                    self._sessions.pop(tenant, None)
                    break
                if claim is None:
                    break
                self._held[claim.job.id] = _Held(claim.job)
                log.info("tune job taken", extra={"job_id": claim.job.id})

    async def _heartbeat(self, *, force: bool) -> None:
        now = self.service.clock.now().timestamp()
        if not force and now - self._beat < self.service.settings.heartbeat_interval_s / 2:
            return
        self._beat = now
        for tenant, session in list(self._sessions.items()):
            held = [h for h in self._held.values() if h.job.tenant == tenant]
            running = [
                RunningJob(job_id=h.job.id, attempt=h.job.attempt, progress=h.progress)
                for h in held
            ]
            answer = await self.service.heartbeat(
                self._principal(tenant, Role.NODE),
                session.node_id,
                session.session_token,
                # Too many to name: naming none renews every lease the session holds.
                running=running if len(running) <= self.service.settings.max_running_ids else [],
            )
            if answer.session_unknown:
                self._sessions.pop(tenant, None)
                for h in held:  # their leases went with the session: taken again later
                    self._held.pop(h.job.id, None)
            for job_id in answer.cancel_job_ids:
                self._held.pop(job_id, None)

    # --- one tune job --------------------------------------------------------------------------
    async def _advance(self, held: _Held) -> None:
        job = await self.service.store.get_job(held.job.id)
        if job.is_terminal or job.attempt != held.job.attempt:
            self._held.pop(job.id, None)
            return
        children = await self._children(job)
        if held.driver is None:
            try:
                held.driver = await self._driver(job, children)
            except _NoNodeYetError:
                return  # like any job nobody can run yet: it waits for a node
            except VmafxError as error:
                await self._end(held, Step(error=error.message))
                return
        await self._keep(job, held.driver, held, children)
        step = await self._step(job, held.driver, held, children)
        held.progress = step.progress
        for job_id in step.cancel:
            with contextlib.suppress(VmafxError):
                await self.service.cancel_job(
                    self._principal(job.tenant, Role.WRITER), job_id, "not needed by the search"
                )
        if step.result is not None or step.error is not None:
            await self._end(held, step)
            return
        if step.submit:
            try:
                await self._submit(job, held.driver, step)
            except UnavailableError:
                raise  # the store away: the next round tries again
            except VmafxError as error:  # refused as asked (input policy, spec): never better
                await self._end(held, Step(error=f"a probe job was refused: {error.message}"))

    async def _step(
        self, job: Job, driver: TuneDriver, held: _Held, children: dict[str, Child]
    ) -> Step:
        """The driver's step with kept probes standing in for the children it would submit:
        asked again while kept ones answer some of what it wants."""
        step = Step()
        for _ in range(MAX_LOOKUPS):
            # a ladder's placement can take ~0.5 s of pure Python: off the event loop, so
            # claims and long-polls keep their latency (the loop gets the GIL back every
            # switch interval)
            step = await asyncio.to_thread(driver.step, {**held.cached, **children})
            if not step.submit or step.result is not None or step.error is not None:
                return step
            if not await self._lookup(job, driver, held, step.submit):
                return step
        fresh = tuple(p for p in step.submit if p.key not in held.cached)
        return dataclasses.replace(step, submit=fresh)

    async def _lookup(
        self, job: Job, driver: TuneDriver, held: _Held, wanted: tuple[ProbeJob, ...]
    ) -> bool:
        """Answer what it can of `wanted` from kept probes; whether any was."""
        keys = {key: p for p in wanted if (key := cache_key(driver, p)) is not None}
        if not keys:
            return False
        found = await self.service.store.find_tune_probes(job.tenant, list(keys))
        for key, kept in found.items():
            probe = keys[key]
            held.cached[probe.key] = Child(
                probe.key, kept.job_id, "completed", kept.result, None, kept.where, kept.gpu,
                1, kept.node, cached=True,
            )  # fmt: skip
        if found:
            answered = sorted(keys[k].key for k in found)
            log.info("tune probes answered by kept ones",
                     extra={"job_id": job.id, "probes": answered})  # fmt: skip
        return bool(found)

    async def _keep(
        self, job: Job, driver: TuneDriver, held: _Held, children: dict[str, Child]
    ) -> None:
        """Keep each newly finished probe whose node read the file the submitter hashed."""
        for child in children.values():
            if not child.finished or child.job_id in held.offered:
                continue
            held.offered.add(child.job_id)
            probe = probe_for(driver, child.key)
            key = cache_key(driver, probe) if probe is not None else None
            if key is None or child.result is None or not keepable(driver, child):
                continue
            kept = TuneProbe(
                key=key, job_id=child.job_id, result=dict(child.result), node=child.node,
                where=child.where, gpu=child.gpu, created_at=self.service.clock.now(),
            )  # fmt: skip
            try:
                await self.service.store.save_tune_probe(job.tenant, kept)
            except VmafxError as error:  # the search goes on; a later one measures it again
                log.warning("tune probe %s not kept: %s", child.job_id, error)

    async def _driver(self, job: Job, children: dict[str, Child]) -> TuneDriver:
        spec = TuneSpec.from_json(job.spec)
        encoder = await self._encoder_in_use(job)
        if encoder is None:
            views = await self.service.list_nodes(self._principal(job.tenant, Role.READER))
            live = {
                v.session.name: v.session.capabilities.encoders
                for v in views
                if v.state is NodeState.LIVE and v.session.name != TUNER_NAME
            }
            if not live:
                raise _NoNodeYetError
            encoder = choose_encoder(spec, live)
        records = self.history.records() if self.history is not None else []
        return TuneDriver(job.id, spec, encoder, records)

    async def _encoder_in_use(self, job: Job) -> str | None:
        """The encoder of probes already submitted (a restarted tuner keeps it)."""
        query = JobQuery(tenant=job.tenant, parent_id=job.id)
        page = await self.service.store.list_jobs(query, limit=1)
        for child in page.jobs:
            encoder = child.spec.get("encoder")
            if isinstance(encoder, str):
                return encoder
        return None

    async def _children(self, job: Job) -> dict[str, Child]:
        query = JobQuery(tenant=job.tenant, parent_id=job.id)
        page = await self.service.store.list_jobs(query, limit=MAX_CHILDREN)
        out: dict[str, Child] = {}
        prefix = f"tune:{job.id}:"
        for child in page.jobs:
            key = (child.idempotency_key or "").removeprefix(prefix)
            if not key or key == child.idempotency_key:
                continue
            out[key] = await self._view(key, child)
        return out

    async def _view(self, key: str, job: Job) -> Child:
        known = self._done.get(job.id)
        if known is not None:
            return known
        where = gpu = node = None
        attempts = job.attempt
        if job.is_terminal:
            tried = await self.service.store.list_attempts(job.id, tenant=job.tenant)
            if tried:
                last = tried[-1]
                where, node = last.where, last.node_name
                gpu = last.gpu.name if last.gpu else None
                attempts = len(tried)
        view = Child(
            key, job.id, job.state.value, job.result, job.error, where, gpu, attempts, node
        )
        if job.is_terminal:
            self._done[job.id] = view
        return view

    async def _submit(self, job: Job, driver: TuneDriver, step: Step) -> None:
        requests = [
            JobRequest(
                spec=EncodeSpec.from_json(child_spec(driver, probe)),
                priority=job.priority,
                requirements=Requirements(encoder=driver.encoder),
                parent_id=job.id,
                idempotency_key=f"tune:{job.id}:{probe.key}",
            )
            for probe in step.submit
        ]
        await self.service.submit_jobs(self._principal(job.tenant, Role.WRITER), requests)
        log.info(
            "tune probes submitted",
            extra={"job_id": job.id, "probes": [p.key for p in step.submit]},
        )

    async def _end(self, held: _Held, step: Step) -> None:
        job = held.job
        session = await self._session(job.tenant)
        report = NodeReport(
            job_id=job.id,
            attempt=job.attempt,
            final=True,
            error=step.error,
            result=step.result,
            score=(step.result or {}).get("vmaf"),
        )
        await self.service.report_result(
            self._principal(job.tenant, Role.NODE), session.node_id, session.session_token, report
        )
        self._held.pop(job.id, None)
        if step.record is not None and self.history is not None:
            await asyncio.to_thread(self.history.add, step.record)


def history_at(store_url: str) -> History:
    """Beside a SQLite store (`tune-history.json`); else in the state folder."""
    if store_url.startswith("sqlite:///"):
        return History(Path(store_url.removeprefix("sqlite:///")).parent / "tune-history.json")
    return History(state_dir() / "tune" / "farm-history.json")
