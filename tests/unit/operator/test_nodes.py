"""VmafxNode → the node pool's Deployment (pure manifest)."""

from __future__ import annotations

from typing import Any

import pytest

from vmafx.errors import UsageError
from vmafx.operator.nodes import deployment_of, gpu_resource


def env_of(deployment: dict[str, Any]) -> dict[str, Any]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


@pytest.mark.parametrize(
    ("vendor", "key"),
    [("nvidia", "nvidia.com/gpu"), ("amd", "amd.com/gpu"), ("intel", "gpu.intel.com/i915")],
)
def test_each_gpu_vendor_asks_for_its_device_plugin_resource(vendor: str, key: str) -> None:
    deployment = deployment_of("pool", "media", {"gpu": {"vendor": vendor, "count": 2}})
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"] == {key: 2}
    assert gpu_resource({"vendor": vendor}) == (key, 1)


def test_a_cpu_pool_asks_for_no_gpu() -> None:
    deployment = deployment_of("cpu", "media", {"queues": ["score"]})
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {} and gpu_resource(None) == (None, 0)


def test_queues_concurrency_labels_pin_and_token_reach_the_node_s_environment() -> None:
    spec = {
        "controller": "vmafx-controller:9090",
        "queues": ["encode", "score"],
        "concurrency": {"encode": 2, "score": 1},
        "labels": {"tier": "heavy", "site": "zampp2"},
        "slots": 3,
        "gpu": {"vendor": "nvidia", "pin": "GPU-6f1c2a3b"},
        "tokenSecret": {"name": "node-token"},
        "nodeSelector": {"gpu": "l4"},
        "tolerations": [{"key": "gpu", "operator": "Exists"}],
    }
    deployment = deployment_of("l4", "media", spec)
    env = env_of(deployment)
    assert env["VMAFX_CONTROLLER_ADDR"] == "vmafx-controller:9090"
    assert env["VMAFX_NODE_QUEUES"] == "encode,score"
    assert env["VMAFX_NODE_CONCURRENCY"] == "encode=2,score=1"
    assert env["VMAFX_NODE_LABELS"] == "tier=heavy,site=zampp2"
    assert env["VMAFX_NODE_SLOTS"] == "3" and env["VMAFX_NODE_GPU"] == "GPU-6f1c2a3b"
    assert env["VMAFX_NODE_TOKEN_FILE"] == "/var/run/vmafx/token"
    pod = deployment["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "token", "secret": {"secretName": "node-token",
                               "items": [{"key": "token", "path": "token"}]}}]  # fmt: skip
    assert pod["nodeSelector"] == {"gpu": "l4"} and pod["tolerations"][0]["key"] == "gpu"
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert deployment["spec"]["template"]["metadata"]["labels"] == selector
    assert deployment["metadata"] == {
        "name": "vmafx-node-l4",
        "namespace": "media",
        "labels": selector,
    }


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"gpu": {"vendor": "matrox"}}, "spec.gpu.vendor 'matrox' is not known"),
        ({"gpu": {"vendor": "nvidia", "count": 0}}, "spec.gpu.count must be a whole number"),
        ({"queues": "encode"}, "spec.queues must be a list"),
        ({"concurrency": "encode=2"}, "spec.concurrency must be an object"),
        ({"tokenSecret": {"key": "t"}}, "spec.tokenSecret needs a name"),
    ],
)
def test_a_malformed_pool_is_refused_with_the_field_named(
    spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        deployment_of("pool", "media", spec)
