"""Server-rendered SVG charts: a few hundred bytes each, no JavaScript, readable on a phone."""

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Colour-blind-safe palette (Okabe–Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9")


def line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    width: int = 640,
    height: int = 220,
    maximum: float = 100.0,
    unit: str = "%",
) -> SafeString:
    """Lines over weeks on a 0..maximum scale; a None value leaves a gap in its line."""
    left, right, top, bottom = 36, 8, 8, 58  # below the plot: week labels, two legend rows
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(value: float) -> float:
        return top + plot_h * (1 - min(value, maximum) / maximum if maximum else 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="chart" role="img" aria-label="{escape(", ".join(name for name, _ in series))}">'
    ]
    for step in range(5):
        level = maximum * step / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(level):.1f}" y2="{y(level):.1f}" '
            f'stroke="#ddd"/><text x="{left - 4}" y="{y(level) + 4:.1f}" font-size="10" '
            f'text-anchor="end">{level:g}{escape(unit)}</text>'
        )
    for i, label in enumerate(labels):
        if n <= 6 or i % 2 == (n - 1) % 2:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - bottom + 14}" font-size="10" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    for index, (name, values) in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        segments: list[list[str]] = [[]]
        for i, value in enumerate(values):
            if value is None:
                segments.append([])
            else:
                segments[-1].append(f"{x(i):.1f},{y(value):.1f}")
                parts.append(
                    f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="2.5" fill="{colour}">'
                    f"<title>{escape(name)}: {value:g}{escape(unit)}</title></circle>"
                )
        for points in segments:
            if len(points) > 1:
                parts.append(
                    f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                    f'points="{" ".join(points)}"/>'
                )
        legend_x = left + (index % 3) * (plot_w // 3)
        legend_y = height - 24 + (index // 3) * 14
        parts.append(
            f'<rect x="{legend_x}" y="{legend_y - 8}" width="10" height="3" fill="{colour}"/>'
            f'<text x="{legend_x + 14}" y="{legend_y - 4}" font-size="10">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text inside is escaped above
