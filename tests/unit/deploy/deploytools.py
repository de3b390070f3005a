"""What the deploy tests share: the repository's deploy/ folder, YAML loading, and the optional
packages of the `deploy` extra (they skip locally when missing and fail in CI, tests/conftest.py)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from tests.conftest import require

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
CRDS = DEPLOY / "crds"
EXAMPLES = DEPLOY / "examples"
CHART = DEPLOY / "helm" / "vmafx"
DOCKER = DEPLOY / "docker"
#: The Kubernetes version the manifests are validated for (kubernetes-validate's schemas).
KUBE_VERSION = "1.34.0"


def require_deploy_extra(*modules: str) -> None:
    """Skip (locally) or fail (CI) unless the `deploy` extra's modules are importable."""
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    require(not missing, f"{', '.join(missing)} (pip install -e '.[deploy]')")


def documents(text: str) -> Iterator[dict[str, Any]]:
    """Every non-empty YAML document in `text`."""
    for doc in yaml.safe_load_all(text):
        if doc:
            yield doc


def crds() -> dict[str, dict[str, Any]]:
    """The CRDs of deploy/crds by kind."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(CRDS.glob("*.yaml")):
        for doc in documents(path.read_text()):
            found[doc["spec"]["names"]["kind"]] = doc
    return found
