"""In-process inference with ONNX Runtime: one session per model version, created once.

The execution provider is chosen from what the installed ONNX Runtime offers, in the order
CUDA, ROCm, OpenVINO, CPU (the CPU provider is always last as the fallback). Only the CPU
provider has run on vmafx's development and CI machines; the GPU ones are unverified here.

`InferenceEngine.predict` reads the current model once and runs on it, so a swap
(`install`) never disturbs a call in flight: that call finishes on the old session, which is
freed when its last caller returns.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from vmafx.ai.checkpoints import read_verified, sha256_hex
from vmafx.errors import MissingExtraError, ModelError, UsageError

log = logging.getLogger(__name__)

PROVIDER_PREFERENCE: tuple[str, ...] = (
    "CUDAExecutionProvider",
    "ROCMExecutionProvider",
    "OpenVINOExecutionProvider",
    "CPUExecutionProvider",
)


def onnxruntime() -> ModuleType:
    """The onnxruntime module, or MissingExtraError with the install command."""
    try:
        return importlib.import_module("onnxruntime")
    except ImportError:
        raise MissingExtraError(
            "ONNX Runtime is not installed; in-process inference needs it.",
            extra="ai",
            command="pip install 'vmafx[ai]'",
        ) from None


def choose_providers(available: Sequence[str], prefer: Sequence[str] | None = None) -> list[str]:
    """The providers to ask for, best first, always ending with the CPU provider.

    `prefer` (e.g. `["CPUExecutionProvider"]`) restricts and orders the choice; a preferred
    provider that is not installed is skipped.
    """
    order = list(prefer) if prefer else list(PROVIDER_PREFERENCE)
    chosen = [p for p in order if p in available and p != "CPUExecutionProvider"]
    return [*chosen, "CPUExecutionProvider"]


def cuda_provider_note(available: Sequence[str]) -> str | None:
    """None when ONNX Runtime's CUDA provider is installed; else which package would bring it."""
    if "CUDAExecutionProvider" in available:
        return None
    return (
        "ONNX Runtime's CUDAExecutionProvider is not installed (this onnxruntime offers "
        f"{', '.join(available) or 'no provider'}); the onnxruntime-gpu package provides it "
        "(install it in place of onnxruntime, with a CUDA toolkit and cuDNN it was built for)"
    )


@dataclasses.dataclass(frozen=True, eq=False)
class LoadedModel:
    """A verified model with its ONNX Runtime session (thread-safe for concurrent `run`)."""

    version: int | None
    path: str
    sha256: str
    n_features: int
    providers: tuple[str, ...]
    session: Any
    input_name: str

    def predict(self, rows: np.ndarray) -> np.ndarray:
        out = self.session.run(None, {self.input_name: rows})[0]
        return np.asarray(out, dtype=np.float32).reshape(-1)


@dataclasses.dataclass(frozen=True)
class Prediction:
    scores: np.ndarray
    version: int | None


def _check_signature(session: Any, n_features: int, where: str) -> str:
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or not outputs:
        raise ModelError(f"{where} has {len(inputs)} inputs; a vmafx model has one (features).")
    shape = list(inputs[0].shape)
    if len(shape) != 2 or shape[1] != n_features:
        raise ModelError(
            f"{where} takes input of shape {shape}; the feature schema has {n_features} "
            "features, so it must be (batch, " + str(n_features) + ").",
            hint="It was trained for another feature schema; it will not be served.",
        )
    return str(inputs[0].name)


def load_model(
    data: bytes,
    *,
    n_features: int,
    providers: Sequence[str],
    threads: int = 1,
    path: str = "",
    version: int | None = None,
) -> LoadedModel:
    """A session for the ONNX bytes `data`; ModelError if they do not load or do not fit."""
    ort = onnxruntime()
    where = f"The model {Path(path).name or '(in memory)'}"
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(data, sess_options=options, providers=list(providers))
    except Exception as exc:  # ONNX Runtime raises its own untyped errors for corrupt files
        raise ModelError(
            f"{where} is not a loadable ONNX model: {str(exc).splitlines()[0][:200]}",
            path=path,
            version=version,
        ) from None
    input_name = _check_signature(session, n_features, where)
    model = LoadedModel(
        version,
        path,
        sha256_hex(data),
        n_features,
        tuple(session.get_providers()),
        session,
        input_name,
    )
    try:
        probe = model.predict(np.zeros((2, n_features), dtype=np.float32))
    except Exception as exc:  # e.g. a fixed batch size of 1
        raise ModelError(
            f"{where} fails on a batch of 2 rows: {str(exc).splitlines()[0][:200]}",
            hint="A vmafx model takes a dynamic batch: input (batch, n).",
        ) from None
    if probe.shape != (2,):
        raise ModelError(
            f"{where} returns {probe.shape[0]} values for 2 rows; expected (batch, 1)."
        )
    return model


class InferenceEngine:
    """The process's served model: `predict` on the current one, `install` to swap atomically."""

    def __init__(
        self,
        *,
        n_features: int = 80,
        providers: Sequence[str] | None = None,
        threads: int = 1,
    ) -> None:
        ort = onnxruntime()
        self.n_features = n_features
        available = list(ort.get_available_providers())
        self.providers = choose_providers(available, providers)
        note = cuda_provider_note(available)
        log.info(
            "inference providers chosen",
            extra={"providers": self.providers, **({"cuda": note} if note else {})},
        )
        self.threads = threads
        self._current: LoadedModel | None = None
        self._lock = threading.Lock()
        self._swaps = 0

    def load(
        self, path: Path, *, sha256: str | None = None, version: int | None = None
    ) -> LoadedModel:
        """Verify (SHA-256 against the digest file and `sha256`) and load; does not install."""
        data = read_verified(path, sha256)
        return load_model(
            data,
            n_features=self.n_features,
            providers=self.providers,
            threads=self.threads,
            path=str(path),
            version=version,
        )

    def install(self, model: LoadedModel) -> None:
        """Serve `model` from now on; calls already running finish on the previous one."""
        if model.n_features != self.n_features:
            raise ModelError(
                f"The model takes {model.n_features} features; "
                f"this engine serves {self.n_features}."
            )
        with self._lock:
            previous = self._current
            self._current = model
            self._swaps += 1
        log.info(
            "model swapped",
            extra={
                "from_version": previous.version if previous else None,
                "to_version": model.version,
            },
        )

    def clear(self) -> None:
        """Serve nothing (predictions absent) until the next `install`; calls in flight finish."""
        with self._lock:
            previous, self._current = self._current, None
        if previous is not None:
            log.info("model unloaded", extra={"from_version": previous.version})

    @property
    def current(self) -> LoadedModel | None:
        return self._current

    @property
    def version(self) -> int | None:
        model = self._current
        return model.version if model else None

    @property
    def swaps_total(self) -> int:
        """Models installed so far (the first load counts): `vmafx_model_swaps_total`."""
        return self._swaps

    def predict(self, rows: np.ndarray | Sequence[Sequence[float]]) -> Prediction:
        """Scores for feature rows (batch, n) or one row (n,), with the version that made them."""
        model = self._current
        if model is None:
            raise ModelError("No model is loaded yet.", hint="Wait for the first checkpoint.")
        array = np.asarray(rows, dtype=np.float32)
        if array.ndim == 1:
            array = array.reshape(1, -1)
        if array.ndim != 2 or array.shape[1] != self.n_features:
            raise UsageError(
                f"Feature rows of shape {list(array.shape)} do not fit the model, which takes "
                f"(batch, {self.n_features})."
            )
        return Prediction(model.predict(array), model.version)
