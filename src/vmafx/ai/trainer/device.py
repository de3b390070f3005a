"""Where the trainer's model lives: the CPU, or CUDA with `VMAFX_SIDECAR_CUDA=1`.

The original sidecar's docs name `VMAFX_SIDECAR_CUDA=1`. vmafx keeps the model on the CPU unless
it is set; set, the model moves to `cuda:0` when `torch.cuda.is_available()`, and otherwise the
trainer says why in one WARNING line and trains on the CPU. (The model is a 80→64→1 MLP fed one
small batch per sample window: the device script measures whether CUDA helps at all.)

NEVER RUN ON A GPU YET: the CUDA branch is tested with a monkeypatched availability only.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import torch

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class TrainingDevice:
    device: torch.device
    #: One line for the log and `/status`: what was asked, what is used, and why.
    reason: str

    @property
    def name(self) -> str:
        return str(self.device)


def cpu_build_hint() -> str:
    version = str(torch.__version__)
    if "+cpu" in version or torch.version.cuda is None:
        return (
            f"this torch ({version}) is a CPU-only build; install a CUDA build of torch "
            "(https://pytorch.org/get-started/locally/) to train on the GPU"
        )
    return f"torch {version} (CUDA {torch.version.cuda}) finds no usable GPU or driver"


def training_device(
    want_cuda: bool, *, cuda_available: Callable[[], bool] = torch.cuda.is_available
) -> TrainingDevice:
    """`cuda:0` when asked for and available, else the CPU, with the reason either way."""
    if not want_cuda:
        return TrainingDevice(torch.device("cpu"), "cpu (VMAFX_SIDECAR_CUDA not set)")
    if cuda_available():
        name = _device_name()
        return TrainingDevice(torch.device("cuda", 0), f"cuda:0 ({name}), VMAFX_SIDECAR_CUDA=1")
    reason = f"cpu: VMAFX_SIDECAR_CUDA=1 but torch.cuda.is_available() is False: {cpu_build_hint()}"
    log.warning("trainer falls back to the CPU: %s", reason)
    return TrainingDevice(torch.device("cpu"), reason)


def _device_name() -> str:
    try:
        return str(torch.cuda.get_device_name(0))
    except Exception:  # a monkeypatched availability, or a driver that answers only in part
        return "unnamed GPU"
