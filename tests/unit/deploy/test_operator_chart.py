"""The chart's `vmafx operator` (operator.enabled), rendered by the real Helm engine: its service
account is the one its pod runs as (with the API token mounted, unlike every other vmafx pod),
its RBAC grants exactly what the operator's code calls (its three custom resources and their
status, the Deployments and ConfigMaps it applies, the pods it lists, Events) in the namespaces
it watches, or cluster-wide when it watches them all, and never a wildcard or Secrets; its
command line is one `vmafx operator` accepts, dialling the controller the nodes dial.

The RBAC was never checked by a real API server here (no kube-apiserver runs on these machines);
every manifest passes the Kubernetes schemas in test_chart.py's matrix.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.deploy.chartrender import (
    NAMESPACE,
    RELEASE,
    Rendered,
    container,
    env,
    pod_spec,
    render,
    render_file,
)
from tests.unit.deploy.deploytools import command_problems, require_deploy_extra

from vmafx.operator.fields import GROUP, JOBS, NODES, TRAININGS

OPERATOR = f"{RELEASE}-operator"
#: (ci values file, the namespaces its operator watches; empty: the whole cluster).
CASES = [
    ("postgresql-gpus-values.yaml", ["media", "studio"]),
    ("sqlite-nvidia-trainer-values.yaml", []),
]


@pytest.fixture(autouse=True)
def _helm() -> None:
    require_deploy_extra("helm_python", "kubernetes_validate")


def required() -> set[tuple[str, str, str]]:
    """(API group, resource, verb) for every call the operator's code makes."""
    pytest.importorskip("kopf")
    from vmafx.operator.kube import _PLURALS  # the objects `KubeApi.apply` writes

    needed = {(GROUP, plural, verb) for plural in (JOBS, NODES, TRAININGS)
              for verb in ("get", "list", "watch", "patch")}  # fmt: skip
    needed |= {(GROUP, f"{plural}/status", verb) for plural in (JOBS, NODES, TRAININGS)
               for verb in ("get", "patch")}  # fmt: skip
    for (api, _kind), plural in _PLURALS.items():
        group = api.rpartition("/")[0]
        needed |= {(group, plural, verb) for verb in ("get", "create", "patch")}
    needed.add(("", "pods", "list"))  # KubeApi.pods: the trainer pods' /status
    needed |= {("", "events", "create"), ("events.k8s.io", "events", "create")}
    return needed


def grants(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def bound_rules(r: Rendered, namespace: str | None) -> list[dict[str, Any]]:
    """The rules bound to the operator's service account in `namespace` (None: cluster-wide),
    discovery reads left out."""
    subject = {"kind": "ServiceAccount", "name": OPERATOR, "namespace": NAMESPACE}
    if namespace is None:
        bindings, kind = r.all("ClusterRoleBinding"), "ClusterRole"
    else:
        bindings = [b for b in r.all("RoleBinding") if b["metadata"]["namespace"] == namespace]
        kind = "Role"
    rules: list[dict[str, Any]] = []
    for binding in bindings:
        if subject not in binding["subjects"] or binding["roleRef"]["name"].endswith("-discovery"):
            continue
        assert binding["roleRef"]["kind"] == kind
        roles = [
            role
            for role in r.all(kind)
            if role["metadata"]["name"] == binding["roleRef"]["name"]
            and role["metadata"].get("namespace") == namespace
        ]
        (role,) = roles
        rules += role["rules"]
    return rules


@pytest.mark.parametrize(("name", "namespaces"), CASES)
def test_the_operator_is_granted_exactly_what_its_code_calls_where_it_watches(
    name: str, namespaces: list[str]
) -> None:
    r = render_file(name)
    assert r.values["operator"]["namespaces"] == namespaces
    needed = required()
    if namespaces:
        for namespace in namespaces:
            assert grants(bound_rules(r, namespace)) == needed, namespace
        assert bound_rules(r, None) == [], "a namespaced operator has no cluster-wide grants"
        assert {b["metadata"]["namespace"] for b in r.all("RoleBinding")} == set(namespaces)
    else:
        assert grants(bound_rules(r, None)) == needed
        assert r.all("Role") == [] and r.all("RoleBinding") == []
    every_rule = [rule for kind in ("Role", "ClusterRole") for role in r.all(kind)
                  for rule in role["rules"]]  # fmt: skip
    for rule in every_rule:
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], rule
        assert "secrets" not in rule["resources"], rule
        assert not {"delete", "deletecollection", "escalate", "bind"} & set(rule["verbs"]), rule


@pytest.mark.parametrize(("name", "namespaces"), CASES)
def test_the_operator_pod_runs_as_its_account_and_dials_the_controller_the_nodes_dial(
    name: str, namespaces: list[str]
) -> None:
    r = render_file(name)
    (account,) = [a for a in r.all("ServiceAccount") if a["metadata"]["name"] == OPERATOR]
    deployment = r.one("Deployment", OPERATOR)
    spec = pod_spec(deployment)
    assert spec["serviceAccountName"] == account["metadata"]["name"]
    assert spec["automountServiceAccountToken"] is True  # it calls the Kubernetes API
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"  # kopf standalone: never two
    operator = container(deployment, "operator")
    argv = operator["command"]
    assert command_problems(argv) == []
    assert argv[:2] == ["vmafx", "operator"]
    options = dict(zip(argv[2::2], argv[3::2], strict=True))
    _, node_deployment = r.pools()[0]
    node_env = env(container(node_deployment, "node"))
    assert options["--controller"] == node_env["VMAFX_NODE_CONTROLLER"]
    assert [value for flag, value in zip(argv[2::2], argv[3::2], strict=True)
            if flag == "--namespace"] == namespaces  # fmt: skip
    if r.values["controller"]["tls"]["caSecretName"]:
        assert options["--ca"] == node_env["VMAFX_NODE_CA"]
    else:
        assert "--ca" not in options
    token_dir = options["--token-file"].rpartition("/")[0]
    (mount,) = [m for m in operator["volumeMounts"] if m["mountPath"] == token_dir]
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    assert volume["secret"]["secretName"] == r.values["operator"]["token"]["existingSecret"]
    liveness = options["--liveness"]
    port = operator["livenessProbe"]["httpGet"]["port"]
    (declared,) = [p for p in operator["ports"] if p["name"] == port]
    assert liveness == f"http://0.0.0.0:{declared['containerPort']}/healthz"


def test_the_operator_may_dial_the_controller_through_the_network_policy() -> None:
    r = render_file("postgresql-gpus-values.yaml")
    assert r.values["networkPolicy"]["enabled"]
    policy = r.one("NetworkPolicy", f"{RELEASE}-controller")
    operator_labels = r.one("Deployment", OPERATOR)["spec"]["template"]["metadata"]["labels"]
    allowed = [
        rule
        for rule in policy["spec"]["ingress"]
        for peer in rule["from"]
        if "podSelector" in peer
        and peer["podSelector"]["matchLabels"].items() <= operator_labels.items()
    ]
    assert any({"port": "grpc", "protocol": "TCP"} in rule["ports"] for rule in allowed)


def test_no_operator_objects_unless_it_is_enabled() -> None:
    r = render({})
    names = [m["metadata"]["name"] for m in r.manifests]
    assert not [n for n in names if "operator" in n]
    assert r.all("ClusterRole") == [] and r.all("Role") == []
