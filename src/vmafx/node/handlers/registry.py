"""The handlers a node runs, built from what it detected, and the queues they serve."""

from __future__ import annotations

from collections.abc import Mapping, Set
from pathlib import Path

from vmafx.core.jobs import ENCODE_QUEUES, JobKind, default_queue
from vmafx.media.encoders import HwDevices
from vmafx.media.ffmpeg import FfmpegInfo
from vmafx.media.runner import FfmpegRunner
from vmafx.media.scorer import LibvmafScorer
from vmafx.node.handlers.base import Handler
from vmafx.node.handlers.encode import EncodeHandler
from vmafx.node.handlers.filmstrip import FilmstripHandler
from vmafx.node.handlers.health import HealthHandler
from vmafx.node.handlers.infer import InferHandler
from vmafx.node.handlers.score import OnScored, ScoreHandler
from vmafx.node.handlers.thumbnail import ThumbnailHandler
from vmafx.node.models import NodeModels


def build_handlers(
    *,
    ffmpeg: FfmpegInfo,
    runner: FfmpegRunner,
    verified: Set[str],
    results_dir: Path,
    devices: HwDevices | None = None,
    timeout_s: float | None = None,
    on_scored: OnScored | None = None,
    models: NodeModels | None = None,
    decode: str = "cpu",
    nvidia_gpu: bool = False,
) -> dict[JobKind, Handler]:
    """Every kind's handler; `infer` only with models (ONNX Runtime installed)."""
    scorer = LibvmafScorer(ffmpeg, runner)
    predict = models.predict_features if models is not None else None
    handlers: dict[JobKind, Handler] = {
        JobKind.SCORE: ScoreHandler(
            scorer,
            results_dir,
            timeout_s=timeout_s,
            on_scored=on_scored,
            predict=predict,
            decode=decode,
            nvidia_gpu=nvidia_gpu,
        ),
        JobKind.ENCODE: EncodeHandler(
            ffmpeg.path, runner, verified, devices=devices, scorer=scorer, timeout_s=timeout_s
        ),
        JobKind.THUMBNAIL: ThumbnailHandler(ffmpeg.path, runner, timeout_s=timeout_s),
        JobKind.FILMSTRIP: FilmstripHandler(ffmpeg.path, runner, timeout_s=timeout_s),
        JobKind.HEALTH: HealthHandler(),
    }
    if models is not None:
        handlers[JobKind.INFER] = InferHandler(models)
    return handlers


def served_queues(handlers: Mapping[JobKind, Handler]) -> tuple[str, ...]:
    """The default queues of the kinds these handlers run (what "every queue" means for a node
    whose VMAFX_NODE_QUEUES is unset: it must never claim a job it has no handler for)."""
    queues: list[str] = []
    for kind in JobKind:
        if kind in handlers:
            queues.append(default_queue(kind))
            if kind is JobKind.ENCODE:
                queues += sorted(ENCODE_QUEUES - {default_queue(kind)})
    return tuple(queues)
