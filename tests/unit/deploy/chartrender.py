"""Rendering deploy/helm/vmafx with the real Helm engine (helm-python-sdk) and looking things up
in what it renders."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from tests.unit.deploy.deploytools import CHART, documents

RELEASE = "vmafx"
NAMESPACE = "vmafx"
VALUE_FILES = sorted((CHART / "ci").glob("*-values.yaml"))


@dataclass(frozen=True)
class Rendered:
    values: dict[str, Any]
    manifests: tuple[dict[str, Any], ...]

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.manifests if m["kind"] == kind]

    def one(self, kind: str, name: str) -> dict[str, Any]:
        (found,) = [m for m in self.all(kind) if m["metadata"]["name"] == name]
        return found

    def pools(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(pool values, its Deployment) for each node pool."""
        return [
            (pool, self.one("Deployment", f"{RELEASE}-node-{pool['name']}"))
            for pool in self.values.get("nodePools", [])
        ]


def values_of(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def render(values: dict[str, Any]) -> Rendered:
    from helm_python.chart import Chart

    chart = Chart.load(CHART)
    manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE)
    docs = tuple(
        doc
        for name, text in sorted(manifests.items())
        if name.endswith((".yaml", ".yml"))
        for doc in documents(text)
    )
    return Rendered(chart.merge_values(values), docs)


@cache
def render_file(name: str) -> Rendered:
    return render(values_of(CHART / "ci" / name))


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def container(workload: dict[str, Any], name: str) -> dict[str, Any]:
    spec = pod_spec(workload)
    (found,) = [c for c in spec["containers"] + spec.get("initContainers", []) if c["name"] == name]
    return found


def env(c: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in c.get("env", [])}


def port_number(c: dict[str, Any], port: int | str) -> int:
    """A probe's port, by number or by the container port's name."""
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in c["ports"] if p["name"] == port]
    return int(number)


def mount_of(workload: dict[str, Any], c: dict[str, Any], path: str) -> tuple[str, dict[str, Any]]:
    """The volume (name, definition) mounted in `c` at the folder holding `path`, or at `path`."""
    mounts = sorted(c["volumeMounts"], key=lambda m: len(m["mountPath"]), reverse=True)
    (mount,) = [
        m for m in mounts if path == m["mountPath"] or path.startswith(m["mountPath"] + "/")
    ][:1]
    (volume,) = [v for v in pod_spec(workload)["volumes"] if v["name"] == mount["name"]]
    return mount["name"], volume
