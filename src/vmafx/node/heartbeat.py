"""The heartbeat: every interval the controller gave (at registration, then in each answer: it
grows with the farm, `vmafx.scheduler.cadence`), name the running jobs
(with progress) and act on the answer. Progress has this one channel: between beats, each
running job is named in a heartbeat of its own every second (`JobExecutor`), with its progress
(phase, frames, fps, ETA, encoder); its answer is how a cancel reaches the job within a second
whatever the interval here.

- `session_unknown`: the controller forgot the session → register again at once; the jobs
  claimed under it lost their leases (they run again elsewhere), so they are stopped.
- `cancel_job_ids`: stop those jobs (their ffmpeg is terminated).
- `drain`: an operator asked the node to drain → the controller gives it no more work; the
  node says so on `/readyz`.
- `concurrency`: an operator changed the node's jobs at once per queue → `on_concurrency`
  (the agent adds or retires pull loops).
- Each beat carries the GPUs' load when the node has a `sampler` (NVIDIA GPUs).
- controller away (`UnavailableError`): beat again after a jittered backoff, no longer than
  the interval.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from vmafx.client.port import ControllerClient
from vmafx.core.gpuusage import GpuUsage
from vmafx.core.messages import HeartbeatAnswer, NodeRegistration
from vmafx.errors import AuthError, NotFoundError, UnavailableError, VmafxError
from vmafx.node.backoff import Backoff
from vmafx.node.running import CANCELLED_BY_CONTROLLER, LEASE_LOST, RunningJobs
from vmafx.node.session import SessionKeeper
from vmafx.node.waits import StopRequestedError, pause, unless_stopped

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(
        self,
        client: ControllerClient,
        keeper: SessionKeeper,
        running: RunningJobs,
        *,
        draining: Callable[[], bool] = lambda: False,
        backoff: Backoff | None = None,
        sampler: Callable[[], Awaitable[Sequence[GpuUsage]]] | None = None,
        on_concurrency: Callable[[Mapping[str, int]], None] | None = None,
    ) -> None:
        self.client = client
        self.keeper = keeper
        self.running = running
        self.draining = draining
        self.backoff = backoff or Backoff()
        self.sampler = sampler
        self.on_concurrency = on_concurrency
        self.beats = 0
        #: The interval of the last answer (None: the registration's).
        self.interval_s: float | None = None
        self.drain_requested = False
        self.controller_away = False

    async def run(self, stop: asyncio.Event) -> None:
        """Beat until `stop` is set."""
        while not stop.is_set():
            try:
                session = await unless_stopped(self.keeper.session(), stop)
            except StopRequestedError:
                return
            interval = self.interval_s or session.heartbeat_interval_s
            try:
                answer = await self.beat(session)
            except UnavailableError as error:
                self.controller_away = True
                delay = min(interval, self.backoff.next_delay())
                log.warning("heartbeat failed, next in %.1f s: %s", delay, error.message)
                await pause(stop, delay)
                continue
            except (NotFoundError, AuthError) as error:
                log.warning("heartbeat refused: %s", error.message)
                if isinstance(error, NotFoundError):
                    self._session_lost(session)
                self.keeper.forget(session)
                continue
            except VmafxError as error:
                log.error("heartbeat refused: %s", error)
                await pause(stop, interval)
                continue
            if not answer.session_unknown:
                await pause(stop, answer.heartbeat_interval_s or interval)

    def _session_lost(self, session: NodeRegistration) -> None:
        stopped = self.running.cancel_session(session, LEASE_LOST)
        if stopped:
            log.warning("the controller forgot this node's session: stopping its %d jobs", stopped)

    async def beat(self, session: NodeRegistration) -> HeartbeatAnswer:
        """One heartbeat for `session`, and what its answer asks for."""
        usage = await self.sampler() if self.sampler is not None else ()
        answer = await self.client.heartbeat(
            session,
            running=self.running.snapshot(session),
            draining=self.draining(),
            gpu_usage=usage,
        )
        self.backoff.reset()
        self.controller_away = False
        self.beats += 1
        if answer.session_unknown or not answer.ok:
            self.interval_s = None  # the next session's registration says
            self._session_lost(session)
            self.keeper.forget(session)
            return answer
        for job_id in answer.cancel_job_ids:
            if self.running.cancel(job_id, CANCELLED_BY_CONTROLLER):
                log.info("job cancelled by the controller", extra={"job_id": job_id})
        if answer.drain and not self.drain_requested:
            log.warning("the controller asks this node to drain: it gets no new work")
        self.drain_requested = answer.drain
        if answer.heartbeat_interval_s:
            self.interval_s = answer.heartbeat_interval_s
        if answer.concurrency is not None and self.on_concurrency is not None:
            self.on_concurrency(answer.concurrency)
        return answer
