"""`vmafx models list`: the checkpoint registry as a table or JSON."""

from __future__ import annotations

import enum
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vmafx.ai.registry import Policy, Registry, read_registry
from vmafx.ai.trainer.settings import sidecar_settings
from vmafx.errors import NotFoundError

app = typer.Typer(help="Model checkpoints written by `vmafx trainer`.", no_args_is_help=True)


class Format(enum.StrEnum):
    table = "table"
    json = "json"


def _fig(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _table(registry: Registry, directory: Path) -> Table:
    stable = registry.stable()
    latest = registry.select(Policy("latest"))
    title = Text(f"models in {directory}")  # a folder name as typed, not Rich markup
    table = Table(title=title, title_justify="left", header_style="bold")
    for name in ("version", "status", "PLCC", "SROCC", "RMSE", "n", "vs", "created", "sha256"):
        table.add_column(
            name, justify="right" if name in ("PLCC", "SROCC", "RMSE", "n") else "left"
        )
    for v in reversed(registry.versions):
        figs = v.figures.as_dict() if v.figures else {}
        marks = [m for m, hit in (("latest-stable", v is stable), ("latest", v is latest)) if hit]
        status = v.status.value + (f" ({', '.join(marks)})" if marks else "")
        base = v.baseline_figures.as_dict() if v.baseline_figures else {}
        versus = f"v{v.baseline_version} {_fig(base.get('plcc'))}" if v.baseline_version else ""
        table.add_row(
            str(v.version),
            status,
            _fig(figs.get("plcc")),
            _fig(figs.get("srocc")),
            _fig(figs.get("rmse"), 3),
            str(figs.get("n", "")),
            versus,
            v.created_at,
            v.sha256[:12],
        )
    return table


@app.command("list")
def list_models(
    directory: Path | None = typer.Option(
        None, "--dir", help="Checkpoint folder (default: VMAFX_SIDECAR_CHECKPOINT_DIR)."
    ),
    fmt: Format = typer.Option(Format.table, "--format", help="table or json."),
) -> None:
    """List every version with its figures (PLCC, SROCC, RMSE on the held-out set) and status."""
    folder = directory or sidecar_settings().checkpoint_dir
    assert folder is not None
    registry = read_registry(folder)
    if registry is None:
        raise NotFoundError(
            f"There is no registry.json in {folder}.",
            hint="Point --dir at a trainer's checkpoint folder (VMAFX_SIDECAR_CHECKPOINT_DIR).",
        )
    if fmt is Format.json:
        body = registry.as_dict()
        stable = registry.stable()
        body["latest_stable"] = stable.version if stable else None
        typer.echo(json.dumps(body, indent=2))
        return
    Console(highlight=False).print(_table(registry, folder))
