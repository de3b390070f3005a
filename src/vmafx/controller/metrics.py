"""The controller's Prometheus families (DESIGN.md §3.7), on a registry the caller owns.

Counters and histograms are updated by the service as things happen (`ControllerMetrics`
implements its `JobMetrics` port); the queue gauges are read from the store at scrape time
(`MetricsExporter.render`), so every replica reports the same, current figures.

    vmafx_controller_jobs_{submitted,completed,failed,cancelled}_total{tenant}
    vmafx_controller_jobs_requeued_total{reason}
    vmafx_controller_jobs_pending{queue}          (scraped)
    vmafx_controller_jobs_running                 (scraped)
    vmafx_controller_queue_oldest_job_age_seconds{queue}  (scraped, absent when empty)
    vmafx_controller_nodes_live                   (scraped)
    vmafx_node_gpu_{utilization,encoder_utilization}_ratio{tenant,node,gpu,uuid}  (scraped)
    vmafx_node_gpu_encoder_sessions{tenant,node,gpu,uuid}                       (scraped)
    vmafx_node_gpu_memory_{used,total}_bytes{tenant,node,gpu,uuid}              (scraped)
    vmafx_controller_job_queue_wait_seconds{tenant}
    vmafx_controller_job_duration_seconds{tenant,outcome}
    vmafx_quality_score{tenant,model,profile}
    vmafx_controller_sweeping                     (this replica runs the periodic sweeps: 1/0)
    vmafx_controller_replica_feed_connected       (hears the other replicas; 1 without any)
    vmafx_controller_replica_notices_{heard,dropped}_total, _replica_feed_reconnects_total
    vmafx_controller_jobs_pruned_total            (retention)
    vmafx_controller_claim_seconds{tenant}        (a claim's time in the controller)
    vmafx_controller_batch_seconds{kind}          (one group-commit transaction: claim, renewal)
    vmafx_controller_batch_requests_total{kind}   (requests those transactions served)
    vmafx_controller_sweep_step_seconds{step}     (lock, expire, refresh, prune, vacuum)
    vmafx_controller_event_loop_lag_seconds       (how late a due timer ran: the loop was held)
    vmafx_controller_gc_pause_seconds{generation} (a garbage collection held the interpreter)

Tenant names are the farm's customers, so a scrape sees only what its caller may: `render()`
gives every series (auth off, loopback only), `render(tenant=T)` the per-tenant series of T
alone, and `render(tenant=None)` each per-tenant family summed over tenants with no `tenant`
label (what an anonymous scrape gets while auth is on).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.samples import Sample

from vmafx import __version__
from vmafx.core.clock import Clock
from vmafx.core.gpuusage import MAX_GPUS, GpuSample, GpuUsage
from vmafx.core.jobs import Job, JobKind, JobState
from vmafx.core.scores import headline_score
from vmafx.store.port import JobStore

JOB_SECONDS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)
WAIT_SECONDS = (0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600)
#: A claim's time in the controller: the 100 ms target of issue 15 sits on a bucket edge.
CLAIM_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
#: A store transaction, a sweeper step, a late timer: where a slow claim's time went.
STALL_SECONDS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
SCORE_BUCKETS = (20, 30, 40, 50, 60, 70, 75, 80, 85, 88, 90, 92, 94, 96, 98, 100)
CONTENT_TYPE = CONTENT_TYPE_LATEST
TENANT = "tenant"


class AllTenants:
    """`render`'s default: every tenant's series, labelled."""


ALL_TENANTS = AllTenants()
_OUTCOMES = {
    JobState.COMPLETED: "completed",
    JobState.FAILED: "failed",
    JobState.CANCELLED: "cancelled",
}


class ControllerMetrics:
    """The event-driven families; pass the same registry to `MetricsExporter`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        prefix = "vmafx_controller_jobs"
        self._totals = {
            name: Counter(f"{prefix}_{name}", f"Jobs {name}.", ["tenant"], registry=registry)
            for name in ("submitted", "completed", "failed", "cancelled")
        }
        self._requeued = Counter(
            f"{prefix}_requeued", "Running jobs returned to pending.", ["reason"], registry=registry
        )
        self._wait = Histogram(
            "vmafx_controller_job_queue_wait_seconds",
            "From submission to the first claim.",
            ["tenant"],
            buckets=WAIT_SECONDS,
            registry=registry,
        )
        self._claim = Histogram(
            "vmafx_controller_claim_seconds",
            "From a PullWork's arrival (or its wake-up, when it waited for work) to the job "
            "handed out: the claim's time in the controller, without the network's.",
            ["tenant"],
            buckets=CLAIM_SECONDS,
            registry=registry,
        )
        self._duration = Histogram(
            "vmafx_controller_job_duration_seconds",
            "From the first claim to the end.",
            ["tenant", "outcome"],
            buckets=JOB_SECONDS,
            registry=registry,
        )
        self._score = Histogram(
            "vmafx_quality_score",
            "Headline score of completed score jobs.",
            ["tenant", "model", "profile"],
            buckets=SCORE_BUCKETS,
            registry=registry,
        )
        self._batch = Histogram(
            "vmafx_controller_batch_seconds",
            "One group-commit store transaction (claims or heartbeats' renewals of many nodes).",
            ["kind"],
            buckets=STALL_SECONDS,
            registry=registry,
        )
        self._batched = Counter(
            "vmafx_controller_batch_requests",
            "Requests served by group-commit transactions (÷ batches: the mean batch).",
            ["kind"],
            registry=registry,
        )
        self._swept = Histogram(
            "vmafx_controller_sweep_step_seconds",
            "One step of the periodic sweep (in the replica holding the sweep lock).",
            ["step"],
            buckets=STALL_SECONDS,
            registry=registry,
        )
        self._lag = Histogram(
            "vmafx_controller_event_loop_lag_seconds",
            "How late the event loop ran a due timer: the time it was held by other work.",
            buckets=STALL_SECONDS,
            registry=registry,
        )
        self._gc = Histogram(
            "vmafx_controller_gc_pause_seconds",
            "One cyclic garbage collection, by generation (2: a full one): every thread waits.",
            ["generation"],
            buckets=STALL_SECONDS,
            registry=registry,
        )
        info = Gauge("vmafx_build_info", "vmafx version.", ["version"], registry=registry)
        info.labels(version=__version__).set(1)

    def submitted(self, jobs: Sequence[Job]) -> None:
        for job in jobs:
            self._totals["submitted"].labels(tenant=job.tenant).inc()

    def claimed(self, job: Job, seconds: float | None = None) -> None:
        if seconds is not None:
            self._claim.labels(tenant=job.tenant).observe(max(0.0, seconds))
        if job.attempt == 1 and job.started_at is not None:
            wait = (job.started_at - job.created_at).total_seconds()
            self._wait.labels(tenant=job.tenant).observe(max(0.0, wait))

    def finished(self, job: Job) -> None:
        outcome = _OUTCOMES.get(job.state)
        if outcome is None:
            return
        self._totals[outcome].labels(tenant=job.tenant).inc()
        if job.started_at is not None and job.finished_at is not None:
            seconds = (job.finished_at - job.started_at).total_seconds()
            self._duration.labels(tenant=job.tenant, outcome=outcome).observe(max(0.0, seconds))
        score = headline_score(job.result) if job.kind is JobKind.SCORE else None
        if score is not None and job.state is JobState.COMPLETED:
            models = job.spec.get("models") or ["default"]
            model = str(models[0])[:64]
            self._score.labels(tenant=job.tenant, model=model, profile="none").observe(score)

    def requeued(self, reason: str, count: int = 1) -> None:
        self._requeued.labels(reason=reason).inc(count)

    def batch(self, kind: str, size: int, seconds: float) -> None:
        self._batch.labels(kind=kind).observe(max(0.0, seconds))
        self._batched.labels(kind=kind).inc(size)

    def swept(self, step: str, seconds: float) -> None:
        self._swept.labels(step=step).observe(max(0.0, seconds))

    def loop_lag(self, seconds: float) -> None:
        self._lag.observe(max(0.0, seconds))

    def gc_pause(self, generation: int, seconds: float) -> None:
        self._gc.labels(generation=str(generation)).observe(max(0.0, seconds))


