"""Charts drawn on the server as inline SVG: no script, no chart library to vendor, and a page that
prints and opens in any in-app browser. Each function returns markup for a Jinja ``|safe``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from html import escape

W, H, PAD_L, PAD_R, PAD_T, PAD_B = 640, 220, 44, 12, 12, 28
COLOURS = ("#1f6feb", "#d4760a", "#7a7a7a", "#2e9e5b", "#b83280")


def _x(i: int, n: int) -> float:
    return PAD_L + (W - PAD_L - PAD_R) * (i / max(n - 1, 1))


def _y(v: float, top: float) -> float:
    return H - PAD_B - (H - PAD_T - PAD_B) * (v / top if top else 0)


def _nice(top: float) -> float:
    """A round top for the axis (1, 2 or 5 times a power of ten, times four steps)."""
    if top <= 0:
        return 1.0
    step = top / 4
    power = 10 ** math.floor(math.log10(step))
    return 4 * next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= step)


def _frame(days: Sequence[date], top: float, percent: bool) -> list[str]:
    parts = []
    for k in range(5):
        v = top * k / 4
        y = _y(v, top)
        label = f"{v * 100:.0f}%" if percent else f"{v:,.0f}"
        parts.append(f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e3e3"/>'
                     f'<text x="{PAD_L - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#666">{label}</text>')
    n = len(days)
    for i in sorted({0, n // 2, n - 1}) if n else ():
        anchor = "start" if i == 0 else ("end" if i == n - 1 else "middle")
        parts.append(f'<text x="{_x(i, n):.1f}" y="{H - 8}" text-anchor="{anchor}" font-size="11" fill="#666">'
                     f'{days[i].month}月{days[i].day}日</text>')
    return parts


def line_chart(days: Sequence[date], series: Sequence[tuple[str, Sequence[float | None]]], *, percent: bool = True,
               title: str = "") -> str:
    """Lines over ``days`` (one value per day, None for a gap), with a legend; percentages by default."""
    values = [v for _, vs in series for v in vs if v is not None]
    top = _nice(max([*values, 0.1 if percent else 1.0]) * 1.05)
    parts = _frame(days, top, percent)
    n = len(days)
    legend = []
    for k, (name, vs) in enumerate(series):
        colour = COLOURS[k % len(COLOURS)]
        points = [f"{_x(i, n):.1f},{_y(v, top):.1f}" for i, v in enumerate(vs) if v is not None]
        if len(points) == 1:
            parts.append(f'<circle cx="{points[0].split(",")[0]}" cy="{points[0].split(",")[1]}" r="3" fill="{colour}"/>')
        elif points:
            dash = ' stroke-dasharray="6 4"' if k == len(series) - 1 and len(series) > 1 else ""
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="{" ".join(points)}"/>')
        last = next((v for v in reversed(vs) if v is not None), None)
        shown = "-" if last is None else (f"{last * 100:.1f}%" if percent else f"{last:,.0f}")
        legend.append(f'<span class="key"><i class="swatch" data-c="{k}"></i>{escape(name)} {shown}</span>')
    svg = (f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" '
           f'preserveAspectRatio="xMidYMid meet">{"".join(parts)}</svg>')
    return f'<figure class="chart">{svg}<figcaption>{"".join(legend)}</figcaption></figure>'


def bar_chart(days: Sequence[date], values: Sequence[float], *, title: str = "", unit: str = "") -> str:
    """Daily bars (a product's usage)."""
    top = _nice(max([*values, 1.0]) * 1.05)
    parts = _frame(days, top, False)
    n = len(days)
    width = max((W - PAD_L - PAD_R) / max(n, 1) - 1, 1)
    for i, v in enumerate(values):
        x = PAD_L + (W - PAD_L - PAD_R) * i / max(n, 1)
        y = _y(v, top)
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{H - PAD_B - y:.1f}" fill="{COLOURS[0]}">'
                     f'<title>{days[i]:%m-%d} {v:,.0f}{escape(unit)}</title></rect>')
    return (f'<figure class="chart"><svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}">'
            f'{"".join(parts)}</svg></figure>')
