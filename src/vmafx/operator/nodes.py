"""VmafxNode → the Deployment of a node pool: `vmafx node` with the pool's queues, concurrency,
labels, GPUs (the device-plugin resource of its vendor) and the token from a Secret.

Pure: `deployment_of` builds the manifest; the handler creates or patches it and owns it (so
deleting the VmafxNode deletes the Deployment through Kubernetes' garbage collector).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vmafx.errors import UsageError
from vmafx.operator.fields import GPU_RESOURCES, POOL_LABEL

DEFAULT_IMAGE = "ghcr.io/vmafx/vmafx-node:latest"
SECRETS = "/var/run/vmafx"
DEFAULT_DRAIN_S = 30


def gpu_resource(spec: Mapping[str, Any]) -> tuple[str | None, int]:
    """The device-plugin resource key and count a pool asks for (None, 0: a CPU pool)."""
    vendor = str(spec.get("gpuVendor") or "cpu").lower()
    count = spec.get("gpusPerPod", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise UsageError(f"spec.gpusPerPod must be a whole number ≥ 0, got {count!r}.")
    if vendor == "cpu" or count == 0:
        return None, 0
    key = GPU_RESOURCES.get(vendor)
    if key is None:
        raise UsageError(
            f"spec.gpuVendor {vendor!r} is not known.",
            hint=f"Use one of: {', '.join(sorted(GPU_RESOURCES))}, or cpu.",
        )
    return key, count


def _pairs(raw: Any, field: str) -> str:
    if not raw:
        return ""
    if not isinstance(raw, Mapping):
        raise UsageError(f"spec.{field} must be an object, e.g. {{encode: 2}}.")
    return ",".join(f"{key}={value}" for key, value in raw.items())


def _secret(controller: Mapping[str, Any], field: str, key: str) -> tuple[str, str] | None:
    """(Secret name, key) of `controller.<field>`, None when absent."""
    ref = controller.get(field)
    if not ref:
        return None
    if not isinstance(ref, Mapping) or not ref.get("name"):
        raise UsageError(f"spec.controller.{field} needs a name (and optionally a key).")
    return str(ref["name"]), str(ref.get("key") or key)


def _controller(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    controller = spec.get("controller") or {}
    if not isinstance(controller, Mapping) or not controller.get("address"):
        raise UsageError(
            "spec.controller.address is missing.",
            hint="Set it to the controller's gRPC HOST:PORT, e.g. vmafx-controller:9090.",
        )
    return controller


def _env(spec: Mapping[str, Any], controller: Mapping[str, Any]) -> list[dict[str, Any]]:
    queues = spec.get("queues") or []
    if not isinstance(queues, list) or not all(isinstance(q, str) for q in queues):
        raise UsageError("spec.queues must be a list of queue names, e.g. [encode, score].")
    env: list[dict[str, Any]] = [
        {"name": "VMAFX_CONTROLLER_ADDR", "value": str(controller["address"])},
        {"name": "VMAFX_NODE_QUEUES", "value": ",".join(queues)},
        {"name": "VMAFX_NODE_CONCURRENCY", "value": _pairs(spec.get("concurrency"), "concurrency")},
        {"name": "VMAFX_NODE_LABELS", "value": _pairs(spec.get("labels"), "labels")},
        {"name": "VMAFX_NODE_HTTP_LISTEN", "value": "0.0.0.0:9091"},
        {"name": "VMAFX_NODE_DRAIN_TIMEOUT_S", "value": str(_drain_s(spec))},
        {"name": "VMAFX_NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    if _secret(controller, "tokenSecretRef", "token"):
        env.append({"name": "VMAFX_NODE_TOKEN_FILE", "value": f"{SECRETS}/token/token"})
    if _secret(controller, "caSecretRef", "ca.crt"):
        env.append({"name": "VMAFX_NODE_CA", "value": f"{SECRETS}/ca/ca.crt"})
    return env


def _drain_s(spec: Mapping[str, Any]) -> int:
    drain = spec.get("drainTimeoutSeconds", DEFAULT_DRAIN_S)
    if not isinstance(drain, int) or isinstance(drain, bool) or drain < 0:
        raise UsageError(f"spec.drainTimeoutSeconds must be a whole number ≥ 0, got {drain!r}.")
    return drain


def _secret_volumes(controller: Mapping[str, Any]) -> tuple[list[Any], list[Any]]:
    volumes: list[Any] = []
    mounts: list[Any] = []
    for field, name, key in (("tokenSecretRef", "token", "token"), ("caSecretRef", "ca", "ca.crt")):
        ref = _secret(controller, field, key)
        if ref is None:
            continue
        secret = {"secretName": ref[0], "items": [{"key": ref[1], "path": key}]}
        volumes.append({"name": name, "secret": secret})
        mounts.append({"name": name, "mountPath": f"{SECRETS}/{name}", "readOnly": True})
    return volumes, mounts


def deployment_name(pool: str) -> str:
    return f"vmafx-node-{pool}"


def deployment_of(pool: str, namespace: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The Deployment running the pool `pool` as `spec` describes it; UsageError if malformed."""
    key, count = gpu_resource(spec)
    controller = _controller(spec)
    resources: dict[str, Any] = {k: dict(v) for k, v in (spec.get("resources") or {}).items()}
    if key is not None:
        resources.setdefault("limits", {})[key] = count
    volumes, mounts = _secret_volumes(controller)
    selector = {"app.kubernetes.io/name": "vmafx-node", POOL_LABEL: pool}
    container = {
        "name": "node",
        "image": spec.get("image") or DEFAULT_IMAGE,
        "args": ["node"],
        "env": _env(spec, controller),
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
        # A draining node finishes or hands back its jobs within drainTimeoutSeconds.
        "terminationGracePeriodSeconds": _drain_s(spec) + 15,
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


def phase_of(deployment: Mapping[str, Any]) -> tuple[str, int]:
    """`Ready` once every wanted pod is ready, else `Progressing`; and the ready count."""
    wanted = int((deployment.get("spec") or {}).get("replicas", 1))
    ready = int((deployment.get("status") or {}).get("readyReplicas") or 0)
    return ("Ready" if ready >= wanted else "Progressing"), ready
