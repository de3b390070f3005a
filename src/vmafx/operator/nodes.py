"""VmafxNode → the Deployment of a node pool: `vmafx node` with the pool's queues, concurrency,
labels, GPUs (the device-plugin resource of its vendor) and the token from a Secret.

Pure: `deployment_of` builds the manifest; the handler creates or patches it and owns it (so
deleting the VmafxNode deletes the Deployment through Kubernetes' garbage collector).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vmafx.errors import UsageError
from vmafx.operator.fields import GPU_RESOURCES

DEFAULT_IMAGE = "ghcr.io/vmafx/vmafx-node:latest"
TOKEN_PATH = "/var/run/vmafx/token"  # noqa: S105 (where the Secret is mounted)


def gpu_resource(gpu: Mapping[str, Any] | None) -> tuple[str | None, int]:
    """The device-plugin resource key and count a pool's `gpu` asks for (None, 0: no GPU)."""
    vendor = str((gpu or {}).get("vendor") or "none").lower()
    if vendor in ("none", "cpu"):
        return None, 0
    key = GPU_RESOURCES.get(vendor)
    if key is None:
        raise UsageError(
            f"spec.gpu.vendor {vendor!r} is not known.",
            hint=f"Use one of: {', '.join(sorted(GPU_RESOURCES))}, or none.",
        )
    count = (gpu or {}).get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise UsageError(f"spec.gpu.count must be a whole number ≥ 1, got {count!r}.")
    return key, count


def _pairs(raw: Any, field: str) -> str:
    if not raw:
        return ""
    if not isinstance(raw, Mapping):
        raise UsageError(f"spec.{field} must be an object, e.g. {{encode: 2}}.")
    return ",".join(f"{key}={value}" for key, value in raw.items())


def _env(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    queues = spec.get("queues") or []
    if not isinstance(queues, list) or not all(isinstance(q, str) for q in queues):
        raise UsageError("spec.queues must be a list of queue names, e.g. [encode, score].")
    env: list[dict[str, Any]] = [
        {"name": "VMAFX_CONTROLLER_ADDR", "value": str(spec.get("controller") or "")},
        {"name": "VMAFX_NODE_QUEUES", "value": ",".join(queues)},
        {"name": "VMAFX_NODE_CONCURRENCY", "value": _pairs(spec.get("concurrency"), "concurrency")},
        {"name": "VMAFX_NODE_LABELS", "value": _pairs(spec.get("labels"), "labels")},
        {"name": "VMAFX_NODE_HTTP_LISTEN", "value": "0.0.0.0:9091"},
        {"name": "VMAFX_NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    if spec.get("slots") is not None:
        env.append({"name": "VMAFX_NODE_SLOTS", "value": str(spec["slots"])})
    pin = (spec.get("gpu") or {}).get("pin")
    if pin:
        env.append({"name": "VMAFX_NODE_GPU", "value": str(pin)})
    if spec.get("tokenSecret"):
        env.append({"name": "VMAFX_NODE_TOKEN_FILE", "value": TOKEN_PATH})
    env.extend(spec.get("env") or [])
    return env


def _token_volume(spec: Mapping[str, Any]) -> tuple[list[Any], list[Any]]:
    secret = spec.get("tokenSecret")
    if not secret:
        return [], []
    if not isinstance(secret, Mapping) or not secret.get("name"):
        raise UsageError("spec.tokenSecret needs a name (and optionally a key, default `token`).")
    key = secret.get("key") or "token"
    volume = {
        "name": "token",
        "secret": {"secretName": secret["name"], "items": [{"key": key, "path": "token"}]},
    }
    mount = {"name": "token", "mountPath": TOKEN_PATH.rsplit("/", 1)[0], "readOnly": True}
    return [volume], [mount]


def deployment_name(pool: str) -> str:
    return f"vmafx-node-{pool}"


def deployment_of(pool: str, namespace: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The Deployment running the pool `pool` as `spec` describes it; UsageError if malformed."""
    key, count = gpu_resource(spec.get("gpu"))
    resources: dict[str, Any] = {k: dict(v) for k, v in (spec.get("resources") or {}).items()}
    if key is not None:
        resources.setdefault("limits", {})[key] = count
    volumes, mounts = _token_volume(spec)
    selector = {"app.kubernetes.io/name": "vmafx-node", "vmafx.dev/pool": pool}
    container = {
        "name": "node",
        "image": spec.get("image") or DEFAULT_IMAGE,
        "args": ["node"],
        "env": _env(spec),
        "ports": [{"name": "http", "containerPort": 9091}],
        "resources": resources,
        "volumeMounts": mounts,
        "livenessProbe": {"httpGet": {"path": "/livez", "port": "http"}},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}},
        "securityContext": {
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
        },
    }
    pod_spec: dict[str, Any] = {
        "containers": [container],
        "volumes": volumes,
        # A draining node finishes or hands back its jobs within VMAFX_NODE_DRAIN_TIMEOUT_S (30 s).
        "terminationGracePeriodSeconds": 45,
    }
    if spec.get("nodeSelector"):
        pod_spec["nodeSelector"] = dict(spec["nodeSelector"])
    if spec.get("tolerations"):
        pod_spec["tolerations"] = list(spec["tolerations"])
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": deployment_name(pool), "namespace": namespace, "labels": selector},
        "spec": {
            "replicas": int(spec.get("replicas", 1)),
            "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": selector}, "spec": pod_spec},
        },
    }
