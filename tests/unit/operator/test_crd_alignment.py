"""The operator's field names (vmafx.operator.fields) are the ones the CRDs in deploy/crds/
declare: a real API server prunes status fields a structural schema does not declare."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import require

from vmafx.operator import fields

CRDS = Path(__file__).resolve().parents[3] / "deploy" / "crds"


def schema(plural: str) -> dict[str, Any]:
    require(importlib.util.find_spec("yaml") is not None, "pyyaml (vmafx[deploy])")
    import yaml

    crd = yaml.safe_load((CRDS / f"{plural}.{fields.GROUP}.yaml").read_text())
    assert crd["spec"]["group"] == fields.GROUP
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == fields.VERSION]
    assert version["subresources"]["status"] == {}
    properties: dict[str, Any] = version["schema"]["openAPIV3Schema"]["properties"]
    return properties


@pytest.mark.parametrize(
    ("plural", "spec_fields", "status_fields"),
    [
        (fields.JOBS, fields.JOB_SPEC, fields.JOB_STATUS),
        (fields.NODES, fields.NODE_SPEC, fields.NODE_STATUS),
        (fields.TRAININGS, fields.TRAINING_SPEC, fields.TRAINING_STATUS),
    ],
)
def test_every_field_the_operator_reads_or_writes_is_declared_by_its_crd(
    plural: str, spec_fields: tuple[str, ...], status_fields: tuple[str, ...]
) -> None:
    properties = schema(plural)
    assert set(spec_fields) <= set(properties["spec"]["properties"])
    assert set(status_fields) <= set(properties["status"]["properties"])


def test_the_job_phases_and_requirements_are_the_crd_s() -> None:
    properties = schema(fields.JOBS)
    phases = properties["status"]["properties"]["phase"]["enum"]
    assert set(fields.JOB_PHASES.values()) <= set(phases)
    requirements = properties["spec"]["properties"]["requirements"]["properties"]
    assert set(fields.JOB_REQUIREMENTS) == set(requirements)


def test_the_gpu_vendors_are_the_crd_s() -> None:
    vendors = schema(fields.NODES)["spec"]["properties"]["gpuVendor"]["enum"]
    assert set(vendors) == {*fields.GPU_RESOURCES, "cpu"}
