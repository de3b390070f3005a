"""The trainer sidecar (`vmafx trainer`): online fine-tuning of a tiny quality model.

    settings.py   SidecarSettings and its loader (every VMAFX_SIDECAR_* of DESIGN.md §6)
    replay.py     replay buffer, pending queue, batch composition (pure Python + numpy)
    model.py      the MLP (torch), EMA update, base-model loading, weights as numpy arrays
    export.py     ONNX opset 17 graph of the weights (onnx.helper), atomic checkpoint files
    learner.py    SGD with momentum on mixed batches, EMA shadow, the checkpoint rule
    gate.py       held-out set drawn from the stream; PLCC/SROCC/RMSE; quarantine rule
    service.py    one line in → one ack out; publishing checkpoints to the registry
    server.py     the Unix socket (lock, stale socket, line limits, idle clients)
    status.py     `GET /status` on a small HTTP listener
    app.py        builds and runs all of it from settings

torch is imported only by model.py and learner.py (and what imports them); call
`require_torch()` before importing those, so a missing extra fails with the install command.
"""

from __future__ import annotations

import importlib.util

from vmafx.errors import MissingExtraError

INSTALL_COMMAND = "pip install 'vmafx[train]'"


def require_torch() -> None:
    """Raise MissingExtraError (with the exact install command) unless torch and onnx import."""
    missing = [m for m in ("torch", "onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingExtraError(
            f"The trainer needs {', '.join(missing)}, which is not installed.",
            extra="train",
            command=INSTALL_COMMAND,
        )
