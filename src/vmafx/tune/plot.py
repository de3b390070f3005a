"""The ladder picture as SVG text: points per resolution, the hull, the chosen rungs. Pure.

x is bitrate on a log scale, y is VMAF. The PNG is rendered from this SVG by ffmpeg's librsvg
decoder (`vmafx.tune.ladder.write_png`), so no plotting library is needed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from xml.sax.saxutils import escape

from vmafx.tune.hull import Point

WIDTH, HEIGHT = 800, 500
_LEFT, _RIGHT, _TOP, _BOTTOM = 70, 150, 40, 60
_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


def _ticks(lo: float, hi: float) -> list[float]:
    out = []
    for exponent in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for mantissa in (1, 2, 5):
            value = mantissa * 10.0**exponent
            if lo <= value <= hi:
                out.append(value)
    return out


def ladder_svg(
    points: Sequence[Point], hull: Sequence[Point], rungs: Sequence[Point], title: str
) -> str:
    """An SVG document of the measured points, the upper convex hull and the rungs."""
    if not points:
        raise ValueError("nothing to plot")
    kmin, kmax = min(p.kbps for p in points) * 0.9, max(p.kbps for p in points) * 1.1
    vmin = max(0.0, math.floor(min(p.vmaf for p in points) / 5) * 5)
    vmax = min(100.0, math.ceil(max(p.vmaf for p in points) / 5) * 5 + 0.01)
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM

    def x(kbps: float) -> float:
        return _LEFT + plot_w * (math.log(kbps) - math.log(kmin)) / (
            math.log(kmax) - math.log(kmin)
        )

    def y(vmaf: float) -> float:
        return _TOP + plot_h * (1 - (vmaf - vmin) / max(1e-9, vmax - vmin))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="15">{escape(title)}</text>',
        f'<rect x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#444"/>',
    ]
    for tick in _ticks(kmin, kmax):
        out.append(
            f'<line x1="{x(tick):.1f}" y1="{_TOP}" x2="{x(tick):.1f}" y2="{_TOP + plot_h}" '
            'stroke="#ddd"/>'
            f'<text x="{x(tick):.1f}" y="{_TOP + plot_h + 16}" text-anchor="middle">{tick:g}</text>'
        )
    v = vmin
    while v <= vmax:
        out.append(
            f'<line x1="{_LEFT}" y1="{y(v):.1f}" x2="{_LEFT + plot_w}" y2="{y(v):.1f}" '
            'stroke="#ddd"/>'
            f'<text x="{_LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:g}</text>'
        )
        v += 5
    out.append(
        f'<text x="{_LEFT + plot_w / 2}" y="{HEIGHT - 15}" text-anchor="middle">'
        "bitrate (kbit/s, log scale)</text>"
        f'<text x="18" y="{_TOP + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 18 {_TOP + plot_h / 2})">VMAF (scored at the source size)</text>'
    )
    heights = sorted({p.height for p in points}, reverse=True)
    for i, height in enumerate(heights):
        colour = _COLOURS[i % len(_COLOURS)]
        mine = sorted((p for p in points if p.height == height), key=lambda p: p.kbps)
        path = " ".join(f"{x(p.kbps):.1f},{y(p.vmaf):.1f}" for p in mine)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" opacity="0.5"/>')
        out += [
            f'<circle cx="{x(p.kbps):.1f}" cy="{y(p.vmaf):.1f}" r="3.5" fill="{colour}"/>'
            for p in mine
        ]
        ly = _TOP + 10 + i * 18
        out.append(
            f'<circle cx="{WIDTH - _RIGHT + 20}" cy="{ly}" r="4" fill="{colour}"/>'
            f'<text x="{WIDTH - _RIGHT + 30}" y="{ly + 4}">{height}p</text>'
        )
    if hull:
        path = " ".join(f"{x(p.kbps):.1f},{y(p.vmaf):.1f}" for p in hull)
        out.append(f'<polyline points="{path}" fill="none" stroke="black" stroke-width="2"/>')
    ly = _TOP + 10 + len(heights) * 18
    out.append(
        f'<line x1="{WIDTH - _RIGHT + 12}" y1="{ly}" x2="{WIDTH - _RIGHT + 28}" y2="{ly}" '
        f'stroke="black" stroke-width="2"/><text x="{WIDTH - _RIGHT + 30}" y="{ly + 4}">hull</text>'
        f'<rect x="{WIDTH - _RIGHT + 15}" y="{ly + 13}" width="9" height="9" fill="none" '
        f'stroke="red" stroke-width="2"/><text x="{WIDTH - _RIGHT + 30}" y="{ly + 22}">rung</text>'
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
