"""VmafxModelTraining → the trainer's settings, and the trainer's `GET /status` into `.status`.

The trainer sidecar reads `VMAFX_SIDECAR_*` (vmafx.config.SidecarSettings); the operator writes
them into a ConfigMap the sidecar loads with `envFrom` (a restart of the pod applies them).
`spec.settings` names them in camelCase (`batchSize` → VMAFX_SIDECAR_BATCH_SIZE); an unknown
name is refused with the list of known ones.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from vmafx.config import SidecarSettings
from vmafx.errors import UsageError

#: Trainer settings a VmafxModelTraining may set (where the socket and checkpoints live is the
#: chart's business, not the training's).
SETTABLE = frozenset(f.name for f in dataclasses.fields(SidecarSettings)) - {
    "socket",
    "checkpoint_dir",
    "status_host",
    "status_port",
}
#: The trainer's /status keys mirrored into `.status`, with their camelCase names.
MIRRORED = {
    "phase": "phase",
    "step_count": "stepCount",
    "samples_trained": "samplesTrained",
    "last_loss": "lastLoss",
    "buffer_size": "bufferSize",
    "checkpoints_written": "checkpointsWritten",
    "active_version": "activeVersion",
    "samples_rejected": "samplesRejected",
    "uptime_s": "uptimeS",
}


def snake(name: str) -> str:
    """`batchSize` → `batch_size`, `ckptIntervalS` → `ckpt_interval_s`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def config_map_name(training: str, spec: Mapping[str, Any]) -> str:
    return str(spec.get("configMap") or f"{training}-trainer")


def environment_of(settings: Mapping[str, Any] | None) -> dict[str, str]:
    """`spec.settings` as the VMAFX_SIDECAR_* variables the trainer reads; UsageError if unknown."""
    env: dict[str, str] = {}
    for name, value in (settings or {}).items():
        key = snake(name)
        if key not in SETTABLE:
            known = ", ".join(sorted(re.sub(r"_(.)", lambda m: m[1].upper(), k) for k in SETTABLE))
            raise UsageError(
                f"spec.settings.{name} is not a trainer setting.", hint=f"Known: {known}."
            )
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        name_of = (
            "VMAFX_BASE_MODEL_PATH" if key == "base_model_path" else f"VMAFX_SIDECAR_{key.upper()}"
        )
        env[name_of] = text
    return env


def config_map_of(training: str, namespace: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The ConfigMap holding the trainer settings of VmafxModelTraining `training`."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": config_map_name(training, spec),
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": "vmafx-trainer", "vmafx.dev/training": training},
        },
        "data": environment_of(spec.get("settings")),
    }


def status_of(body: Mapping[str, Any]) -> dict[str, Any]:
    """The trainer's /status JSON as `.status` fields (camelCase; absent keys left out)."""
    return {camel: body[key] for key, camel in MIRRORED.items() if key in body}
