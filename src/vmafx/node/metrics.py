"""The node's Prometheus families (DESIGN.md §3.7), on a registry of its own.

vmafx_node_info{name,version,vendor,backends}   1
vmafx_node_slots                                jobs the node runs at once
vmafx_node_jobs_running                         jobs running now
vmafx_node_jobs_total{kind,outcome}             completed|failed|cancelled|released|retried
vmafx_node_job_duration_seconds{kind}           claim to report
vmafx_node_encoder_fallbacks_total{from_encoder,to_encoder}
vmafx_node_registrations_total                  sessions opened (re-registrations included)
vmafx_node_handlers_abandoned_total             handlers stuck after a cancel, left behind
vmafx_training_feedback_{delivered,dropped}_total   when feedback to the trainer is on
vmafx_model_checkpoint_version                  the served model version (0: none yet)
vmafx_model_swaps_total                         models installed (the first load counts)
                                                both when inference is on (ONNX Runtime)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from vmafx.ai.feedback import METRIC_DELIVERED, METRIC_DROPPED, FeedbackStats
from vmafx.ai.inference import InferenceEngine

_DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class NodeMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.info = Gauge(
            "vmafx_node_info",
            "This node: name, vmafx version, GPU vendor and backends (always 1).",
            ["name", "version", "vendor", "backends"],
            registry=r,
        )
        self.slots = Gauge("vmafx_node_slots", "Jobs this node runs at once.", registry=r)
        self.running = Gauge("vmafx_node_jobs_running", "Jobs running now.", registry=r)
        self.jobs = Counter(
            "vmafx_node_jobs", "Jobs this node ended, by kind and outcome.", ["kind", "outcome"],
            registry=r,
        )  # fmt: skip
        self.duration = Histogram(
            "vmafx_node_job_duration_seconds",
            "Seconds from claim to report, by kind.",
            ["kind"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.fallbacks = Counter(
            "vmafx_node_encoder_fallbacks",
            "Encodes that fell back from a failing hardware encoder.",
            ["from_encoder", "to_encoder"],
            registry=r,
        )
        self.registrations = Counter(
            "vmafx_node_registrations", "Sessions this node opened with the controller.",
            registry=r,
        )  # fmt: skip
        self.abandoned = Counter(
            "vmafx_node_handlers_abandoned",
            "Job handlers that did not stop after a cancel; their threads were left behind.",
            registry=r,
        )

    def describe_node(self, name: str, version: str, vendor: str, backends: Sequence[str]) -> None:
        self.info.labels(name, version, vendor, ",".join(backends)).set(1)

    def job_ended(self, kind: str, outcome: str, seconds: float) -> None:
        self.jobs.labels(kind, outcome).inc()
        self.duration.labels(kind).observe(seconds)

    def fell_back(self, from_encoder: str, to_encoder: str) -> None:
        self.fallbacks.labels(from_encoder, to_encoder).inc()

    def watch_feedback(self, stats: Callable[[], FeedbackStats]) -> None:
        self.registry.register(_FeedbackCollector(stats))

    def watch_models(self, engine: InferenceEngine) -> None:
        self.registry.register(_ModelCollector(engine))


class _ModelCollector(Collector):
    def __init__(self, engine: InferenceEngine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "vmafx_model_checkpoint_version",
            "The model version this node serves (0 while none is loaded).",
            value=self._engine.version or 0,
        )
        yield CounterMetricFamily(
            "vmafx_model_swaps",
            "Models this node installed without a restart (the first load counts).",
            value=self._engine.swaps_total,
        )


class _FeedbackCollector(Collector):
    def __init__(self, stats: Callable[[], FeedbackStats]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[CounterMetricFamily]:
        stats = self._stats()
        yield CounterMetricFamily(
            METRIC_DELIVERED.removesuffix("_total"),
            "Training samples the trainer acknowledged.",
            value=stats.delivered,
        )
        yield CounterMetricFamily(
            METRIC_DROPPED.removesuffix("_total"),
            "Training samples dropped (ring buffer full, refused, or queued at shutdown).",
            value=stats.dropped,
        )
