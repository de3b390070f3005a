"""`registry.json` in the checkpoint folder: every version, its figures, hash and status.

    {"format": "vmafx-model-registry-v1", "feature_schema": "vmafx-features-v1",
     "n_features": 80, "updated_at": "2026-01-01T00:00:00+00:00",
     "versions": [{"version": 42, "file": "model_v000042.onnx", "sha256": "…",
                   "status": "active", "created_at": "…", "step": 1300, "samples": 20800,
                   "figures": {"plcc": 0.97, "srocc": 0.96, "rmse": 3.1, "n": 500},
                   "baseline": {"version": 41, "figures": {…}}, "reason": "…"}]}

Status: `candidate` (written, not yet judged, or the held-out set was too small to judge),
`active` (passed the stability gate: may be served), `quarantined` (failed the gate, or an
operator pulled it: never served). Policies: `latest-stable` (the newest active version, the
default), `latest` (the newest that is not quarantined), `pinned:<version>`.
Only the trainer writes the file, atomically; nodes and `vmafx models list` read it.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from vmafx.ai.checkpoints import atomic_write, version_of
from vmafx.ai.figures import Figures
from vmafx.errors import ConfigError, ModelError

REGISTRY_FILE = "registry.json"
FORMAT = "vmafx-model-registry-v1"


class ModelStatus(enum.StrEnum):
    candidate = "candidate"
    active = "active"
    quarantined = "quarantined"


@dataclasses.dataclass(frozen=True)
class ModelVersion:
    version: int
    file: str
    sha256: str
    status: ModelStatus
    created_at: str
    step: int = 0
    samples: int = 0
    figures: Figures | None = None
    baseline_version: int | None = None
    baseline_figures: Figures | None = None
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        baseline = None
        if self.baseline_version is not None:
            base_figs = self.baseline_figures.as_dict() if self.baseline_figures else None
            baseline = {"version": self.baseline_version, "figures": base_figs}
        return {
            "version": self.version,
            "file": self.file,
            "sha256": self.sha256,
            "status": self.status.value,
            "created_at": self.created_at,
            "step": self.step,
            "samples": self.samples,
            "figures": self.figures.as_dict() if self.figures else None,
            "baseline": baseline,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelVersion:
        baseline = data.get("baseline") or {}
        figs, base_figs = data.get("figures"), baseline.get("figures")
        return cls(
            version=int(data["version"]),
            file=str(data["file"]),
            sha256=str(data["sha256"]).lower(),
            status=ModelStatus(data["status"]),
            created_at=str(data.get("created_at", "")),
            step=int(data.get("step", 0)),
            samples=int(data.get("samples", 0)),
            figures=Figures.from_dict(figs) if figs else None,
            baseline_version=baseline.get("version"),
            baseline_figures=Figures.from_dict(base_figs) if base_figs else None,
            reason=str(data.get("reason", "")),
        )


@dataclasses.dataclass(frozen=True)
class Policy:
    kind: str  # "latest-stable" | "latest" | "pinned"
    version: int | None = None

    def __str__(self) -> str:
        return f"pinned:{self.version}" if self.kind == "pinned" else self.kind


def parse_policy(text: str) -> Policy:
    """`latest-stable` (default), `latest` or `pinned:<version>`."""
    text = text.strip()
    if text in ("latest-stable", "latest"):
        return Policy(text)
    if text.startswith("pinned:") and text[7:].isdigit():
        return Policy("pinned", int(text[7:]))
    raise ConfigError(
        f"The model version policy {text!r} is not one of latest-stable, latest, pinned:<version>.",
        hint="For example pinned:42.",
    )


@dataclasses.dataclass(frozen=True)
class Registry:
    versions: tuple[ModelVersion, ...] = ()
    feature_schema: str = ""
    n_features: int = 0
    updated_at: str = ""

    def get(self, version: int) -> ModelVersion | None:
        return next((v for v in self.versions if v.version == version), None)

    def stable(self) -> ModelVersion | None:
        """The newest active version: what `latest-stable` serves and the gate compares with."""
        return self.select(Policy("latest-stable"))

    def select(self, policy: Policy) -> ModelVersion | None:
        """The version `policy` serves; never a quarantined one; None when there is none."""
        choices = self.servable(policy)
        return choices[0] if choices else None

    def servable(self, policy: Policy) -> list[ModelVersion]:
        """Every version `policy` may serve, best first: the fallbacks when a file is refused.

        `latest-stable`: the active versions, newest first; `latest`: active and candidate
        ones; `pinned:<v>`: that version alone. Never a quarantined one.
        """
        if policy.kind == "pinned":
            found = self.get(policy.version or -1)
            return [found] if found and found.status is not ModelStatus.quarantined else []
        wanted = {ModelStatus.active}
        if policy.kind == "latest":
            wanted.add(ModelStatus.candidate)
        return sorted((v for v in self.versions if v.status in wanted), key=lambda v: -v.version)

    def with_version(self, entry: ModelVersion, *, updated_at: str) -> Registry:
        """A copy with `entry` added or replacing the entry of the same version."""
        others = [v for v in self.versions if v.version != entry.version]
        versions = tuple(sorted([*others, entry], key=lambda v: v.version))
        return dataclasses.replace(self, versions=versions, updated_at=updated_at)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "feature_schema": self.feature_schema,
            "n_features": self.n_features,
            "updated_at": self.updated_at,
            "versions": [v.as_dict() for v in self.versions],
        }


def registry_path(directory: Path) -> Path:
    return directory / REGISTRY_FILE


def read_registry(directory: Path) -> Registry | None:
    """The registry in `directory`; None when there is none; ModelError when it is unreadable."""
    path = registry_path(directory)
    try:
        data = json.loads(path.read_bytes())
        if data.get("format") != FORMAT:
            raise ValueError(f"format is {data.get('format')!r}, expected {FORMAT!r}")
        return Registry(
            versions=tuple(ModelVersion.from_dict(v) for v in data["versions"]),
            feature_schema=str(data.get("feature_schema", "")),
            n_features=int(data.get("n_features", 0)),
            updated_at=str(data.get("updated_at", "")),
        )
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelError(
            f"The model registry {path} is unreadable: {exc}.", path=str(path)
        ) from None


def write_registry(directory: Path, registry: Registry) -> None:
    """Replace the registry file atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps(registry.as_dict(), indent=2, allow_nan=False) + "\n"
    atomic_write(registry_path(directory), text.encode())


def next_version(directory: Path, registry: Registry | None) -> int:
    """One past the highest version in the registry or on disk (a crash may leave a file)."""
    listed = [v.version for v in registry.versions] if registry else []
    on_disk = (
        [version_of(p.name) for p in directory.glob("model_v*.onnx")] if directory.is_dir() else []
    )
    return max([0, *listed, *(v for v in on_disk if v is not None)]) + 1


def now_iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
