"""Build the trainer from settings and run it: model, learner, gate, publisher, socket, /status.

The starting model, in order: `VMAFX_BASE_MODEL_PATH` if set; else the newest active version in
the checkpoint folder (a restarted trainer resumes where it left off); else a fresh MLP.
Call `require_torch()` before importing this module.

From `start()` to `stop()` an exception escaping any of the trainer's threads (the socket's
accept loop, a connection, the /status listener) is its death: logged at CRITICAL with the
thread's name, and `wait()` raises `TaskDiedError` (exit 1) so that a supervisor restarts the
trainer instead of leaving it up with nobody accepting samples.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
from pathlib import Path

import torch

from vmafx.ai.trainer.device import training_device
from vmafx.ai.trainer.gate import HoldOut, StabilityGate
from vmafx.ai.trainer.learner import Learner
from vmafx.ai.trainer.model import QualityMlp, load_base_model, resume_model
from vmafx.ai.trainer.server import SocketServer
from vmafx.ai.trainer.service import CheckpointPublisher, TrainerService
from vmafx.ai.trainer.settings import SidecarSettings
from vmafx.ai.trainer.status import StatusServer
from vmafx.core.features import SCHEMA_V1
from vmafx.supervision import Supervisor

log = logging.getLogger(__name__)


def initial_model(settings: SidecarSettings, directory: Path) -> tuple[QualityMlp, str]:
    """The model to start from and where it came from ("base", "resumed vN" or "fresh")."""
    if settings.base_model_path is not None:
        return load_base_model(settings.base_model_path, settings.n_features), "base"
    resumed = resume_model(directory, settings.n_features)  # falls back past refused files
    if resumed is not None:
        return resumed[0], f"resumed v{resumed[1]}"
    if settings.seed is not None:
        torch.manual_seed(settings.seed)
    return QualityMlp(settings.n_features, (settings.hidden,)), "fresh"


class TrainerApp:
    """The whole sidecar; `start()` returns once the socket listens; `stop()` in under 2 s."""

    def __init__(self, settings: SidecarSettings, *, feature_schema: str = SCHEMA_V1) -> None:
        assert settings.checkpoint_dir is not None, "sidecar_settings() fills checkpoint_dir"
        self.settings = settings
        directory = settings.checkpoint_dir
        model, self.origin = initial_model(settings, directory)
        holdout = HoldOut(every=settings.holdout_every, capacity=settings.holdout_size)
        gate = StabilityGate(
            holdout,
            n_features=settings.n_features,
            plcc_delta=settings.gate_plcc_delta,
            min_samples=settings.gate_min_samples,
            min_plcc=settings.gate_min_plcc,
        )
        publisher = CheckpointPublisher(
            directory, gate, feature_schema=feature_schema, n_features=settings.n_features
        )
        self.device = training_device(settings.cuda)
        learner = Learner(
            settings,
            model,
            publish=publisher,
            rng=random.Random(settings.seed),
            fresh=self.origin == "fresh",
            device=self.device.device,
        )
        self.service = TrainerService(learner, gate, publisher, n_features=settings.n_features)
        self.server = SocketServer(
            settings.socket,
            self.service.handle_line,
            max_line_bytes=settings.max_line_bytes,
            idle_timeout_s=settings.idle_timeout_s,
            max_connections=settings.max_connections,
        )
        self.supervisor = Supervisor("trainer")
        self._watching = contextlib.ExitStack()
        self.status_server: StatusServer | None = None
        if settings.status_port is not None:
            self.status_server = StatusServer(
                settings.status_host, settings.status_port, self.status
            )

    def status(self) -> dict[str, object]:
        body = self.service.status()
        body.update(
            {
                "model_origin": self.origin,
                "device": self.device.name,
                "device_reason": self.device.reason,
                "socket": str(self.settings.socket),
                "connections_open": self.server.connections_open,
                "connections_total": self.server.connections_total,
            }
        )
        return body

    def start(self) -> None:
        self._watching.enter_context(self.supervisor.catching_threads())
        try:
            self.server.start()
            if self.status_server is not None:
                try:
                    self.status_server.start()
                except BaseException:
                    self.server.stop()
                    raise
        except BaseException:
            self._watching.close()
            raise
        log.info("trainer listening", extra={"socket": str(self.settings.socket)})

    def wait(self, stop: threading.Event) -> None:
        """Serve until `stop` is set; raises TaskDiedError when a thread of the trainer died."""
        self.supervisor.wait(stop)

    def stop(self) -> None:
        if self.status_server is not None:
            self.status_server.stop()
        self.server.stop(timeout=0.5)
        self._watching.close()
