"""What the deploy tests share: the repository's deploy/ folder, YAML loading, and the optional
packages of the `deploy` extra (they skip locally when missing and fail in CI, tests/conftest.py)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from functools import cache
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


@cache
def known_env_names() -> frozenset[str]:
    """Every `VMAFX_*` name vmafx reads: `VMAFX_<SECTION>_<FIELD>` of each settings dataclass
    (config.load's rule) plus the names written out in the source (aliases, single settings)."""
    import dataclasses
    import re

    from vmafx.ai.trainer.settings import SidecarSettings
    from vmafx.config import FfmpegSettings
    from vmafx.controller.settings import ControllerSettings
    from vmafx.node.settings import NodeSettings

    sections: dict[str, type[Any]] = {
        "CONTROLLER": ControllerSettings,
        "NODE": NodeSettings,
        "SIDECAR": SidecarSettings,
        "FFMPEG": FfmpegSettings,
    }
    names = {
        f"VMAFX_{section}_{field.name.upper()}"
        for section, cls in sections.items()
        for field in dataclasses.fields(cls)
    }
    for path in (REPO / "src" / "vmafx").rglob("*.py"):
        names |= set(re.findall(r"\bVMAFX_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    return frozenset(names)


def command_problems(argv: list[str]) -> list[str]:
    """Why `argv` is not a `vmafx` command line the Typer app accepts (empty: it is): each
    subcommand must exist and each `--flag` must be an option of the command it follows."""
    import typer

    from vmafx.cli.app import app

    if not argv or argv[0] != "vmafx":
        return [f"{argv!r} does not run vmafx"]
    command: Any = typer.main.get_command(app)
    ctx = command.make_context("vmafx", [], resilient_parsing=True)
    path = ["vmafx"]
    problems: list[str] = []
    for token in argv[1:]:
        if token.startswith("-"):
            flag = token.split("=", 1)[0]
            options = {opt for param in command.params for opt in param.opts}
            if flag not in options:
                problems.append(f"{' '.join(path)} has no option {flag}")
        elif hasattr(command, "get_command") and command.get_command(ctx, token) is not None:
            command = command.get_command(ctx, token)
            path.append(token)
        elif hasattr(command, "get_command") and not path[1:]:
            problems.append(f"vmafx has no command {token!r}")
    if hasattr(command, "get_command") and not getattr(command, "invoke_without_command", False):
        problems.append(f"{' '.join(path)} needs a subcommand")
    return problems
