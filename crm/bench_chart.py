"""Line charts for docs/benchmarks.md, written as SVG by hand (no plotting library)."""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

# Okabe–Ito: told apart by people with colour-vision deficiencies too.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")
WIDTH, HEIGHT = 760, 440
LEFT, RIGHT, TOP, BOTTOM = 70, 190, 50, 60


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above `value` (the top of the y axis)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value)


def line_chart(
    *, title: str, x_label: str, y_label: str, x_values: list[str], series: dict[str, list[float | None]]
) -> str:
    """One line per series over categorical x values; None leaves a point out."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = nice_ceiling(max((v for values in series.values() for v in values if v is not None), default=1))
    inset = 30  # keeps the first and last points off the axes
    step_x = (plot_w - 2 * inset) / (len(x_values) - 1) if len(x_values) > 1 else 0

    def x_at(i: int) -> float:
        return LEFT + (inset + i * step_x if len(x_values) > 1 else plot_w / 2)

    def y_at(v: float) -> float:
        return TOP + plot_h - v / top * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{WIDTH / 2:.0f}" y="24" text-anchor="middle" font-size="15" font-weight="bold">'
        f"{escape(title)}</text>",
    ]
    lead = top / 10 ** math.floor(math.log10(top))
    intervals = 4 if math.isclose(lead, 2) else 5  # steps of 0.2, 0.5 or 1 times a power of ten
    for k in range(intervals + 1):
        value = top * k / intervals
        y = y_at(value)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#dddddd"/>')
        parts.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>')
    parts.append(
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#333333"/>'
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#333333"/>'
    )
    for i, label in enumerate(x_values):
        x = x_at(i)
        parts.append(f'<line x1="{x:.1f}" y1="{TOP + plot_h}" x2="{x:.1f}" y2="{TOP + plot_h + 5}" stroke="#333333"/>')
        parts.append(f'<text x="{x:.1f}" y="{TOP + plot_h + 20}" text-anchor="middle">{escape(label)}</text>')
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.0f}" y="{HEIGHT - 14}" text-anchor="middle" font-size="13">'
        f"{escape(x_label)}</text>"
    )
    parts.append(
        f'<text x="18" y="{TOP + plot_h / 2:.0f}" text-anchor="middle" font-size="13" '
        f'transform="rotate(-90 18 {TOP + plot_h / 2:.0f})">{escape(y_label)}</text>'
    )
    for n, (name, values) in enumerate(series.items()):
        colour = COLOURS[n % len(COLOURS)]
        points = [(x_at(i), y_at(v)) for i, v in enumerate(values) if v is not None]
        parts.append(f'<g class="series" data-name="{escape(name, {chr(34): "&quot;"})}">')
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in points:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>')
        legend_y = TOP + 10 + n * 20
        legend_x = LEFT + plot_w + 20
        parts.append(
            f'<line x1="{legend_x}" y1="{legend_y}" x2="{legend_x + 22}" y2="{legend_y}" '
            f'stroke="{colour}" stroke-width="2"/>'
            f'<circle cx="{legend_x + 11}" cy="{legend_y}" r="3.5" fill="{colour}"/>'
            f'<text x="{legend_x + 30}" y="{legend_y + 4}">{escape(name)}</text>'
        )
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
