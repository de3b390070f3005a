"""Online learning: mixed batches, SGD with momentum, an EMA shadow, and the checkpoint rule.

One `offer` per accepted sample, under one lock (one training step at a time). When enough new
samples are pending, a step runs at once on `batch × (1 − mix)` of them plus `batch × mix`
replay draws: MSE on score/out_scale, linear LR warm-up, gradient-norm clipping, then
θ_ema ← β·θ_ema + (1 − β)·θ_live. A checkpoint of the EMA model is published when at least
`ckpt_interval_s` have passed AND at least `min_samples_ckpt` new samples were trained since
the last one. A step whose loss or parameters turn non-finite is dropped: its window is
discarded (it would fail again), the model, optimizer state and input statistics are restored
to what they were before it, and it is counted and logged once. Any other failed step puts its
window back and is retried by the next offer; the pending queue is bounded, and a full one
answers with backpressure.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import random
import threading
import time
from collections.abc import Callable

import numpy as np
import torch

from vmafx.ai.trainer.export import MlpWeights
from vmafx.ai.trainer.model import QualityMlp, clip_grad_norm, ema_update, weights_of
from vmafx.ai.trainer.replay import Batch, PendingQueue, ReplayBuffer, compose_batch
from vmafx.ai.trainer.running import RunningStats
from vmafx.ai.trainer.settings import SidecarSettings

log = logging.getLogger(__name__)

_THREAD = threading.local()


def _one_torch_thread() -> None:
    """Keep torch to one thread in the calling thread.

    OpenMP's thread count is per thread: `torch.set_num_threads(1)` in the main thread does not
    reach the connection threads, where a second OpenMP worker then spins for nothing (it
    doubled the trainer's CPU time per sample). For a model this small one thread is fastest.
    """
    if not getattr(_THREAD, "configured", False):
        torch.set_num_threads(1)
        _THREAD.configured = True


#: A fresh model's input statistics follow the first this-many samples, then stay fixed.
NORM_SAMPLES = 2048

_NormState = tuple[tuple[int, np.ndarray, np.ndarray], torch.Tensor, torch.Tensor]
_ParamState = tuple[list[torch.Tensor], list[torch.Tensor | None]]


@torch.no_grad()
def finite_params(params: list[torch.Tensor]) -> bool:
    """Every parameter finite (an overflowing norm, |θ| ≳ 1e19, counts as not finite)."""
    return bool(torch.isfinite(torch.stack(torch._foreach_norm(params))).all())


#: publish(ema weights, step, samples trained) → the checkpoint's path (None if none was written)
Publisher = Callable[[MlpWeights, int, int], str | None]


def checkpoint_due(
    now: float, last: float, new_samples: int, *, interval_s: float, min_samples: int
) -> bool:
    """The original's rule: ≥ interval seconds AND ≥ min new samples since the last checkpoint."""
    return now - last >= interval_s and new_samples >= min_samples


class NonFiniteStepError(ValueError):
    """A step whose loss or parameters turned non-finite; the learner is as it was before it."""


@dataclasses.dataclass(frozen=True)
class Outcome:
    kind: str  # "buffered" | "trained" | "retry_queued" | "dropped" | "backpressure"
    step: int
    loss: float | None = None
    checkpoint: str | None = None
    error: str | None = None


class Learner:
    def __init__(
        self,
        settings: SidecarSettings,
        model: QualityMlp,
        *,
        publish: Publisher | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        fresh: bool = True,
        device: torch.device | None = None,
    ) -> None:
        self.settings = settings
        self.device = device or torch.device("cpu")
        self.live = model.to(self.device)
        self.ema = copy.deepcopy(model)
        for p in self.ema.parameters():
            p.requires_grad_(False)
        self._live_params: list[torch.Tensor] = list(self.live.parameters())
        self._ema_params: list[torch.Tensor] = list(self.ema.parameters())
        self.optimizer = torch.optim.SGD(
            self._live_params,
            lr=settings.lr,
            momentum=settings.momentum,
            weight_decay=settings.weight_decay,
        )
        self.replay = ReplayBuffer(settings.replay_capacity)
        self.pending = PendingQueue(settings.pending_capacity)
        freeze = min(settings.replay_capacity, NORM_SAMPLES) if fresh else 0
        self.norm = RunningStats(model.n_features, freeze_after=freeze)
        self._publish = publish
        self._clock = clock
        self._rng = rng or random.Random(settings.seed)
        self._lock = threading.Lock()
        self.step = 0
        self.samples_trained = 0
        self.last_loss: float | None = None
        self.checkpoints = 0
        self.steps_dropped = 0
        self.samples_dropped = 0
        self.last_dropped_reason: str | None = None
        self._last_ckpt_at = clock()
        self._new_since_ckpt = 0

    def offer(self, features: np.ndarray, score: float) -> Outcome:
        """Admit one validated sample; train when a window is full; maybe checkpoint."""
        _one_torch_thread()
        with self._lock:
            if self.pending.full():
                return Outcome(
                    "backpressure",
                    self.step,
                    error=f"the trainer's pending queue is full ({self.pending.capacity} samples); "
                    "retry later",
                )
            self.pending.put((features, score))
            batch = compose_batch(
                self.pending,
                self.replay,
                batch_size=self.settings.batch_size,
                replay_mix=self.settings.replay_mix,
                rng=self._rng,
            )
            if batch is None:
                return Outcome("buffered", self.step)
            try:
                loss = self.train_step(batch)
            except NonFiniteStepError as exc:
                return self._drop(batch, str(exc))
            except (RuntimeError, ValueError) as exc:
                self.pending.restore(batch.new)
                log.warning("training step failed; will retry", extra={"error": str(exc)})
                return Outcome("retry_queued", self.step, error=f"training step failed: {exc}")
            return Outcome("trained", self.step, loss=loss, checkpoint=self._maybe_checkpoint())

    def _drop(self, batch: Batch, reason: str) -> Outcome:
        """Discard a non-finite step's window for good (retrying it would fail the same way)."""
        self.steps_dropped += 1
        self.samples_dropped += len(batch.new)
        error = (
            f"training step {self.step + 1} dropped: {reason}; "
            f"its {len(batch.new)} new samples were discarded"
        )
        self.last_dropped_reason = error
        log.warning(error, extra={"step": self.step + 1, "samples": len(batch.new)})
        return Outcome("dropped", self.step, error=error)

    def _set_norm(self, mean: torch.Tensor, inv_std: torch.Tensor) -> None:
        for model in (self.live, self.ema):
            model.mean.copy_(mean)
            model.inv_std.copy_(inv_std)

    def _standardise(self, new: np.ndarray) -> _NormState | None:
        """Fold the new rows into the input statistics; what undoes it (None: nothing changed)."""
        before = self.norm.state()
        if not self.norm.update(new):
            return None
        undo = (before, self.live.mean.clone(), self.live.inv_std.clone())
        mean = torch.from_numpy(self.norm.mean.astype(np.float32)).to(self.device)
        inv_std = torch.from_numpy(self.norm.inv_std().astype(np.float32)).to(self.device)
        self._set_norm(mean, inv_std)
        return undo

    def train_step(self, batch: Batch) -> float:
        """One SGD step on `batch` and the EMA update; the loss in score units².

        NonFiniteStepError when the loss or the updated parameters are not finite: then the
        parameters, the optimizer's momentum and the input statistics are as before the call.
        """
        x, y = batch.arrays()
        undo_norm = self._standardise(x[: len(batch.new)])
        try:
            value = self._sgd_step(x, y)
        except NonFiniteStepError:
            if undo_norm is not None:
                stats, mean, inv_std = undo_norm
                self.norm.restore(stats)
                self._set_norm(mean, inv_std)
            raise
        ema_update(self._ema_params, self._live_params, self.settings.ema_decay)
        for item in batch.new:
            self.replay.push(item)
        self.step += 1
        self.samples_trained += len(batch.new)
        self._new_since_ckpt += len(batch.new)
        self.last_loss = value
        return value

    def _sgd_step(self, x: np.ndarray, y: np.ndarray) -> float:
        """Warm-up, loss, backward, clipping and the SGD update, checked for non-finite values."""
        warmup = max(1, self.settings.warmup_steps)
        lr = self.settings.lr * min(1.0, (self.step + 1) / warmup)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        scale = float(self.live.out_scale)
        self.optimizer.zero_grad(set_to_none=True)
        inputs = torch.from_numpy(x).to(self.device, non_blocking=True)
        targets = torch.from_numpy(y).to(self.device, non_blocking=True)
        loss = torch.nn.functional.mse_loss(self.live.unscaled(inputs), targets / scale)
        value = float(loss.item())
        if not math.isfinite(value):
            raise NonFiniteStepError(f"its loss is {value * scale * scale}")
        loss.backward()  # type: ignore[no-untyped-call]
        if self.settings.grad_clip > 0:
            clip_grad_norm(self._live_params, self.settings.grad_clip)
        saved = self._save_params()
        self.optimizer.step()
        if not finite_params(self._live_params):
            self._restore_params(saved)
            raise NonFiniteStepError("its parameters are not finite after the update")
        return value * scale * scale

    def _save_params(self) -> _ParamState:
        """The live parameters and their momentum buffers (None where there is none yet)."""
        state = self.optimizer.state
        params = [p.detach().clone() for p in self._live_params]
        buffers = [state[p].get("momentum_buffer") for p in self._live_params]
        return params, [None if b is None else b.clone() for b in buffers]

    @torch.no_grad()
    def _restore_params(self, saved: _ParamState) -> None:
        params, buffers = saved
        torch._foreach_copy_(self._live_params, params)
        for p, buffer in zip(self._live_params, buffers, strict=True):
            if buffer is None:
                self.optimizer.state[p].pop("momentum_buffer", None)
            else:
                self.optimizer.state[p]["momentum_buffer"] = buffer

    def _maybe_checkpoint(self) -> str | None:
        now = self._clock()
        due = checkpoint_due(
            now,
            self._last_ckpt_at,
            self._new_since_ckpt,
            interval_s=self.settings.ckpt_interval_s,
            min_samples=self.settings.min_samples_ckpt,
        )
        if not due or self._publish is None:
            return None
        self._last_ckpt_at, self._new_since_ckpt = now, 0
        try:
            path = self._publish(weights_of(self.ema), self.step, self.samples_trained)
        except Exception:  # a failed export must not stop training; the next interval retries
            log.exception("checkpoint failed")
            return None
        self.checkpoints += 1
        return path

    def status(self) -> dict[str, object]:
        with self._lock:
            return {
                "step_count": self.step,
                "samples_trained": self.samples_trained,
                "last_loss": self.last_loss,
                "buffer_size": len(self.replay),
                "buffer_capacity": self.replay.capacity,
                "total_pushed": self.replay.total_pushed,
                "total_evicted": self.replay.evicted,
                "pending_size": len(self.pending),
                "pending_capacity": self.pending.capacity,
                "training_active": True,
                "checkpoints_written": self.checkpoints,
                "samples_since_checkpoint": self._new_since_ckpt,
                "normalisation_frozen": self.norm.frozen,
                "steps_dropped": self.steps_dropped,
                "samples_dropped": self.samples_dropped,
                "last_dropped_reason": self.last_dropped_reason,
            }
