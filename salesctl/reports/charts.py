"""Inline SVG charts for HTML reports: no scripts, no network, readable on a phone.

Each function returns a complete ``<svg>`` element as text; every label is escaped here.
A chart is drawn in its own ``viewBox`` units and scales with the page, so a layout that
fits the viewBox fits at any width. Fonts are unknown here (a phone, a desktop, Chinese),
so text is measured conservatively (``text_width``) and every label is placed, shortened
(with an ellipsis and the whole text as a ``<title>`` tooltip) or thinned out so that it
stays inside the viewBox and off its neighbours: dark text on the white page, never white
text on a bar it may not fit in.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from decimal import Decimal
from html import escape

PALETTE = ("#2f6fdf", "#f0a030", "#3aa76d", "#d9534f", "#8e6fd8", "#5bc0de")
INK, MUTED, GRID = "#1d2330", "#5a6275", "#dde1ea"
WIDTH = 360
ELLIPSIS = "…"
GAP = 6  # between labels of one axis, beyond their estimated widths


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float | Decimal) else 0.0


def char_width(char: str) -> float:
    """A character's advance in em, erring wide: a CJK (wide or ambiguous) character is a
    full em; capitals and wide Latin letters more than the ~0.6 em of the rest."""
    if unicodedata.east_asian_width(char) in ("W", "F", "A"):
        return 1.0
    if char in "MW@%mw":
        return 1.0
    if char.isupper():
        return 0.78
    return 0.64


def text_width(text: str, size: float) -> float:
    """Estimated width of ``text`` at font size ``size`` (never less than it renders)."""
    return sum(char_width(c) for c in text) * size


def fit(text: str, size: float, room: float) -> str:
    """``text``, or its longest prefix with an ellipsis that fits in ``room``."""
    if text_width(text, size) <= room:
        return text
    cut = text
    while cut and text_width(cut + ELLIPSIS, size) > room:
        cut = cut[:-1]
    return cut + ELLIPSIS if cut else ""


def money_text(value: object) -> str:
    """An amount as a label: thousands separated, cents only when there are any."""
    amount = Decimal(str(value or 0))
    return f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"


def _label(x: float, y: float, text: str, size: float, room: float, **attrs: str) -> str:
    """A ``<text>`` shortened to ``room``; shortened, it carries the whole text as a tooltip."""
    shown = fit(text, size, room)
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    element = f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}"{extra}>{escape(shown)}</text>'
    return f"<g><title>{escape(text)}</title>{element}</g>" if shown != text else element


def _svg(kind: str, width: int, height: float, body: list[str], name: str) -> str:
    """``name``: what a screen reader calls the chart, in the report's language."""
    return (
        f'<svg class="chart chart-{kind}" viewBox="0 0 {width} {height:.0f}" role="img" '
        f'aria-label="{escape(name or kind)}" fill="{INK}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(body)
        + "</svg>"
    )


def funnel(
    rows: Sequence[tuple[str, int, object]],
    *,
    heading: str = "",
    name: str = "",
    width: int = WIDTH,
) -> str:
    """The open stages as centred bars narrowing by amount (by count if no amounts), each
    with its stage name and "count · amount" above it in dark text: (stage, count, amount)."""
    if not rows:
        return ""
    by_amount = any(_num(a) for _s, _c, a in rows)
    top = max(0.0, *((_num(a) if by_amount else float(c)) for _s, c, a in rows)) or 1.0
    body: list[str] = []
    y = 0.0
    if heading:
        body.append(_label(0, 12, heading, 10, width, fill=MUTED))
        y = 18.0
    for i, (stage, count, amount) in enumerate(rows):
        caption = f"{count} · {money_text(amount)}"
        caption_w = text_width(caption, 11)
        body.append(_label(0, y + 14, stage, 12, width - caption_w - GAP))
        body.append(
            f'<text x="{width}" y="{y + 14:.1f}" font-size="11" text-anchor="end">'
            f"{escape(caption)}</text>"
        )
        share = max(0.0, (_num(amount) if by_amount else float(count)) / top)
        bar_w = max(4.0, width * share)
        colour = PALETTE[i % len(PALETTE)]
        body.append(
            f'<rect x="{(width - bar_w) / 2:.1f}" y="{y + 19:.1f}" width="{bar_w:.1f}" '
            f'height="16" rx="2" fill="{colour}"/>'
        )
        y += 42
    return _svg("funnel", width, y, body, name)


def _ticks(top: float, *, whole: bool) -> list[float]:
    """0 and up to four round steps covering ``top`` (whole numbers for counts)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if whole:
        step = max(1.0, math.ceil(step))
    return [step * i for i in range(math.ceil(top / step - 1e-9) + 1)]


def compact(value: float) -> str:
    """An axis tick: 1.5M, 250k, 40."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}" if value != int(value) else str(int(value))


def week_label_step(labels: Sequence[str], slot: float, size: float) -> int:
    """Show every k-th label, k the least that keeps neighbours apart by their width."""
    widest = max((text_width(label, size) for label in labels), default=0.0)
    return max(1, math.ceil((widest + GAP) / slot)) if slot > 0 else len(labels)


