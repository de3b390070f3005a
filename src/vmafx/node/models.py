"""The node's served quality model: one `InferenceEngine` and the `ModelWatcher` that feeds it.

`start_models(settings)` loads ONNX Runtime once per process and follows the checkpoint folder
(`VMAFX_NODE_MODEL_DIR`, by default the trainer's default checkpoint folder) every
`VMAFX_NODE_MODEL_POLL_S` seconds; the watcher verifies SHA-256, never loads a quarantined or
unverified file, and falls back to the newest intact version when the policy's own is refused
(logged once: which version, why, and what is served instead). Without ONNX Runtime inference
is simply off (one log line).

`NodeModels.predict_features` gives a score job's prediction (None while no model is loaded, or
when the features cannot be scored: a prediction never fails a score). `NodeModels.infer` runs an
`infer` job's rows on the served version, or on another version the registry lists (verified,
never quarantined, loaded once and kept in a small cache); `latest-stable` and `latest` fall back
to the newest intact version as the watcher does, a pinned version never does.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vmafx.ai.hotswap import ModelWatcher
from vmafx.ai.inference import InferenceEngine, LoadedModel
from vmafx.ai.registry import parse_policy, read_registry
from vmafx.config import default_checkpoint_dir
from vmafx.core.features import FeatureVector
from vmafx.core.jobs import JsonObject
from vmafx.errors import MissingExtraError, ModelError, UsageError, VmafxError
from vmafx.node.settings import NodeSettings

log = logging.getLogger(__name__)

#: The name `infer` jobs use for the model the trainer publishes (the only one a node serves).
MODEL_NAME = "vmafx-tiny"
#: Versions other than the served one that `infer` jobs keep loaded.
CACHED_VERSIONS = 4


class NodeModels:
    """What the node serves: `engine` (hot-swapped by `watcher`) plus versions asked by name."""

    def __init__(self, engine: InferenceEngine, watcher: ModelWatcher) -> None:
        self.engine = engine
        self.watcher = watcher
        self._others: OrderedDict[int, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def directory(self) -> Path:
        return self.watcher.directory

    def start(self) -> NodeModels:
        self.watcher.start()
        return self

    def stop(self) -> None:
        self.watcher.stop()

    def predict_features(self, features: FeatureVector | None) -> JsonObject | None:
        """`{"score", "model_version"}` from the served model; None without a model or features."""
        if features is None or self.engine.current is None:
            return None
        try:
            prediction = self.engine.predict([list(features.values)])
        except (VmafxError, ValueError, RuntimeError) as error:
            log.warning("no prediction for a score: %s", error)
            return None
        score = float(prediction.scores[0])
        if not math.isfinite(score):
            return None
        return {"score": round(score, 4), "model_version": prediction.version}

    def infer(self, model: str, version: str | None, rows: Sequence[Sequence[float]]) -> JsonObject:
        """An `infer` job's predictions: `{model, model_version, predictions}`."""
        if model != MODEL_NAME:
            raise UsageError(
                f"this node serves the model {MODEL_NAME!r}, not {model!r}.",
                hint=f'Submit the infer job with "model": "{MODEL_NAME}".',
            )
        loaded = self._resolve(version)
        array = np.asarray(rows, dtype=np.float32)
        if array.ndim != 2 or array.shape[1] != loaded.n_features:
            raise UsageError(
                f"infer spec.rows have {array.shape[-1]} features each; model version "
                f"{loaded.version} takes {loaded.n_features} (feature vector v1).",
            )
        scores = loaded.predict(array)
        if not np.all(np.isfinite(scores)):
            raise ModelError(
                f"model version {loaded.version} predicted a non-finite score for these rows.",
                version=loaded.version,
            )
        return {
            "model": MODEL_NAME,
            "model_version": loaded.version,
            "predictions": [round(float(s), 6) for s in scores],
        }

    def _resolve(self, version: str | None) -> LoadedModel:
        served = self.engine.current
        if not version or not version.strip():
            if served is None:
                why = f": {self.watcher.problem}" if self.watcher.problem else ""
                raise ModelError(
                    f"this node has no model loaded yet{why}.",
                    hint=f"Wait for the trainer's next active checkpoint in {self.directory}.",
                )
            return served
        text = version.strip()
        policy = parse_policy(f"pinned:{text}" if text.isdigit() else text)
        registry = read_registry(self.directory)
        choices = registry.servable(policy) if registry else []
        if not choices:
            raise ModelError(
                f"no servable model version fits {text!r} in {self.directory} "
                "(a quarantined version is never served).",
                hint="See `vmafx models list`.",
            )
        refused: ModelError | None = None
        for target in choices:  # best first: a refused file falls back to the next one
            if served and (served.version, served.sha256) == (target.version, target.sha256):
                return served
            try:
                return self._other(target.version, target.file, target.sha256)
            except ModelError as error:
                refused = refused or error
        assert refused is not None
        raise refused

    def _other(self, version: int, file: str, sha256: str) -> LoadedModel:
        with self._lock:
            cached = self._others.get(version)
            if cached is not None and cached.sha256 == sha256:
                self._others.move_to_end(version)
                return cached
        loaded = self.engine.load(self.directory / file, sha256=sha256, version=version)
        with self._lock:
            self._others[version] = loaded
            while len(self._others) > CACHED_VERSIONS:
                self._others.popitem(last=False)
        return loaded


def model_folder(settings: NodeSettings) -> Path:
    """Where the node looks for checkpoints: `VMAFX_NODE_MODEL_DIR`, else the trainer's default."""
    return settings.model_dir or default_checkpoint_dir()


def start_models(settings: NodeSettings) -> NodeModels | None:
    """The node's models, following its model folder; None (logged once) without ONNX Runtime."""
    try:
        engine = InferenceEngine()
    except MissingExtraError:
        log.info("model inference is off: ONNX Runtime is not installed (pip install 'vmafx[ai]')")
        return None
    folder = model_folder(settings)
    watcher = ModelWatcher(
        engine, folder, policy=settings.model_policy, poll_interval_s=settings.model_poll_s
    )
    log.info("serving models from %s (policy %s)", folder, watcher.policy)
    return NodeModels(engine, watcher).start()
