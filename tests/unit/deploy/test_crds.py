"""The CRDs of deploy/crds: valid CustomResourceDefinitions, structural, with a status
subresource and printer columns; the chart ships the same files; every example CR in
deploy/examples passes its CRD's schema (and a VmafxJob's `job` passes vmafx's own spec check)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.deploy.deploytools import (
    CHART,
    CRDS,
    EXAMPLES,
    KUBE_VERSION,
    crds,
    documents,
    require_deploy_extra,
)

from vmafx.core.jobs import JobKind
from vmafx.core.specs import validate_spec

KINDS = ("VmafxJob", "VmafxNode", "VmafxModelTraining")


def _schema(crd: dict[str, Any]) -> dict[str, Any]:
    (version,) = crd["spec"]["versions"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def _structural_problems(schema: dict[str, Any], where: str = "") -> list[str]:
    """Where a schema breaks Kubernetes' structural rule: every node has a type, unless it
    preserves unknown fields or is an int-or-string."""
    problems: list[str] = []
    special = schema.get("x-kubernetes-preserve-unknown-fields") or schema.get(
        "x-kubernetes-int-or-string"
    )
    if "type" not in schema and not special:
        problems.append(where or "/")
    for name, child in schema.get("properties", {}).items():
        problems += _structural_problems(child, f"{where}/{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            problems += _structural_problems(schema[key], f"{where}/{key}")
    return problems


def test_there_is_one_crd_per_kind_in_group_vmafx_dev_v1() -> None:
    found = crds()
    assert sorted(found) == sorted(KINDS)
    for crd in found.values():
        assert crd["spec"]["group"] == "vmafx.dev"
        assert [v["name"] for v in crd["spec"]["versions"]] == ["v1"]
        assert crd["metadata"]["name"] == f"{crd['spec']['names']['plural']}.vmafx.dev"


@pytest.mark.parametrize("kind", KINDS)
def test_each_crd_is_a_valid_custom_resource_definition(kind: str) -> None:
    require_deploy_extra("kubernetes_validate")
    import kubernetes_validate

    kubernetes_validate.validate(crds()[kind], KUBE_VERSION, strict=True)


@pytest.mark.parametrize("kind", KINDS)
def test_each_crd_schema_is_structural(kind: str) -> None:
    assert _structural_problems(_schema(crds()[kind])) == []


@pytest.mark.parametrize("kind", KINDS)
def test_each_crd_has_a_status_subresource_and_printer_columns(kind: str) -> None:
    (version,) = crds()[kind]["spec"]["versions"]
    assert "status" in version["subresources"]
    columns = {column["name"] for column in version["additionalPrinterColumns"]}
    assert {"Phase", "Age"} <= columns
    assert "status" in _schema(crds()[kind])["properties"]


def test_the_chart_ships_the_very_crd_files_of_deploy_crds() -> None:
    for path in CRDS.glob("*.yaml"):
        assert (CHART / "crds" / path.name).read_text() == path.read_text(), path.name
    assert sorted(p.name for p in (CHART / "crds").glob("*.yaml")) == sorted(
        p.name for p in CRDS.glob("*.yaml")
    )


def _examples() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.name, doc)
        for path in sorted(EXAMPLES.glob("*.yaml"))
        for doc in documents(path.read_text())
    ]


def test_there_is_an_example_of_every_kind() -> None:
    assert {doc["kind"] for _, doc in _examples()} == set(KINDS)


@pytest.mark.parametrize(("name", "resource"), _examples(), ids=[name for name, _ in _examples()])
def test_each_example_resource_passes_its_crd_schema(name: str, resource: dict[str, Any]) -> None:
    require_deploy_extra("jsonschema")
    import jsonschema

    assert resource["apiVersion"] == "vmafx.dev/v1"
    # Kubernetes' OpenAPI v3.0 schemas read as JSON Schema draft 4 (boolean exclusiveMaximum).
    jsonschema.Draft4Validator(_schema(crds()[resource["kind"]])).validate(resource)


def test_a_resource_missing_a_required_field_fails_its_crd_schema() -> None:
    require_deploy_extra("jsonschema")
    import jsonschema

    _, job = next((n, d) for n, d in _examples() if d["kind"] == "VmafxJob")
    broken = {**job, "spec": {key: v for key, v in job["spec"].items() if key != "kind"}}
    with pytest.raises(jsonschema.ValidationError, match="'kind' is a required property"):
        jsonschema.Draft4Validator(_schema(crds()["VmafxJob"])).validate(broken)


def test_a_node_pool_with_an_unknown_gpu_vendor_fails_its_crd_schema() -> None:
    require_deploy_extra("jsonschema")
    import jsonschema

    _, node = next((n, d) for n, d in _examples() if d["kind"] == "VmafxNode")
    broken = {**node, "spec": {**node["spec"], "gpuVendor": "matrox"}}
    with pytest.raises(jsonschema.ValidationError, match="matrox"):
        jsonschema.Draft4Validator(_schema(crds()["VmafxNode"])).validate(broken)


@pytest.mark.parametrize(
    "resource",
    [doc for _, doc in _examples() if doc["kind"] == "VmafxJob"],
    ids=lambda doc: doc["metadata"]["name"],
)
def test_each_example_job_spec_is_one_the_controller_accepts(resource: dict[str, Any]) -> None:
    spec = resource["spec"]
    assert validate_spec(JobKind(spec["kind"]), spec["job"])


def test_the_job_kinds_of_the_crd_are_the_controllers() -> None:
    kinds = _schema(crds()["VmafxJob"])["properties"]["spec"]["properties"]["kind"]["enum"]
    assert sorted(kinds) == sorted(kind.value for kind in JobKind)


def test_queue_names_and_limits_follow_the_nodes_own_rules_in_crds_and_chart() -> None:
    import json

    from vmafx.node.settings import _QUEUE, MAX_SLOTS

    node = _schema(crds()["VmafxNode"])["properties"]["spec"]["properties"]
    job = _schema(crds()["VmafxJob"])["properties"]["spec"]["properties"]
    chart = json.loads((CHART / "values.schema.json").read_text())["definitions"]
    wanted = f"^{_QUEUE.pattern}$"
    assert node["queues"]["items"]["pattern"] == job["queue"]["pattern"] == wanted
    assert chart["queue"]["pattern"] == wanted
    assert node["concurrency"]["additionalProperties"]["maximum"] == MAX_SLOTS
    assert (
        chart["pool"]["properties"]["concurrency"]["additionalProperties"]["maximum"] == MAX_SLOTS
    )


@pytest.mark.parametrize(
    ("kind", "spec", "status"),
    [
        ("VmafxJob", "JOB_SPEC", "JOB_STATUS"),
        ("VmafxNode", "NODE_SPEC", "NODE_STATUS"),
        ("VmafxModelTraining", "TRAINING_SPEC", "TRAINING_STATUS"),
    ],
)
def test_every_field_the_operator_reads_or_writes_is_declared_in_its_crd(
    kind: str, spec: str, status: str
) -> None:
    """A real API server prunes undeclared fields: a status the operator writes must be in the CRD."""
    from vmafx.operator import fields

    properties = _schema(crds()[kind])["properties"]
    assert set(getattr(fields, spec)) <= set(properties["spec"]["properties"])
    assert set(getattr(fields, status)) <= set(properties["status"]["properties"])
    phases = set(properties["status"]["properties"]["phase"]["enum"])
    if kind == "VmafxJob":
        assert set(fields.JOB_PHASES.values()) <= phases
        assert set(fields.JOB_REQUIREMENTS) == set(
            properties["spec"]["properties"]["requirements"]["properties"]
        )
