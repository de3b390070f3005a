"""VmafxNode → the node pool's Deployment (pure manifest)."""

from __future__ import annotations

from typing import Any

import pytest

from vmafx.errors import UsageError
from vmafx.operator.nodes import deployment_of, gpu_resource, phase_of

CONTROLLER = {"address": "vmafx-controller:9090", "tokenSecretRef": {"name": "node-token"}}


def pool(**spec: Any) -> dict[str, Any]:
    return {"image": "ghcr.io/vmafx/vmafx-node:0.1.0", "controller": CONTROLLER, **spec}


def env_of(deployment: dict[str, Any]) -> dict[str, Any]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


@pytest.mark.parametrize(
    ("vendor", "key"),
    [("nvidia", "nvidia.com/gpu"), ("amd", "amd.com/gpu"), ("intel", "gpu.intel.com/i915")],
)
def test_each_gpu_vendor_asks_for_its_device_plugin_resource(vendor: str, key: str) -> None:
    deployment = deployment_of("pool", "media", pool(gpuVendor=vendor, gpusPerPod=2))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"] == {key: 2}
    assert gpu_resource({"gpuVendor": vendor}) == (key, 1)


def test_a_cpu_pool_asks_for_no_gpu() -> None:
    deployment = deployment_of("cpu", "media", pool(gpuVendor="cpu", queues=["score"]))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {}
    assert gpu_resource({"gpuVendor": "nvidia", "gpusPerPod": 0}) == (None, 0)


def test_queues_concurrency_labels_drain_token_and_ca_reach_the_node() -> None:
    spec = pool(
        gpuVendor="nvidia",
        controller={**CONTROLLER, "caSecretRef": {"name": "farm-ca"}},
        queues=["encode", "score"],
        concurrency={"encode": 2, "score": 1},
        labels={"tier": "heavy", "site": "zampp2"},
        drainTimeoutSeconds=60,
        nodeSelector={"nvidia.com/gpu.product": "NVIDIA-L4"},
        tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists"}],
        resources={"requests": {"cpu": "2"}},
    )
    deployment = deployment_of("l4", "media", spec)
    env = env_of(deployment)
    assert env["VMAFX_CONTROLLER_ADDR"] == "vmafx-controller:9090"
    assert env["VMAFX_NODE_QUEUES"] == "encode,score"
    assert env["VMAFX_NODE_CONCURRENCY"] == "encode=2,score=1"
    assert env["VMAFX_NODE_LABELS"] == "tier=heavy,site=zampp2"
    assert env["VMAFX_NODE_DRAIN_TIMEOUT_S"] == "60"
    assert env["VMAFX_NODE_TOKEN_FILE"] == "/var/run/vmafx/token/token"
    assert env["VMAFX_NODE_CA"] == "/var/run/vmafx/ca/ca.crt"
    pod = deployment["spec"]["template"]["spec"]
    secrets = {v["name"]: v["secret"] for v in pod["volumes"]}
    assert secrets["token"] == {
        "secretName": "node-token",
        "items": [{"key": "token", "path": "token"}],
    }
    assert secrets["ca"] == {
        "secretName": "farm-ca",
        "items": [{"key": "ca.crt", "path": "ca.crt"}],
    }
    assert pod["terminationGracePeriodSeconds"] == 75
    assert pod["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-L4"}
    container = pod["containers"][0]
    assert container["resources"] == {"requests": {"cpu": "2"}, "limits": {"nvidia.com/gpu": 1}}
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector["vmafx.dev/pool"] == "l4"
    assert deployment["spec"]["template"]["metadata"]["labels"] == selector
    assert deployment["metadata"] == {
        "name": "vmafx-node-l4",
        "namespace": "media",
        "labels": selector,
    }


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (pool(gpuVendor="matrox"), "spec.gpuVendor 'matrox' is not known"),
        (pool(gpusPerPod=-1), "spec.gpusPerPod must be a whole number"),
        (pool(queues="encode"), "spec.queues must be a list"),
        (pool(concurrency="encode=2"), "spec.concurrency must be an object"),
        (
            pool(controller={"address": "c:9090", "tokenSecretRef": {"key": "t"}}),
            "spec.controller.tokenSecretRef needs a name",
        ),
        ({"image": "x"}, "spec.controller.address is missing"),
        (pool(drainTimeoutSeconds="soon"), "spec.drainTimeoutSeconds must be a whole number"),
    ],
)
def test_a_malformed_pool_is_refused_with_the_field_named(
    spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        deployment_of("pool", "media", spec)


def test_a_pool_is_ready_once_every_wanted_pod_is() -> None:
    assert phase_of({"spec": {"replicas": 3}}) == ("Progressing", 0)
    assert phase_of({"spec": {"replicas": 3}, "status": {"readyReplicas": 3}}) == ("Ready", 3)
