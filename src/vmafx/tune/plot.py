"""The ladder picture as SVG text: points per resolution, the hull, the chosen rungs. Pure.

x is bitrate on a log scale, y is VMAF. The PNG is rendered from this SVG by ffmpeg's librsvg
decoder (`vmafx.media.svgplot.render_png`), so no plotting library is needed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from vmafx.media.svgplot import (
    BOTTOM,
    HEIGHT,
    LEFT,
    RIGHT,
    TOP,
    WIDTH,
    axis_labels,
    log_ticks,
    page,
)
from vmafx.media.svgplot import colour as colour_of
from vmafx.tune.hull import Point


def ladder_svg(
    points: Sequence[Point], hull: Sequence[Point], rungs: Sequence[Point], title: str
) -> str:
    """An SVG document of the measured points, the upper convex hull and the rungs."""
    if not points:
        raise ValueError("nothing to plot")
    kmin, kmax = min(p.kbps for p in points) * 0.9, max(p.kbps for p in points) * 1.1
    vmin = max(0.0, math.floor(min(p.vmaf for p in points) / 5) * 5)
    vmax = min(100.0, math.ceil(max(p.vmaf for p in points) / 5) * 5 + 0.01)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(kbps: float) -> float:
        return LEFT + plot_w * (math.log(kbps) - math.log(kmin)) / (math.log(kmax) - math.log(kmin))

    def y(vmaf: float) -> float:
        return TOP + plot_h * (1 - (vmaf - vmin) / max(1e-9, vmax - vmin))

    out = page(title)
    for tick in log_ticks(kmin, kmax):
        out.append(
            f'<line x1="{x(tick):.1f}" y1="{TOP}" x2="{x(tick):.1f}" y2="{TOP + plot_h}" '
            'stroke="#ddd"/>'
            f'<text x="{x(tick):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">{tick:g}</text>'
        )
    v = vmin
    while v <= vmax:
        out.append(
            f'<line x1="{LEFT}" y1="{y(v):.1f}" x2="{LEFT + plot_w}" y2="{y(v):.1f}" '
            'stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:g}</text>'
        )
        v += 5
    out.append(axis_labels("bitrate (kbit/s, log scale)", "VMAF (scored at the source size)"))
    heights = sorted({p.height for p in points}, reverse=True)
    for i, height in enumerate(heights):
        colour = colour_of(i)
        mine = sorted((p for p in points if p.height == height), key=lambda p: p.kbps)
        path = " ".join(f"{x(p.kbps):.1f},{y(p.vmaf):.1f}" for p in mine)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" opacity="0.5"/>')
        out += [
            f'<circle cx="{x(p.kbps):.1f}" cy="{y(p.vmaf):.1f}" r="3.5" fill="{colour}"/>'
            for p in mine
        ]
        ly = TOP + 10 + i * 18
        out.append(
            f'<circle cx="{WIDTH - RIGHT + 20}" cy="{ly}" r="4" fill="{colour}"/>'
            f'<text x="{WIDTH - RIGHT + 30}" y="{ly + 4}">{height}p</text>'
        )
    if hull:
        path = " ".join(f"{x(p.kbps):.1f},{y(p.vmaf):.1f}" for p in hull)
        out.append(f'<polyline points="{path}" fill="none" stroke="black" stroke-width="2"/>')
    ly = TOP + 10 + len(heights) * 18
    out.append(
        f'<line x1="{WIDTH - RIGHT + 12}" y1="{ly}" x2="{WIDTH - RIGHT + 28}" y2="{ly}" '
        f'stroke="black" stroke-width="2"/><text x="{WIDTH - RIGHT + 30}" y="{ly + 4}">hull</text>'
        f'<rect x="{WIDTH - RIGHT + 15}" y="{ly + 13}" width="9" height="9" fill="none" '
        f'stroke="red" stroke-width="2"/><text x="{WIDTH - RIGHT + 30}" y="{ly + 22}">rung</text>'
    )
    for p in rungs:
        out.append(
            f'<rect x="{x(p.kbps) - 6:.1f}" y="{y(p.vmaf) - 6:.1f}" width="12" height="12" '
            'fill="none" stroke="red" stroke-width="2"/>'
            f'<text x="{x(p.kbps) + 8:.1f}" y="{y(p.vmaf) + 16:.1f}" fill="red">'
            f"{p.height}p {p.kbps:.0f}k</text>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"
