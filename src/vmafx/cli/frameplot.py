"""`vmafx score --plot`: per-frame VMAF over frame number, one line per distorted input (and per
model when several were scored), its worst frames marked with their numbers. Pure SVG text on
`vmafx.media.svgplot`'s pieces; `write_plot` writes it, or the PNG ffmpeg renders from it.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

from vmafx.core.scores import ScoreReport
from vmafx.errors import FfmpegCapabilityError, UsageError
from vmafx.media.runner import FfmpegRunner
from vmafx.media.svgplot import (
    BOTTOM,
    HEIGHT,
    LEFT,
    RIGHT,
    TOP,
    WIDTH,
    axis_labels,
    colour,
    linear_ticks,
    page,
)

#: The lowest frames marked on each line.
WORST = 3
#: What `--plot` writes, by the file's suffix.
SUFFIXES = (".svg", ".png")
_LEGEND_CHARS = 20


def check_plot_path(path: Path) -> None:
    """Refuse a `--plot` file vmafx cannot write before any scoring starts."""
    if path.suffix.lower() not in SUFFIXES:
        raise UsageError(
            f"--plot {path}: vmafx writes a plot as .svg or .png, "
            f"not {path.suffix or 'a name without a suffix'}.",
            hint="Name the file FILE.svg or FILE.png, e.g. --plot frames.svg.",
        )
    if not path.parent.is_dir():
        raise UsageError(
            f"--plot {path}: the folder {path.parent} does not exist.",
            hint="Create the folder first, or write the plot somewhere that exists.",
        )


def _series(report: ScoreReport) -> list[tuple[str, list[int], list[float]]]:
    """(legend label, frame numbers, VMAF) per distorted input and model."""
    out = []
    for result in report.results:
        name = Path(result.distorted).name or result.distorted
        models = [m for m in result.models if m in result.frames]
        for model in models:
            label = name if len(models) == 1 else f"{name} {model}"
            out.append((label, list(result.frame_nums), result.frames[model]))
    return out


def _short(label: str) -> str:
    return label if len(label) <= _LEGEND_CHARS else label[: _LEGEND_CHARS - 1] + "…"


def frames_svg(report: ScoreReport, worst: int = WORST) -> str:
    """An SVG document of each input's per-frame VMAF, its `worst` lowest frames marked."""
    series = [s for s in _series(report) if s[1]]
    if not series:
        raise ValueError("no per-frame VMAF to plot")
    first = min(min(frames) for _, frames, _ in series)
    last = max(max(frames) for _, frames, _ in series)
    if last == first:
        last = first + 1
    values = [v for _, _, vs in series for v in vs]
    vmin = max(0.0, math.floor((min(values) - 1) / 5) * 5)  # room for the labels
    vmax = float(math.ceil(max(values) / 5) * 5)
    if vmax <= vmin:
        vmax = vmin + 5
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(frame: float) -> float:
        return LEFT + plot_w * (frame - first) / (last - first)

    def y(vmaf: float) -> float:
        return TOP + plot_h * (1 - (vmaf - vmin) / (vmax - vmin))

    out = page(f"Per-frame VMAF against {Path(report.reference).name}")
    for tick in linear_ticks(first, last):
        out.append(
            f'<line x1="{x(tick):.1f}" y1="{TOP}" x2="{x(tick):.1f}" y2="{TOP + plot_h}" '
            'stroke="#eee"/>'
            f'<text x="{x(tick):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">{tick:g}</text>'
        )
    for tick in linear_ticks(vmin, vmax):
        out.append(
            f'<line x1="{LEFT}" y1="{y(tick):.1f}" x2="{LEFT + plot_w}" y2="{y(tick):.1f}" '
            'stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>'
        )
    out.append(axis_labels("frame", "VMAF"))
    for i, (label, frames, vmaf) in enumerate(series):
        paint = colour(i)
        path = " ".join(f"{x(f):.1f},{y(v):.1f}" for f, v in zip(frames, vmaf, strict=True))
        out.append(
            f'<polyline class="series" data-label="{escape(label, {chr(34): "&quot;"})}" '
            f'points="{path}" fill="none" stroke="{paint}" stroke-width="1.5"/>'
        )
        lowest = sorted(range(len(vmaf)), key=lambda j: (vmaf[j], frames[j]))[:worst]
        for j in lowest:
            cx, cy = x(frames[j]), y(vmaf[j])
            left = cx > LEFT + plot_w * 0.95  # near the legend: label to the left
            tx, anchor = (cx - 7, "end") if left else (cx + 7, "start")
            out.append(
                f'<circle class="worst" data-frame="{frames[j]}" cx="{cx:.1f}" cy="{cy:.1f}" '
                f'r="5" fill="none" stroke="{paint}" stroke-width="2"/>'
                f'<text x="{tx:.1f}" y="{cy + 14:.1f}" text-anchor="{anchor}" fill="{paint}" '
                'font-size="10">'
                f"{frames[j]}: {vmaf[j]:.1f}</text>"
            )
        ly = TOP + 10 + i * 18
        out.append(
            f'<line x1="{WIDTH - RIGHT + 12}" y1="{ly}" x2="{WIDTH - RIGHT + 28}" y2="{ly}" '
            f'stroke="{paint}" stroke-width="2"/>'
            f'<text x="{WIDTH - RIGHT + 32}" y="{ly + 4}">{escape(_short(label))}</text>'
        )
    ly = TOP + 10 + len(series) * 18
    out.append(
        f'<circle cx="{WIDTH - RIGHT + 20}" cy="{ly}" r="5" fill="none" stroke="#444" '
        f'stroke-width="2"/><text x="{WIDTH - RIGHT + 32}" y="{ly + 4}">'
        f"{worst} lowest frames</text>"
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_plot(report: ScoreReport, path: Path, ffmpeg: str, runner: FfmpegRunner) -> None:
    """Write the plot as SVG, or as PNG through ffmpeg's librsvg decoder (by `path`'s suffix)."""
    svg = frames_svg(report)
    if path.suffix.lower() != ".png":
        path.write_text(svg)
        return
    from vmafx.media.svgplot import render_png  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="vmafx-plot-") as tmp:
        source = Path(tmp) / "plot.svg"
        source.write_text(svg)
        if not render_png(ffmpeg, runner, source, path):
            raise FfmpegCapabilityError(
                f"--plot {path}: this ffmpeg ({ffmpeg}) cannot draw a PNG: it has no librsvg "
                "SVG decoder.",
                hint=f"Write --plot {path.with_suffix('.svg')} instead, or use an ffmpeg built "
                "with --enable-librsvg (VMAFX_FFMPEG).",
            )
