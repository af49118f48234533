"""Small SVG charts for numbers people compare (threshold sweeps, benchmark ratios).

Hand-written because a plotting library would be a heavy dependency for two charts; the output is
a self-contained SVG that browsers, GitHub and the file viewer show.
"""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT = 640, 360
LEFT, RIGHT, TOP, BOTTOM = 64, 150, 40, 48
COLOURS = ["#2f5d8a", "#9b2c2c", "#276749", "#b7791f", "#553c9a"]


def _frame(title: str, x_label: str, y_label: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" '
        f'font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="15">{escape(title)}</text>',
        f'<text x="{LEFT + (WIDTH - LEFT - RIGHT) / 2}" y="{HEIGHT - 10}" text-anchor="middle">{escape(x_label)}</text>',
        f'<text x="16" y="{TOP + (HEIGHT - TOP - BOTTOM) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 16 {TOP + (HEIGHT - TOP - BOTTOM) / 2})">{escape(y_label)}</text>',
    ]


def _axes(parts: list[str], y_max: float) -> None:
    plot_h = HEIGHT - TOP - BOTTOM
    for i in range(5):
        value = y_max * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>')


def line_chart(series: dict[str, list[tuple[float, float]]], *, title: str, x_label: str, y_label: str,
               marker_x: float | None = None) -> str:
    """Lines over a shared x axis; ``marker_x`` draws a dashed vertical line (a chosen threshold)."""
    xs = [x for points in series.values() for x, _ in points]
    x_min, x_max = min(xs), max(xs)
    y_max = max((y for points in series.values() for _, y in points), default=1) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + (x - x_min) / ((x_max - x_min) or 1) * plot_w

    def sy(y: float) -> float:
        return TOP + plot_h - y / y_max * plot_h

    parts = _frame(title, x_label, y_label)
    _axes(parts, y_max)
    for x in sorted(set(xs)):
        parts.append(f'<text x="{sx(x):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">{x:g}</text>')
    if marker_x is not None:
        parts.append(f'<line x1="{sx(marker_x):.1f}" x2="{sx(marker_x):.1f}" y1="{TOP}" y2="{TOP + plot_h}" '
                     'stroke="#555" stroke-dasharray="4 3"/>')
    for n, (name, points) in enumerate(series.items()):
        colour = COLOURS[n % len(COLOURS)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        parts.extend(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{colour}"/>' for x, y in points)
        parts.append(f'<text x="{WIDTH - RIGHT + 10}" y="{TOP + 16 + 18 * n}" fill="{colour}">{escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def bar_chart(values: dict[str, float], *, title: str, y_label: str) -> str:
    y_max = max(values.values(), default=1) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = _frame(title, "", y_label)
    _axes(parts, y_max)
    slot = plot_w / max(len(values), 1)
    for n, (name, value) in enumerate(values.items()):
        height = value / y_max * plot_h
        x = LEFT + slot * n + slot * 0.2
        parts.append(f'<rect x="{x:.1f}" y="{TOP + plot_h - height:.1f}" width="{slot * 0.6:.1f}" '
                     f'height="{height:.1f}" fill="{COLOURS[n % len(COLOURS)]}"/>')
        parts.append(f'<text x="{x + slot * 0.3:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">{escape(name)}</text>')
        parts.append(f'<text x="{x + slot * 0.3:.1f}" y="{TOP + plot_h - height - 6:.1f}" '
                     f'text-anchor="middle">{value:.2f}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
