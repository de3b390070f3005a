"""Rendering score reports: a Rich table, one JSON object, CSV rows, per-frame CSV.

Only the table imports rich (~20 ms): JSON and CSV output leave it out of `vmafx score`.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

from vmafx.core.pooling import POOL_METHODS
from vmafx.core.scores import ScoreReport

if TYPE_CHECKING:
    from rich.console import Console


def to_json(report: ScoreReport) -> str:
    return json.dumps(report.as_dict(), indent=2)


def to_csv(report: ScoreReport) -> str:
    """One row per (distorted, metric) with every pooling method as a column (plus, for one
    release, the row `vmaf` repeating the only model's row, see `ScoreResult.pooled_json`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["reference", "distorted", "metric", "frame_count", *POOL_METHODS])
    for result in report.results:
        for metric, values in result.pooled_json().items():
            writer.writerow(
                [report.reference, result.distorted, metric, result.frame_count]
                + [f"{values[m]:.6f}" for m in POOL_METHODS]
            )
    return buffer.getvalue()


def print_table(report: ScoreReport, console: Console) -> None:
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    from vmafx.cli.tables import fit_names  # noqa: PLC0415

    for result in report.results:
        title = Text(f"{result.distorted}  vs  {report.reference}")  # names as typed, no markup
        table = Table(title=title, title_justify="left", header_style="bold", show_edge=False)
        table.add_column("metric", overflow="fold")  # model names are long: wrap them, not numbers
        for method in POOL_METHODS:
            table.add_column(method.replace("_", " "), justify="right", no_wrap=True)
        for metric, pooled in result.pooled.items():
            values = pooled.as_dict()
            table.add_row(Text(metric), *(f"{values[m]:.4f}" for m in POOL_METHODS))
        console.print(fit_names(table))  # names whole at 80 columns
        notes = [f"{result.frame_count} frames"]
        if result.scored_frames != result.frame_count:
            notes.append(f"{result.scored_frames} scored (subsampled)")
        if result.adjustments:
            notes.append("distorted adjusted: " + ", ".join(result.adjustments))
        if result.features is not None:
            notes.append(
                f"feature vector {result.features.schema} ({len(result.features.values)} values)"
            )
        console.print(Text("  " + "; ".join(notes), style="dim"))
        for warning in result.warnings:
            console.print(Text(f"  warning: {warning}", style="yellow"))
    if report.decode is not None:
        decode = report.decode
        console.print(
            Text(
                f"  decoded on {decode['used']} ({decode['asked']} asked: {decode['reason']})",
                style="dim",
            )
        )
    versions = ", ".join(f"{k} {v}" for k, v in report.versions.items())
    console.print(Text(f"  {versions}; {report.elapsed_s:.1f} s", style="dim"))


def write_per_frame(report: ScoreReport, path: Path) -> None:
    """Long CSV: one row per (distorted, frame) with every per-frame metric as a column: first the
    metrics under the names the pooled results use (each model's name, `psnr_y`, `float_ssim`...),
    then the libvmaf features behind the models' scores under libvmaf's own names."""
    names: list[str] = []
    for result in report.results:
        names += [n for n in result.pooled if n in result.frames and n not in names]
    for result in report.results:
        names += [n for n in result.frames if n not in names]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["distorted", "frame", *names])
        for result in report.results:
            for i, frame in enumerate(result.frame_nums):
                row = [result.frames[n][i] if n in result.frames else "" for n in names]
                writer.writerow([result.distorted, frame, *row])


def warning_lines(report: ScoreReport) -> list[str]:
    """Each result's warnings as `warning: DISTORTED: text` lines (for stderr beside CSV)."""
    return [f"warning: {r.distorted}: {w}" for r in report.results for w in r.warnings]
