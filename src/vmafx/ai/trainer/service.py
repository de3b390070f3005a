"""The trainer's one service: a line in, an ack out; and publishing checkpoints.

`TrainerService.handle_line` validates a request (protocol.parse_sample), routes held-out
samples to the gate's set and the rest to the learner, and encodes the outcome as one of the
acks of DESIGN.md §6. A refused sample (bad JSON, wrong length, a non-finite feature, a score
outside 0–100) never reaches a buffer; it is counted in `/status` as `samples_rejected`.
`CheckpointPublisher` is the learner's publish callback: export the EMA weights atomically,
judge them with the stability gate, record the verdict in registry.json.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from vmafx.ai import protocol
from vmafx.ai.checkpoints import write_checkpoint
from vmafx.ai.registry import (
    ModelStatus,
    ModelVersion,
    Policy,
    Registry,
    next_version,
    now_iso,
    read_registry,
    write_registry,
)
from vmafx.ai.trainer.export import MlpWeights, model_bytes
from vmafx.ai.trainer.gate import StabilityGate
from vmafx.ai.trainer.learner import Learner
from vmafx.errors import BadSampleError, ModelError

log = logging.getLogger(__name__)


class CheckpointPublisher:
    def __init__(
        self,
        directory: Path,
        gate: StabilityGate,
        *,
        feature_schema: str,
        n_features: int,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.directory = directory
        self.gate = gate
        self.feature_schema = feature_schema
        self._now = now
        registry = read_registry(directory)
        if registry is not None and registry.n_features not in (0, n_features):
            raise ModelError(
                f"The checkpoint folder {directory} holds models for {registry.n_features} "
                f"features; this trainer has {n_features}.",
                hint="Use another VMAFX_SIDECAR_CHECKPOINT_DIR for another feature schema.",
            )
        self.registry = registry or Registry(feature_schema=feature_schema, n_features=n_features)
        self.last: ModelVersion | None = None

    def __call__(self, weights: MlpWeights, step: int, samples: int) -> str:
        version = next_version(self.directory, self.registry)
        data = model_bytes(weights, feature_schema=self.feature_schema)
        path, digest = write_checkpoint(self.directory, version, data)
        actives = self.registry.servable(Policy("latest-stable"))
        active = actives[0] if actives else None
        try:
            verdict = self.gate.judge(data, active, self.directory, older=actives[1:])
            status, figs, reason = verdict.status, verdict.figures, verdict.reason
            base_v, base_f = verdict.baseline_version, verdict.baseline_figures
        except ModelError as exc:
            status, figs, reason, base_v, base_f = (
                ModelStatus.quarantined,
                None,
                str(exc),
                None,
                None,
            )
        stamp = now_iso(self._now())
        entry = ModelVersion(
            version, path.name, digest, status, stamp, step, samples, figs, base_v, base_f, reason
        )
        self.registry = self.registry.with_version(entry, updated_at=stamp)
        write_registry(self.directory, self.registry)
        self.last = entry
        log.info("checkpoint published", extra={"version": version, "status": status.value})
        return str(path)


class TrainerService:
    def __init__(
        self,
        learner: Learner,
        gate: StabilityGate,
        publisher: CheckpointPublisher,
        *,
        n_features: int,
    ) -> None:
        self.learner = learner
        self.gate = gate
        self.publisher = publisher
        self.n_features = n_features
        self.acks: Counter[str] = Counter()
        self.last_rejected: dict[str, str | None] | None = None
        self._lock = threading.Lock()
        self._started = time.monotonic()

    def handle_line(self, line: bytes) -> bytes:
        """One request line (without its newline) → one ack line (with its newline)."""
        try:
            sample = protocol.parse_sample(line, self.n_features)
        except BadSampleError as exc:
            self._count("bad_input")
            self.last_rejected = {"job_id": exc.job_id, "error": exc.message}
            log.debug("sample refused: %s", exc.message, extra={"job_id": exc.job_id})
            return protocol.ack_bad(exc.message, exc.job_id)
        if self.gate.holdout.claims(sample.job_id):
            self.gate.holdout.add(sample.features, sample.true_score)
            self._count("buffered")
            return protocol.ack_buffered(self.learner.step, sample.job_id)
        out = self.learner.offer(sample.features, sample.true_score)
        self._count(out.kind)
        if out.kind == "buffered":
            return protocol.ack_buffered(out.step, sample.job_id)
        if out.kind == "trained":
            loss = out.loss if out.loss is not None else float("nan")
            return protocol.ack_trained(out.step, loss, out.checkpoint, sample.job_id)
        if out.kind == "dropped":
            return protocol.ack_step_dropped(out.step, out.error or "", sample.job_id)
        if out.kind == "retry_queued":
            return protocol.ack_retry_queued(out.step, out.error or "", sample.job_id)
        return protocol.ack_backpressure(out.error or "busy", sample.job_id)

    def _count(self, kind: str) -> None:
        with self._lock:
            self.acks[kind] += 1

    def status(self) -> dict[str, object]:
        """What `GET /status` shows (the original's fields plus the registry's view)."""
        registry = self.publisher.registry
        stable = registry.stable()
        last = self.publisher.last
        body = self.learner.status()
        body.update(
            {
                "phase": "Running",
                "uptime_s": round(time.monotonic() - self._started, 1),
                "feature_schema": self.publisher.feature_schema,
                "n_features": self.n_features,
                "holdout_size": len(self.gate.holdout),
                "checkpoint_dir": str(self.publisher.directory),
                "checkpoint_counter": max((v.version for v in registry.versions), default=0),
                "active_version": stable.version if stable else None,
                "last_checkpoint": last.as_dict() if last else None,
                "acks": dict(self.acks),
                "samples_rejected": self.acks["bad_input"],
                "last_rejected": self.last_rejected,
                "holdout_every": self.gate.holdout.every,
            }
        )
        return body