#: A GPU sample older than this is not exported (the node stopped sending one).
GPU_SAMPLE_MAX_AGE_S = 120.0
GpuSamples = Callable[[], Iterable[GpuSample]]
_GPU_LABELS = ["tenant", "node", "gpu", "uuid"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReplicaFigures:
    """How this controller replica stands among the others, read at scrape time."""

    sweeping: bool = False
    feed_connected: bool = True
    notices_heard: int = 0
    notices_dropped: int = 0
    feed_reconnects: int = 0
    jobs_pruned: int = 0


class _ReplicaCollector:
    def __init__(self, exporter: MetricsExporter) -> None:
        self._exporter = exporter

    def collect(self) -> Iterator[Metric]:
        now = self._exporter.replica()
        yield GaugeMetricFamily(
            "vmafx_controller_sweeping",
            "1 while this replica holds the sweep lock and runs the periodic sweeps.",
            value=float(now.sweeping),
        )
        yield GaugeMetricFamily(
            "vmafx_controller_replica_feed_connected",
            "1 while this replica hears the other replicas (PostgreSQL LISTEN; 1 without any).",
            value=float(now.feed_connected),
        )
        for name, value, text in (
            ("replica_notices_heard", now.notices_heard, "Change notices heard from replicas."),
            ("replica_notices_dropped", now.notices_dropped, "Change notices not sent."),
            ("replica_feed_reconnects", now.feed_reconnects, "LISTEN connections re-made."),
            ("jobs_pruned", now.jobs_pruned, "Finished jobs deleted by retention."),
        ):
            yield CounterMetricFamily(f"vmafx_controller_{name}", text, value=value)


def _no_samples() -> Iterable[GpuSample]:
    return ()


class MetricsExporter:
    """Renders the registry, first reading queue depths and the count of live nodes from the
    store, and the GPU load the nodes' heartbeats brought to this replica (`gpu_samples`).

    The GPU series are bounded: nodes with a sample of the last `GPU_SAMPLE_MAX_AGE_S` only
    (an expired session's is dropped at once), at most `MAX_GPUS` each, cleared every scrape.
    A scrape reads no node rows: listing 10,000 sessions was ~150 ms of decoding under the
    controller's GIL, which every claim in flight waited for (docs/scale.md).
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        store: JobStore,
        clock: Clock,
        *,
        gpu_samples: GpuSamples = _no_samples,
    ) -> None:
        self.registry = registry
        self._store = store
        self._clock = clock
        self._gpu_samples = gpu_samples
        self._gpu = {
            name: Gauge(f"vmafx_node_gpu_{name}", text, _GPU_LABELS, registry=registry)
            for name, text in (
                ("utilization_ratio", "GPU core busy time over the node's last sample, 0-1."),
                ("encoder_utilization_ratio", "GPU video encoder busy time, 0-1."),
                ("encoder_sessions", "Encoder (NVENC) sessions open."),
                ("memory_used_bytes", "GPU memory in use."),
                ("memory_total_bytes", "GPU memory in total."),
            )
        }
        self._pending = Gauge(
            "vmafx_controller_jobs_pending", "Pending jobs.", ["queue"], registry=registry
        )
        self._running = Gauge("vmafx_controller_jobs_running", "Running jobs.", registry=registry)
        self._oldest = Gauge(
            "vmafx_controller_queue_oldest_job_age_seconds",
            "Age of the oldest pending job.",
            ["queue"],
            registry=registry,
        )
        self._nodes = Gauge("vmafx_controller_nodes_live", "Live node sessions.", registry=registry)
        #: Read at scrape time; the composition root points it at the sweeper and the feed.
        self.replica: Callable[[], ReplicaFigures] = ReplicaFigures
        registry.register(_ReplicaCollector(self))

    async def refresh(self) -> None:
        now = self._clock.now()
        depths = await self._store.queue_depths()
        live = await self._store.count_nodes(live_at=now)
        self._pending.clear()
        self._oldest.clear()
        running = 0
        for depth in depths:
            if depth.state is JobState.PENDING:
                self._pending.labels(queue=depth.queue).set(depth.count)
                age = (now - depth.oldest_created_at).total_seconds()
                self._oldest.labels(queue=depth.queue).set(max(0.0, age))
            elif depth.state is JobState.RUNNING:
                running += depth.count
        self._running.set(running)
        self._nodes.set(live)
        for gauge in self._gpu.values():
            gauge.clear()
        for sample in self._gpu_samples():
            if (now - sample.at).total_seconds() > GPU_SAMPLE_MAX_AGE_S:
                continue
            for gpu in sample.usage[:MAX_GPUS]:
                labels = {"tenant": sample.tenant, "node": sample.node, "gpu": str(gpu.index),
                          "uuid": gpu.uuid}  # fmt: skip
                for name, value in _gpu_figures(gpu).items():
                    if value is not None:
                        self._gpu[name].labels(**labels).set(value)

    async def render(self, *, tenant: str | AllTenants | None = ALL_TENANTS) -> bytes:
        """The Prometheus text exposition (content type `CONTENT_TYPE`): every tenant's series,
        one tenant's (`tenant="acme"`), or the per-tenant families summed (`tenant=None`)."""
        await self.refresh()
        if isinstance(tenant, AllTenants):
            return generate_latest(self.registry)
        return generate_latest(_TenantView(self.registry, tenant))


def _gpu_figures(gpu: GpuUsage) -> dict[str, float | None]:
    def ratio(pct: float | None) -> float | None:
        return None if pct is None else pct / 100.0

    def mib(value: int | None) -> float | None:
        return None if value is None else float(value) * 1024 * 1024

    sessions = gpu.encoder_sessions
    return {
        "utilization_ratio": ratio(gpu.utilization_pct),
        "encoder_utilization_ratio": ratio(gpu.encoder_utilization_pct),
        "encoder_sessions": None if sessions is None else float(sessions),
        "memory_used_bytes": mib(gpu.memory_used_mb),
        "memory_total_bytes": mib(gpu.memory_total_mb),
    }


class _TenantView:
    """A registry's families as one tenant (or nobody: `None`) may see them."""

    def __init__(self, registry: CollectorRegistry, tenant: str | None) -> None:
        self._registry = registry
        self._tenant = tenant

    def collect(self) -> Iterator[Metric]:
        for family in self._registry.collect():
            view = Metric(family.name, family.documentation, family.type, family.unit)
            if not any(TENANT in sample.labels for sample in family.samples):
                # A view carries no creation times: summed families have none to give.
                view.samples = [s for s in family.samples if not s.name.endswith("_created")]
                yield view
                continue
            if self._tenant is None:
                view.samples = _summed_over_tenants(family.samples)
            else:
                view.samples = [s for s in family.samples if s.labels.get(TENANT) == self._tenant]
            yield view


def _summed_over_tenants(samples: Sequence[Sample]) -> list[Sample]:
    """The samples without their tenant label, added up (creation times have no sum: dropped)."""
    sums: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for sample in samples:
        if sample.name.endswith("_created"):
            continue
        labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != TENANT))
        key = (sample.name, labels)
        sums[key] = sums.get(key, 0.0) + sample.value
    return [Sample(name, dict(labels), value) for (name, labels), value in sums.items()]
