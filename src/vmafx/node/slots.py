"""One pull loop per slot: wait for a session, long-poll PullWork, run what comes, repeat.

In burst mode a loop asks once without waiting and returns when nothing is left for it (so a
test, or a batch run, ends when the queue is drained, as arq's burst workers do). A stop request
interrupts a waiting pull; a claim that arrives at that very moment is handed back at once.
"""

from __future__ import annotations

import asyncio
import logging
import time

from vmafx.client.port import ControllerClient
from vmafx.core.messages import Claim, JobRef, NodeRegistration
from vmafx.core.nodes import NodeCapabilities
from vmafx.errors import AuthError, NotFoundError, UnavailableError, VmafxError
from vmafx.node.backoff import Backoff
from vmafx.node.execution import JobExecutor
from vmafx.node.running import SHUTTING_DOWN
from vmafx.node.session import SessionKeeper
from vmafx.node.waits import StopRequestedError, pause, unless_stopped

log = logging.getLogger(__name__)

#: An empty answer faster than this (a draining node, a controller that does not long-poll)
#: is followed by a short pause, so an idle node never spins.
MIN_EMPTY_PULL_S = 0.5


class PullLoop:
    def __init__(
        self,
        client: ControllerClient,
        keeper: SessionKeeper,
        executor: JobExecutor,
        *,
        queues: tuple[str, ...] = (),
        wait_s: float = 5.0,
        burst: bool = False,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
    ) -> None:
        self.client = client
        self.keeper = keeper
        self.executor = executor
        self.queues = queues
        self.wait_s = 0.0 if burst else wait_s
        self.burst = burst
        self._backoff = (backoff_base_s, backoff_cap_s)
        #: Loops at or above this slot number wait (None: every loop pulls); see `resize`.
        self.active: int | None = None
        self._resized = asyncio.Event()
        #: Sent with each pull once an operator changed the node's concurrency, so that claims
        #: follow it even after a controller restart forgot the change.
        self.capabilities: NodeCapabilities | None = None

    def resize(self, slots: int) -> None:
        """Let loops 0..slots-1 pull; the others finish their job and wait to be needed."""
        self.active = slots
        resized, self._resized = self._resized, asyncio.Event()
        resized.set()

    async def run(self, slot: int, stop: asyncio.Event) -> None:
        """Pull and run jobs until `stop` is set (or, in burst mode, until none is left)."""
        backoff = Backoff(*self._backoff)
        while not stop.is_set():
            if self.active is not None and slot >= self.active:
                try:  # retired by a lower concurrency: wait until it is raised again
                    await unless_stopped(self._resized.wait(), stop)
                except StopRequestedError:
                    return
                continue
            try:  # a refused registration (AuthError) is fatal: it propagates
                session = await unless_stopped(self.keeper.session(), stop)
            except StopRequestedError:
                return
            started = time.monotonic()
            try:
                claim = await unless_stopped(self._pull(session), stop)
            except StopRequestedError:
                return
            except UnavailableError as error:
                delay = backoff.next_delay()
                log.warning("slot %d: pull failed, again in %.1f s: %s", slot, delay, error.message)
                await pause(stop, delay)
                continue
            except (NotFoundError, AuthError) as error:
                log.warning("slot %d: pull refused: %s", slot, error.message)
                self.keeper.forget(session)
                continue
            except VmafxError as error:
                log.error("slot %d: pull refused: %s", slot, error)
                await pause(stop, backoff.next_delay())
                continue
            backoff.reset()
            if claim is None:
                if self.burst:
                    return
                if time.monotonic() - started < MIN_EMPTY_PULL_S:
                    await pause(stop, MIN_EMPTY_PULL_S)
                continue
            if stop.is_set():
                await self.hand_back(claim, session)
                return
            await self.executor.execute(claim, session)

    async def _pull(self, session: NodeRegistration) -> Claim | None:
        return await self.client.pull_work(
            session, queues=self.queues or None, wait_s=self.wait_s, capabilities=self.capabilities
        )

    async def hand_back(self, claim: Claim, session: NodeRegistration) -> None:
        """Release a job claimed just as the node began to stop (it never started here)."""
        ref = JobRef(claim.job.id, claim.job.attempt)
        try:
            await self.client.release_jobs(session, [ref], reason=SHUTTING_DOWN)
        except VmafxError as error:
            log.warning("could not hand back %s: %s", claim.job.id, error)
