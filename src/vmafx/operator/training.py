"""VmafxModelTraining → the trainer's settings, and the trainer's `GET /status` into `.status`.

The trainer sidecar reads `VMAFX_SIDECAR_*` (`vmafx.ai.trainer.settings`); the operator writes
them into the ConfigMap `vmafx-trainer-<nodePool>`, which the pool's trainer sidecar loads with
`envFrom` (a restart of the pods applies a change). The status comes from the first running pod
of the pool (label `vmafx.dev/pool`), at `http://<pod IP>:9475/status`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vmafx.errors import UsageError
from vmafx.operator.fields import POOL_LABEL

ALGORITHMS = ("online-sgd-ema",)
#: (spec section, field) → the trainer's environment variable.
SETTINGS = {
    (None, "baseModel"): "VMAFX_BASE_MODEL_PATH",
    ("checkpoint", "intervalSeconds"): "VMAFX_SIDECAR_CKPT_INTERVAL_S",
    ("checkpoint", "minSamples"): "VMAFX_SIDECAR_MIN_SAMPLES_CKPT",
    ("training", "batchSize"): "VMAFX_SIDECAR_BATCH_SIZE",
    ("training", "replayCapacity"): "VMAFX_SIDECAR_REPLAY_CAPACITY",
    ("training", "replayMix"): "VMAFX_SIDECAR_REPLAY_MIX",
    ("training", "learningRate"): "VMAFX_SIDECAR_LR",
    ("training", "emaDecay"): "VMAFX_SIDECAR_EMA_DECAY",
    ("gate", "plccDelta"): "VMAFX_SIDECAR_GATE_PLCC_DELTA",
    ("gate", "minSamples"): "VMAFX_SIDECAR_GATE_MIN_SAMPLES",
}
#: The trainer's /status keys mirrored into `.status`, with their names there.
MIRRORED = {
    "phase": "phase",
    "samples_trained": "samplesTrained",
    "step_count": "step",
    "last_loss": "lastLoss",
    "active_version": "activeVersion",
    "checkpoint_counter": "checkpointCounter",
}


def pool_of(spec: Mapping[str, Any]) -> str:
    pool = spec.get("nodePool")
    if not isinstance(pool, str) or not pool:
        raise UsageError("spec.nodePool is missing.", hint="Name the VmafxNode whose pods train.")
    return pool


def config_map_name(pool: str) -> str:
    return f"vmafx-trainer-{pool}"


def environment_of(spec: Mapping[str, Any]) -> dict[str, str]:
    """The VMAFX_SIDECAR_* variables a VmafxModelTraining's spec sets; UsageError if malformed."""
    algorithm = spec.get("algorithm") or ALGORITHMS[0]
    if algorithm not in ALGORITHMS:
        raise UsageError(
            f"spec.algorithm {algorithm!r} is not known.", hint=f"Use {', '.join(ALGORITHMS)}."
        )
    env: dict[str, str] = {}
    for (section, field), variable in SETTINGS.items():
        holder = spec if section is None else spec.get(section) or {}
        if not isinstance(holder, Mapping):
            raise UsageError(f"spec.{section} must be an object.")
        value = holder.get(field)
        if value is not None:
            env[variable] = str(value)
    return env


def config_map_of(training: str, namespace: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The ConfigMap holding the trainer settings of VmafxModelTraining `training`."""
    pool = pool_of(spec)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": config_map_name(pool),
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/name": "vmafx-trainer",
                POOL_LABEL: pool,
                "vmafx.dev/training": training,
            },
        },
        "data": environment_of(spec),
    }


def status_of(body: Mapping[str, Any]) -> dict[str, Any]:
    """The trainer's /status JSON as `.status` fields (absent keys left out)."""
    status = {name: body[key] for key, name in MIRRORED.items() if key in body}
    last = body.get("last_checkpoint")
    if isinstance(last, Mapping) and last.get("file"):
        status["lastCheckpoint"] = str(last["file"])
    return status


def status_url(pods: Sequence[Mapping[str, Any]], port: int) -> str | None:
    """`http://<IP>:<port>/status` of the first running pod (by name), None when none runs."""
    running = [
        pod for pod in pods
        if (pod.get("status") or {}).get("phase") == "Running" and pod["status"].get("podIP")
    ]  # fmt: skip
    if not running:
        return None
    first = min(running, key=lambda pod: str(pod["metadata"]["name"]))
    return f"http://{first['status']['podIP']}:{port}/status"
