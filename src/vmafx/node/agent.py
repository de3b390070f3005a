"""`NodeAgent`: the node's work loop, talking to the controller only through `ControllerClient`.

    register (backoff while the controller is away) ─┬─ heartbeat every interval
                                                     └─ one pull loop per slot → handler → report

`request_stop()` (SIGTERM) drains: the pull loops stop, running jobs get `drain_timeout_s` to
finish, what is left is cancelled (ffmpeg terminated) and released (pending again, not a lost
lease), and the session ends. A second request stops waiting at once. In burst mode `run()`
returns when the queue has nothing more for the node. The agent never touches the store.

Every background task (the heartbeat, each pull loop) is watched by a `Supervisor`: one that
dies of an unexpected exception stops the node at once (running jobs are handed back, the
session ends) and `run()` raises `TaskDiedError`, so the process exits non-zero and its
supervisor restarts it; a node never goes on claiming jobs without a heartbeat.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping

from vmafx.client.port import ControllerClient
from vmafx.core.jobs import JobKind
from vmafx.core.nodes import NodeCapabilities
from vmafx.errors import VmafxError
from vmafx.media.runner import KILL_GRACE_S
from vmafx.node.backoff import Backoff
from vmafx.node.execution import ExecutionSettings, JobExecutor
from vmafx.node.gpuload import GpuLoadSampler
from vmafx.node.handlers.base import Handler
from vmafx.node.heartbeat import Heartbeat
from vmafx.node.metrics import NodeMetrics
from vmafx.node.placement import GpuPool
from vmafx.node.running import SHUTTING_DOWN, RunningJobs
from vmafx.node.session import SessionKeeper
from vmafx.node.settings import MAX_SLOTS
from vmafx.node.slots import PullLoop
from vmafx.node.waits import StopRequestedError, unless_stopped
from vmafx.supervision import Supervisor

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AgentSettings:
    name: str
    queues: tuple[str, ...] = ()
    slots: int = 1
    poll_wait_s: float = 20.0
    drain_timeout_s: float = 30.0
    burst: bool = False
    progress_interval_s: float = 1.0
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    #: After cancelling what is left at the end of a drain: how long ffmpeg may take to stop.
    stop_grace_s: float = KILL_GRACE_S + 2.0
    #: Bound of the last call (release what is left, end the session).
    goodbye_timeout_s: float = 10.0


class NodeAgent:
    def __init__(
        self,
        client: ControllerClient,
        capabilities: NodeCapabilities,
        handlers: Mapping[JobKind, Handler],
        settings: AgentSettings,
        *,
        gpus: GpuPool | None = None,
        metrics: NodeMetrics | None = None,
        supervisor: Supervisor | None = None,
        sampler: GpuLoadSampler | None = None,
    ) -> None:
        self.client = client
        self.supervisor = supervisor or Supervisor("node")
        self.settings = settings
        self.metrics = metrics
        self.running = RunningJobs()
        self.keeper = SessionKeeper(
            client,
            settings.name,
            capabilities,
            backoff=self._backoff(),
            on_registered=lambda _: metrics.registrations.inc() if metrics else None,
        )
        self._stopping = asyncio.Event()
        self._hurry = asyncio.Event()
        self.heartbeat = Heartbeat(
            client, self.keeper, self.running,
            draining=self._stopping.is_set, backoff=self._backoff(),
            sampler=sampler.sample_async if sampler is not None else None,
            on_concurrency=self.apply_concurrency,
        )  # fmt: skip
        #: Jobs at once now (changed live by `apply_concurrency`), and the pull loops' tasks.
        self.slots = settings.slots
        self._slot_tasks: list[asyncio.Task[None]] = []
        execution = ExecutionSettings(
            settings.name, settings.progress_interval_s, abandon_after_s=settings.stop_grace_s
        )
        self.executor = JobExecutor(
            client, handlers, self.running, execution,
            gpus=gpus or GpuPool(capabilities.gpus), metrics=metrics,
            stopping=self._stopping.is_set,
        )  # fmt: skip
        self.pulls = PullLoop(
            client, self.keeper, self.executor,
            queues=settings.queues, wait_s=settings.poll_wait_s, burst=settings.burst,
            backoff_base_s=settings.backoff_base_s, backoff_cap_s=settings.backoff_cap_s,
        )  # fmt: skip

    def apply_concurrency(self, limits: Mapping[str, int]) -> None:
        """An operator's per-queue limits: from now on, run that many jobs at once per queue.

        The slots become the limits' sum (a subscribed queue without a limit counts 1, as at
        start-up); loops are added, or the extra ones retire once their job ends.
        """
        caps = self.keeper.capabilities
        concurrency = {**caps.concurrency, **limits}
        if concurrency == dict(caps.concurrency) and self.pulls.capabilities is not None:
            return
        queues = self.settings.queues
        wanted = sum(concurrency.get(q, 1) for q in queues) if queues else sum(concurrency.values())
        slots = max(1, min(MAX_SLOTS, wanted))
        changed = dataclasses.replace(caps, concurrency=concurrency, slots=slots)
        self.keeper.capabilities = changed
        self.pulls.capabilities = changed
        log.warning(
            "concurrency changed by an operator: %s (%d slots, were %d)",
            ", ".join(f"{q}={n}" for q, n in sorted(concurrency.items())),
            slots,
            self.slots,
        )
        self.slots = slots
        self.pulls.resize(slots)
        if self.metrics is not None:
            self.metrics.slots.set(slots)
        if self._slot_tasks and not self.settings.burst and not self._stopping.is_set():
            for index in range(len(self._slot_tasks), slots):
                self._slot_tasks.append(self._start_slot(index))

    def _start_slot(self, index: int) -> asyncio.Task[None]:
        return self.supervisor.watch(
            asyncio.create_task(self.pulls.run(index, self._stopping), name=f"vmafx-slot-{index}"),
            f"pull loop {index}",
            finishing=lambda: self.settings.burst or self._stopping.is_set(),
        )

    def _backoff(self) -> Backoff:
        return Backoff(self.settings.backoff_base_s, self.settings.backoff_cap_s)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def request_stop(self) -> None:
        """Drain and stop (SIGTERM); a second request stops waiting for running jobs."""
        if self._stopping.is_set():
            log.warning("second stop request: not waiting for running jobs any more")
            self._hurry.set()
        else:
            log.info("stopping: no new work; waiting for %d running jobs", len(self.running))
            self._stopping.set()

    def readiness(self) -> tuple[bool, str]:
        """Whether the node takes work now, and why not (for `/readyz`)."""
        if self._stopping.is_set():
            return False, "draining: shutting down"
        if self.keeper.current is None:
            return False, "not registered with the controller"
        if self.heartbeat.controller_away:
            return False, "the controller does not answer heartbeats"
        if self.heartbeat.drain_requested:
            return False, "drained by an operator"
        return True, "ready"

    async def run(self) -> None:
        """Register, then work until a stop request (or, in burst mode, an empty queue).

        Raises the failure of a background task that died (`TaskDiedError`, or the VmafxError
        that stopped it, such as a refused token), after handing running jobs back.
        """
        try:
            await unless_stopped(self.keeper.session(), self._stopping)
        except StopRequestedError:
            return
        if self.metrics is not None:
            self.metrics.slots.set(self.slots)
        loop = asyncio.get_running_loop()
        self.supervisor.on_death(lambda _: loop.call_soon_threadsafe(self._stop_at_once))
        beat_stop = asyncio.Event()
        beating = self.supervisor.watch(
            asyncio.create_task(self.heartbeat.run(beat_stop), name="vmafx-heartbeat"),
            "heartbeat",
            finishing=beat_stop.is_set,
        )
        self._slot_tasks = []
        self._slot_tasks.extend(self._start_slot(index) for index in range(self.slots))
        try:
            await self._work(self._slot_tasks)
            await self._drain(list(self._slot_tasks))
        finally:
            beat_stop.set()
            await asyncio.wait({beating}, timeout=self.settings.goodbye_timeout_s)
            beating.cancel()
            await self._goodbye()
            if self.metrics is not None:
                self.metrics.slots.set(0)
        self.supervisor.raise_failure()

    def _stop_at_once(self) -> None:
        """A background task died: no new work, and running jobs are handed back now."""
        if not self._stopping.is_set():
            log.error("stopping now: handing %d running jobs back", len(self.running))
        self._stopping.set()
        self._hurry.set()

    async def _work(self, slots: list[asyncio.Task[None]]) -> None:
        """Until a stop request; in burst mode also until every slot found the queue empty."""
        stopped = asyncio.ensure_future(self._stopping.wait())
        try:
            watched = {stopped, *slots}
            while not stopped.done() and not all(task.done() for task in slots):
                done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
                watched -= done
        finally:
            stopped.cancel()
        self._stopping.set()

    async def _drain(self, slots: list[asyncio.Task[None]]) -> None:
        """Let running jobs finish within the drain timeout; then stop and hand back the rest."""
        busy = [task for task in slots if not task.done()]
        if not busy:
            return
        if not self._hurry.is_set():
            log.info(
                "draining: %d running jobs get up to %g s to finish",
                len(self.running),
                self.settings.drain_timeout_s,
            )
        everything = asyncio.ensure_future(asyncio.wait(busy))
        hurry = asyncio.ensure_future(self._hurry.wait())
        await asyncio.wait(
            {everything, hurry},
            timeout=self.settings.drain_timeout_s,
            return_when=asyncio.FIRST_COMPLETED,
        )
        everything.cancel()
        hurry.cancel()
        left = [task for task in busy if not task.done()]
        if not left:
            return
        stopped = self.running.cancel_all(SHUTTING_DOWN)
        if stopped or not self._hurry.is_set():
            log.warning("drain time is up: stopping %d jobs and handing them back", stopped)
        await asyncio.wait(left, timeout=self.settings.stop_grace_s)
        for task in left:
            task.cancel()  # a handler that ignores its cancel token; the goodbye releases its job
        await asyncio.gather(*left, return_exceptions=True)

    async def _goodbye(self) -> None:
        """Release whatever the session still holds and end it."""
        session = self.keeper.current
        if session is None:
            return
        refs = [
            task.ref for task in self.running.tasks() if task.session.node_id == session.node_id
        ]
        reason = f"{SHUTTING_DOWN} ({self.settings.name})"
        try:
            released = await asyncio.wait_for(
                self.client.release_jobs(session, refs, reason=reason, end_session=True),
                self.settings.goodbye_timeout_s,
            )
        except (VmafxError, TimeoutError) as error:
            log.warning("could not end the session cleanly: %s", error)
            return
        if released:
            log.info("handed back %d jobs: %s", len(released), ", ".join(released))