def trend(
    labels: Sequence[str],
    counts: tuple[str, Sequence[int]],
    money: tuple[str, Sequence[object]],
    *,
    x_title: str = "",
    titles: Sequence[str] = (),
    name: str = "",
    width: int = WIDTH,
) -> str:
    """Two panels over the same periods, each on its own labelled scale: counts as columns
    above, money as a line below. Period labels are thinned out (the latest always shown)
    so that none overlaps its neighbour; ``titles``: their whole names as tooltips."""
    if not labels:
        return ""
    size, tick_size = 10, 9
    count_values = [_num(v) for v in counts[1]]
    money_values = [_num(v) for v in money[1]]
    count_ticks = _ticks(max(count_values, default=0.0), whole=True)
    money_ticks = _ticks(max(money_values, default=0.0), whole=False)
    tick_texts = [compact(t) for t in count_ticks + money_ticks]
    widest_label = max(text_width(label, size) for label in labels)
    left = max(max(text_width(t, tick_size) for t in tick_texts) + 6, widest_label / 2 + 2)
    right = max(4.0, widest_label / 2 + 2)
    slot = (width - left - right) / len(labels)
    xs = [left + slot * (i + 0.5) for i in range(len(labels))]
    panel_h = 64.0
    body: list[str] = []

    def panel(top: float, title: str, ticks: list[float]) -> float:
        """Title, grid and tick labels of a panel whose plot starts at ``top``; the
        plot's bottom (value 0) is returned."""
        body.append(_label(0, top - 8, title, 11, width, font_weight="600"))
        bottom = top + panel_h
        for tick in ticks:
            y = bottom - panel_h * tick / ticks[-1]
            body.append(
                f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{width - right:.1f}" y2="{y:.1f}" '
                f'stroke="{GRID}" stroke-width="1"/>'
            )
            body.append(
                f'<text class="y-tick" x="{left - 4:.1f}" y="{y + 3:.1f}" '
                f'font-size="{tick_size}" text-anchor="end" fill="{MUTED}">{compact(tick)}</text>'
            )
        return bottom

    bottom = panel(22, counts[0], count_ticks)
    bar_w = min(slot * 0.6, 22.0)
    for x, value in zip(xs, count_values, strict=False):
        h = max(0.0, panel_h * value / count_ticks[-1])
        body.append(
            f'<rect x="{x - bar_w / 2:.1f}" y="{bottom - h:.1f}" width="{bar_w:.1f}" '
            f'height="{h:.1f}" fill="{PALETTE[0]}"/>'
        )
    bottom = panel(bottom + 34, money[0], money_ticks)
    points = [  # a negative period (refunds) sits on the axis rather than in the labels
        (x, bottom - panel_h * max(0.0, v) / money_ticks[-1])
        for x, v in zip(xs, money_values, strict=False)
    ]
    body.append(
        '<polyline points="'
        + " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        + f'" fill="none" stroke="{PALETTE[1]}" stroke-width="2"/>'
    )
    body += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{PALETTE[1]}"/>' for x, y in points]
    step = week_label_step(labels, slot, size)
    shown = range(len(labels) - 1, -1, -step)  # counted back from the latest period
    for i in sorted(shown):
        text = (
            f'<text class="x-label" x="{xs[i]:.1f}" y="{bottom + 18:.1f}" font-size="{size}" '
            f'text-anchor="middle">{escape(labels[i])}</text>'
        )
        if i < len(titles) and titles[i] != labels[i]:
            text = f"<g><title>{escape(titles[i])}</title>{text}</g>"
        body.append(text)
    height = bottom + 24
    if x_title:
        body.append(
            _label(
                (left + width - right) / 2,
                bottom + 35,
                x_title,
                size,
                width,
                text_anchor="middle",
                fill=MUTED,
            )
        )
        height = bottom + 41
    return _svg("trend", width, height, body, name)


def bars(
    rows: Sequence[tuple[str, object]],
    *,
    heading: str = "",
    name: str = "",
    width: int = WIDTH,
) -> str:
    """Horizontal bars, each with its amount after it, e.g. receivables per aging bucket."""
    if not rows:
        return ""
    size = 11
    top = max(0.0, *(_num(v) for _l, v in rows)) or 1.0
    label_w = min(max(text_width(label, size) for label, _v in rows), width * 0.35)
    value_w = max(text_width(money_text(v), size) for _l, v in rows)
    bar_x = label_w + GAP
    room = width - bar_x - value_w - GAP
    body: list[str] = []
    y = 0.0
    if heading:
        body.append(_label(0, 12, heading, 10, width, fill=MUTED))
        y = 18.0
    for label, value in rows:
        w = max(0.0, room * _num(value) / top)  # a credit balance draws no bar
        body.append(_label(0, y + 14, label, size, label_w))
        body.append(
            f'<rect x="{bar_x:.1f}" y="{y + 3:.1f}" width="{w:.1f}" height="16" '
            f'fill="{PALETTE[3]}"/>'
        )
        body.append(
            f'<text x="{bar_x + w + 4:.1f}" y="{y + 15:.1f}" font-size="{size}">'
            f"{money_text(value)}</text>"
        )
        y += 24
    return _svg("aging", width, y, body, name)
