"""Node sessions as the service checks them: token verification (cached), drain marks.

A node sends its id and session token with every node call. The token is compared, in constant
time, with the SHA-256 the store keeps; the (tenant, digest, capabilities) of a verified session
is cached, since ids are random and never reused (liveness is still checked by the store on
every claim and heartbeat). Drain requests, nodes that announced they are stopping, an
operator's concurrency and the last GPU sample are kept in memory: they last until the node's
session ends or the controller restarts (with several replicas, a drain request is relayed to
the replicas running then, and so is a resume; one started later misses them; concurrency and
GPU samples are not relayed, but a node that applied new concurrency sends it with its pulls, so
claims follow it on any replica).
"""

from __future__ import annotations

import hmac
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime

from vmafx.core.gpuusage import GpuSample, GpuUsage
from vmafx.core.nodes import NodeCapabilities, NodeSession
from vmafx.core.tokens import token_digest
from vmafx.errors import ForbiddenError, NotFoundError
from vmafx.store.port import JobStore

#: Sessions whose token is cached: a farm's nodes and then some (a farm of 10,000 nodes on a
#: cache of 10,000 re-read sessions from the store at every node restart).
CACHE_SIZE = 100_000


class UnknownSessionError(NotFoundError):
    """The node's session is unknown or expired: the node must register again."""


def unknown_session(node_id: str) -> UnknownSessionError:
    return UnknownSessionError(
        f"node session {node_id} is unknown or expired.",
        hint="Register the node again (RegisterNode); its jobs return to the queue.",
    )


class NodeSessions:
    def __init__(self, store: JobStore) -> None:
        self._store = store
        #: node id -> (tenant, token digest, capabilities, name) of sessions verified here.
        self._known: OrderedDict[str, tuple[str, str, NodeCapabilities, str]] = OrderedDict()
        self._drain_requested: set[str] = set()
        self._stopping: set[str] = set()
        #: Told about drain requests made here (other controller replicas hear them).
        self.drain_relay: Callable[[str], None] | None = None
        #: Told about resumes made here (other replicas forget the drain too).
        self.resume_relay: Callable[[str], None] | None = None
        #: Capabilities with an operator's concurrency (claims use these instead).
        self._overrides: dict[str, NodeCapabilities] = {}
        #: Each node's last GPU sample, when it came, and the node's tenant and name.
        self._gpu: dict[str, GpuSample] = {}

    def remember(self, session: NodeSession) -> None:
        self._known[session.id] = (
            session.tenant, session.token_sha256, session.capabilities, session.name
        )  # fmt: skip
        self._known.move_to_end(session.id)
        while len(self._known) > CACHE_SIZE:
            self._known.popitem(last=False)

    async def verify(self, node_id: str, session_token: str, tenant: str) -> None:
        """Raise UnknownSessionError or ForbiddenError unless the token opens this session."""
        if not node_id:
            raise unknown_session("(empty id)")
        known = self._known.get(node_id)
        if known is None:
            try:
                session = await self._store.get_node(node_id)
            except NotFoundError:
                raise unknown_session(node_id) from None
            self.remember(session)
            known = self._known[node_id]
        owner, digest, _, _ = known
        if owner != tenant:
            raise unknown_session(node_id)
        if not hmac.compare_digest(digest, token_digest(session_token)):
            raise ForbiddenError(
                f"the session token does not match node {node_id}.",
                hint="Send the session_token RegisterNode returned, or register again.",
            )

    def capabilities(self, node_id: str) -> NodeCapabilities | None:
        """The capabilities a verified session registered with (None: not cached)."""
        known = self._known.get(node_id)
        return known[2] if known is not None else None

    def forget(self, node_ids: Iterable[str]) -> None:
        for node_id in node_ids:
            self._known.pop(node_id, None)
            self._drain_requested.discard(node_id)
            self._stopping.discard(node_id)
            self._overrides.pop(node_id, None)
            self._gpu.pop(node_id, None)

    def request_drain(self, node_id: str, *, relay: bool = True) -> None:
        """Mark a node drained (`relay=False`: another replica said so)."""
        self._drain_requested.add(node_id)
        if relay and self.drain_relay is not None:
            self.drain_relay(node_id)

    def resume(self, node_id: str, *, relay: bool = True) -> bool:
        """Take back an operator's drain; whether there was one here (`relay=False`: another
        replica said so)."""
        drained = node_id in self._drain_requested
        self._drain_requested.discard(node_id)
        if relay and self.resume_relay is not None:
            self.resume_relay(node_id)
        return drained

    def override(self, node_id: str, capabilities: NodeCapabilities) -> None:
        self._overrides[node_id] = capabilities

    def overridden(self, node_id: str) -> NodeCapabilities | None:
        """The node's capabilities with an operator's concurrency, or None when unchanged."""
        return self._overrides.get(node_id)

    def record_gpu_usage(self, node_id: str, usage: tuple[GpuUsage, ...], at: datetime) -> None:
        """Keep a verified session's sample (the heartbeat that brought it was verified, so
        the session is known here; one that is not has no tenant or name to label it by)."""
        known = self._known.get(node_id)
        if known is not None:
            self._gpu[node_id] = GpuSample(tenant=known[0], node=known[3], usage=usage, at=at)

    def gpu_samples(self) -> list[GpuSample]:
        """Every node's last GPU sample heard here, with its tenant and name (/metrics)."""
        return list(self._gpu.values())

    def gpu_usage(self, node_id: str) -> tuple[tuple[GpuUsage, ...], datetime | None]:
        sample = self._gpu.get(node_id)
        return ((), None) if sample is None else (sample.usage, sample.at)

    def drain_requested(self, node_id: str) -> bool:
        return node_id in self._drain_requested

    def set_stopping(self, node_id: str, stopping: bool) -> None:
        if stopping:
            self._stopping.add(node_id)
        else:
            self._stopping.discard(node_id)

    def draining(self) -> frozenset[str]:
        """Nodes that take no new work: asked to drain, or stopping on their own."""
        return frozenset(self._drain_requested | self._stopping)
