"""The trainer sidecar's settings (`VMAFX_SIDECAR_*`, loaded by `vmafx.config.load`)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vmafx.config import default_checkpoint_dir, load
from vmafx.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class SidecarSettings:
    """The trainer sidecar: every `VMAFX_SIDECAR_*` of DESIGN.md §6, plus `VMAFX_BASE_MODEL_PATH`.

    The first block keeps the original's names and defaults; the rest is vmafx's own (stability
    gate, wire limits, model shape, the `/status` listener; `status_port` empty disables it).
    """

    socket: Path = Path("/tmp/vmafx-sidecar.sock")
    checkpoint_dir: Path | None = None
    replay_capacity: int = 10_000
    pending_capacity: int = 10_000
    batch_size: int = 32
    replay_mix: float = 0.5
    lr: float = 1e-4
    ema_decay: float = 0.999
    ckpt_interval_s: float = 600.0
    min_samples_ckpt: int = 1000
    n_features: int = 80
    base_model_path: Path | None = None
    momentum: float = 0.9
    weight_decay: float = 1e-5
    grad_clip: float = 1.0
    warmup_steps: int = 100
    hidden: int = 64
    holdout_every: int = 10
    holdout_size: int = 500
    gate_min_samples: int = 20
    gate_plcc_delta: float = 0.005
    gate_min_plcc: float = 0.0
    max_line_bytes: int = 65_536
    idle_timeout_s: float = 300.0
    max_connections: int = 64
    status_host: str = "127.0.0.1"
    status_port: int | None = 9475
    seed: int | None = None
    #: `VMAFX_SIDECAR_CUDA=1`: train on the GPU when torch sees one (else the CPU, said why).
    cuda: bool = False

    def checked(self) -> SidecarSettings:
        """These settings, or a ConfigError naming the first value that cannot work."""
        rules: list[tuple[bool, str, str]] = [
            (0.0 <= self.replay_mix < 1.0, "REPLAY_MIX", "must be in [0, 1)"),
            (self.batch_size >= 1, "BATCH_SIZE", "must be at least 1"),
            (self.replay_capacity >= 1, "REPLAY_CAPACITY", "must be at least 1"),
            (self.pending_capacity >= self.batch_size, "PENDING_CAPACITY", "must be ≥ BATCH_SIZE"),
            (self.lr > 0, "LR", "must be positive"),
            (0.0 <= self.ema_decay < 1.0, "EMA_DECAY", "must be in [0, 1)"),
            (self.ckpt_interval_s >= 0, "CKPT_INTERVAL_S", "must be ≥ 0"),
            (self.min_samples_ckpt >= 1, "MIN_SAMPLES_CKPT", "must be at least 1"),
            (self.n_features >= 1, "N_FEATURES", "must be at least 1"),
            (self.hidden >= 1, "HIDDEN", "must be at least 1"),
            (self.holdout_every >= 2, "HOLDOUT_EVERY", "must be at least 2"),
            (self.gate_min_samples >= 3, "GATE_MIN_SAMPLES", "must be at least 3"),
            (self.max_line_bytes >= 1024, "MAX_LINE_BYTES", "must be at least 1024"),
            (self.idle_timeout_s > 0, "IDLE_TIMEOUT_S", "must be positive"),
            (self.max_connections >= 1, "MAX_CONNECTIONS", "must be at least 1"),
        ]
        for ok, key, rule in rules:
            if not ok:
                value = getattr(self, key.lower())
                raise ConfigError(
                    f"VMAFX_SIDECAR_{key} is {value!r}; it {rule}.", hint="Fix or unset it."
                )
        return self


def sidecar_settings(
    flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> SidecarSettings:
    """Trainer settings; `VMAFX_BASE_MODEL_PATH` keeps the original's name (no section)."""
    env = os.environ if env is None else env
    merged = dict(flags or {})
    if merged.get("base_model_path") is None and env.get("VMAFX_BASE_MODEL_PATH"):
        merged["base_model_path"] = Path(env["VMAFX_BASE_MODEL_PATH"])
    settings = load(SidecarSettings, "sidecar", flags=merged, env=env)
    if settings.checkpoint_dir is None:
        settings = dataclasses.replace(settings, checkpoint_dir=default_checkpoint_dir(env))
    return settings.checked()
