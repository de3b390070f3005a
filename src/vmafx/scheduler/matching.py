"""Matching jobs to nodes: hard requirements against advertised capabilities, queue slots.

Every check returns human reasons rather than a bare boolean, so a job that no node can run
stays pending and says why (`explain_unschedulable`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from vmafx.core.jobs import TUNE_QUEUE, Job, Requirements
from vmafx.core.nodes import NodeCapabilities, NodeSession, QueueSelection

#: How many nodes an explanation names before it summarises the rest.
MAX_NODES_EXPLAINED = 4


def unmet_requirements(requirements: Requirements, caps: NodeCapabilities) -> list[str]:
    """Why a node with `caps` cannot meet `requirements` (empty when it can)."""
    reasons: list[str] = []
    if requirements.backend is not None and requirements.backend not in caps.backends:
        offered = ", ".join(caps.backends) or "none"
        reasons.append(f"needs backend {requirements.backend} (node offers {offered})")
    reasons.extend(_gpu_reasons(requirements, caps))
    if requirements.encoder is not None and requirements.encoder not in caps.encoders:
        reasons.append(f"needs encoder {requirements.encoder} (not verified on this node)")
    for key, wanted in sorted(requirements.labels.items()):
        actual = caps.labels.get(key)
        if actual != wanted:
            have = f"node has {key}={actual}" if actual is not None else f"node has no {key}"
            reasons.append(f"needs label {key}={wanted} ({have})")
    return reasons


def _gpu_reasons(requirements: Requirements, caps: NodeCapabilities) -> list[str]:
    vendor, memory = requirements.gpu_vendor, requirements.min_gpu_memory_mb
    if vendor is not None and vendor not in caps.vendors:
        return [f"needs a {vendor} GPU (node has {', '.join(sorted(caps.vendors))})"]
    if memory is None:
        return []
    fitting = [gpu for gpu in caps.gpus if gpu.memory_mb >= memory and vendor in (None, gpu.vendor)]
    if fitting:
        return []
    largest = max((gpu.memory_mb for gpu in caps.gpus if vendor in (None, gpu.vendor)), default=0)
    return [f"needs a GPU with at least {memory} MB (largest here: {largest} MB)"]


def queue_reasons(queue: str, caps: NodeCapabilities) -> list[str]:
    """Why a node with `caps` never takes jobs from `queue` (empty when it may)."""
    if queue == TUNE_QUEUE and queue not in caps.queues:
        return ["tune jobs are run by the controller's tuner, not by nodes"]
    if caps.queues and queue not in caps.queues:
        return [f"not subscribed to queue {queue} (subscribed: {', '.join(caps.queues)})"]
    if caps.concurrency.get(queue) == 0:
        return [f"runs no {queue} jobs (concurrency 0)"]
    return []


def why_not(job: Job, caps: NodeCapabilities) -> list[str]:
    """Every reason a node with `caps` cannot run `job` (empty when it can)."""
    return queue_reasons(job.queue, caps) + unmet_requirements(job.requirements, caps)


def can_run(job: Job, caps: NodeCapabilities) -> bool:
    return not why_not(job, caps)


def explain_unschedulable(job: Job, nodes: Sequence[NodeSession]) -> str | None:
    """Why no node in `nodes` can run `job`, or None when one can."""
    if not nodes:
        return "no live node is registered"
    explained: list[str] = []
    for node in nodes:
        reasons = why_not(job, node.capabilities)
        if not reasons:
            return None
        explained.append(f"{node.name}: {'; '.join(reasons)}")
    shown = explained[:MAX_NODES_EXPLAINED]
    if len(explained) > MAX_NODES_EXPLAINED:
        shown.append(f"and {len(explained) - MAX_NODES_EXPLAINED} more nodes")
    return f"no live node can run it — {' | '.join(shown)}"


def open_queues(
    caps: NodeCapabilities, running: Mapping[str, int], wanted: Sequence[str] | None = None
) -> QueueSelection:
    """The queues a node may take one more job from, given its running jobs per queue."""
    if sum(running.values()) >= caps.slots:
        return QueueSelection(allowed=frozenset())
    allowed: frozenset[str] | None = frozenset(caps.queues) if caps.queues else None
    if wanted is not None:
        allowed = frozenset(wanted) if allowed is None else allowed & frozenset(wanted)
    blocked = frozenset(
        queue for queue, limit in caps.concurrency.items() if running.get(queue, 0) >= limit
    )
    if TUNE_QUEUE not in caps.queues:  # only the tuner, subscribed by name, takes tune jobs
        blocked |= {TUNE_QUEUE}
    if allowed is not None:
        allowed -= blocked
    return QueueSelection(allowed=allowed, blocked=blocked)
