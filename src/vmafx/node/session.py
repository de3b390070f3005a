"""The node's session with the controller: register (again) when needed, back off when away.

Registration is retried with jittered exponential backoff for as long as the controller is
unreachable (`UnavailableError`); a controller that refuses for now (`OverloadedError`: a
registration storm) is called again after the retry-after it gave, stretched by a random 0-25 %
so that the refused nodes do not come back in lock step; a refused token, a refused registration
or a failed TLS handshake (`TlsError`: an untrusted certificate, TLS on one side only) is not
retried (it raises, and the node exits saying why). `forget(session)` drops a session the
controller no longer knows, so the next `session()` registers again. Concurrent callers share
one registration.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from vmafx.client.port import ControllerClient
from vmafx.client.tls import TlsError
from vmafx.core.messages import NodeRegistration
from vmafx.core.nodes import NodeCapabilities
from vmafx.errors import OverloadedError, UnavailableError
from vmafx.node.backoff import Backoff

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class SessionKeeper:
    def __init__(
        self,
        client: ControllerClient,
        name: str,
        capabilities: NodeCapabilities,
        *,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
        on_registered: Callable[[NodeRegistration], None] | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.client = client
        self.name = name
        self.capabilities = capabilities
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self._on_registered = on_registered
        self._jitter = jitter
        self._current: NodeRegistration | None = None
        self._lock = asyncio.Lock()
        self.registrations = 0

    @property
    def current(self) -> NodeRegistration | None:
        return self._current

    async def session(self) -> NodeRegistration:
        """The live session, registering first when there is none."""
        current = self._current
        if current is not None:
            return current
        async with self._lock:
            if self._current is None:
                self._current = await self._register()
            return self._current

    async def _register(self) -> NodeRegistration:
        while True:
            try:
                registration = await self.client.register_node(self.name, self.capabilities)
            except TlsError:
                raise  # a configuration to fix, not an outage to wait out
            except OverloadedError as error:
                delay = error.retry_after_s * (1 + 0.25 * self._jitter())
                log.info("the controller is busy registering nodes; again in %.1f s", delay)
                await self._sleep(delay)
                continue
            except UnavailableError as error:
                delay = self.backoff.next_delay()
                log.warning(
                    "controller unreachable, registering again in %.1f s: %s", delay, error.message
                )
                await self._sleep(delay)
                continue
            self.backoff.reset()
            self.registrations += 1
            if self._on_registered is not None:
                self._on_registered(registration)
            log.info(
                "registered as %s (node id %s)",
                self.name,
                registration.node_id,
                extra={"node": self.name, "node_id": registration.node_id},
            )
            return registration

    def forget(self, session: NodeRegistration) -> None:
        """The controller does not know `session` (any more): register again on next use."""
        if self._current is not None and self._current.node_id == session.node_id:
            log.warning("the controller forgot session %s; registering again", session.node_id)
            self._current = None
