"""The pieces every vmafx plot shares: an SVG page with a title and a framed plot area, value
ticks, the line colours, and the PNG rendered from the SVG by ffmpeg's librsvg decoder.

The tuner's ladder picture (`vmafx.tune.plot`) and `vmafx score --plot` (`vmafx.cli.frameplot`)
are written by hand on these, so no plotting library is needed.
"""

from __future__ import annotations

import math
from pathlib import Path
from xml.sax.saxutils import escape

from vmafx.media.runner import FfmpegRunner

WIDTH, HEIGHT = 800, 500
LEFT, RIGHT, TOP, BOTTOM = 70, 150, 40, 60
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


def colour(i: int) -> str:
    return COLOURS[i % len(COLOURS)]


def page(title: str, width: int = WIDTH, height: int = HEIGHT) -> list[str]:
    """The opening of an SVG document: a white page, the title, the framed plot area."""
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15">{escape(title)}</text>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#444"/>',
    ]


def axis_labels(x_label: str, y_label: str, width: int = WIDTH, height: int = HEIGHT) -> str:
    """The x label under the plot area and the y label turned up its left side."""
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    return (
        f'<text x="{LEFT + plot_w / 2}" y="{height - 15}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
        f'<text x="18" y="{TOP + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 18 {TOP + plot_h / 2})">{escape(y_label)}</text>'
    )


def log_ticks(lo: float, hi: float) -> list[float]:
    """1, 2, 5 times the powers of ten between lo and hi (a log axis)."""
    out = []
    for exponent in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for mantissa in (1, 2, 5):
            value = mantissa * 10.0**exponent
            if lo <= value <= hi:
                out.append(value)
    return out


def linear_ticks(lo: float, hi: float, most: int = 10) -> list[float]:
    """Round ticks (1, 2 or 5 times a power of ten apart) between lo and hi, at most `most`."""
    span = max(hi - lo, 1e-9)
    step = 10.0 ** math.floor(math.log10(span / most))
    for factor in (1, 2, 5, 10):
        if span / (step * factor) <= most:
            step *= factor
            break
    first = math.ceil(lo / step - 1e-9)
    return [n * step for n in range(first, math.floor(hi / step + 1e-9) + 1)]


def render_png(ffmpeg: str, runner: FfmpegRunner, svg: Path, png: Path) -> bool:
    """Rasterise the SVG with ffmpeg's librsvg decoder; False when this ffmpeg lacks it."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-y"]
    argv += ["-f", "svg_pipe", "-i", str(svg), "-frames:v", "1", str(png)]
    return runner.run(argv).returncode == 0 and png.exists()
