"""Inline SVG charts for HTML reports: no scripts, no network, readable on a phone.

Each function returns a complete ``<svg>`` element as text; every label is escaped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape

PALETTE = ("#2f6fdf", "#f0a030", "#3aa76d", "#d9534f", "#8e6fd8", "#5bc0de")


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float | Decimal) else 0.0


def funnel(rows: Sequence[tuple[str, float, str]], *, width: int = 360) -> str:
    """Centred bars narrowing by value: (label, value, caption) per stage."""
    if not rows:
        return ""
    top = max(_num(v) for _l, v, _c in rows) or 1.0
    bar_h, gap = 26, 6
    height = len(rows) * (bar_h + gap)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="funnel" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, value, caption) in enumerate(rows):
        w = max(4.0, (width - 120) * _num(value) / top)
        x = 120 + ((width - 120) - w) / 2
        y = i * (bar_h + gap)
        colour = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}"/>'
        )
        parts.append(f'<text x="4" y="{y + 17}" font-size="12">{escape(label)}</text>')
        parts.append(
            f'<text x="{120 + (width - 120) / 2:.1f}" y="{y + 17}" font-size="11" '
            f'text-anchor="middle" fill="#fff">{escape(caption)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def trend(
    labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, width: int = 360
) -> str:
    """Lines over periods, each series scaled to its own maximum (shapes, not totals)."""
    if not labels:
        return ""
    height, pad = 170, 24
    step = (width - 2 * pad) / max(1, len(labels) - 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="trend" xmlns="http://www.w3.org/2000/svg">'
    ]
    for s, (name, values) in enumerate(series):
        top = max((_num(v) for v in values), default=0.0) or 1.0
        points = " ".join(
            f"{pad + i * step:.1f},{height - 40 - (height - 70) * _num(v) / top:.1f}"
            for i, v in enumerate(values)
        )
        colour = PALETTE[s % len(PALETTE)]
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'
        )
        parts.append(
            f'<text x="{pad + s * 150}" y="14" font-size="12" fill="{colour}">{escape(name)}</text>'
        )
    for i, label in enumerate(labels):
        if len(labels) <= 8 or i % 2 == 0:
            parts.append(
                f'<text x="{pad + i * step:.1f}" y="{height - 8}" font-size="9" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def bars(rows: Sequence[tuple[str, float]], *, width: int = 360) -> str:
    """Horizontal bars with values, e.g. receivables per aging bucket."""
    if not rows:
        return ""
    top = max(_num(v) for _l, v in rows) or 1.0
    bar_h, gap = 20, 6
    height = len(rows) * (bar_h + gap)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="bars" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, value) in enumerate(rows):
        y = i * (bar_h + gap)
        w = (width - 180) * _num(value) / top
        parts.append(f'<text x="0" y="{y + 14}" font-size="12">{escape(label)}</text>')
        parts.append(f'<rect x="80" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{PALETTE[3]}"/>')
        parts.append(
            f'<text x="{84 + w:.1f}" y="{y + 14}" font-size="11">{_num(value):,.2f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
