"""Charts as server-side SVG: no JavaScript, no library to vendor, and they
print. Series are told apart by pattern as well as by shade (solid, hatched,
dotted, open), so a chart still reads on a black-and-white printer, and every
bar carries its figure as text.

Each function returns markup for a template; labels are escaped here. A chart
is a picture of a table the page also shows (one click away), so it carries a
`role="img"` and a title, not the figures' only copy.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

Number = int | Decimal

# Fill styles, darkest first. Each is usable without colour.
STYLES = ("solid", "hatch", "dots", "open")
_ids = itertools.count(1)

WIDTH = 720
LABEL = 170  # px for the row labels
VALUE = 110  # px for the figures at the end of a bar
BAR = 18
GAP = 8


@dataclass(frozen=True)
class Series:
    name: str
    style: str  # one of STYLES


def _defs(prefix: str) -> str:
    return (
        "<defs>"
        f'<pattern id="{prefix}-hatch" width="6" height="6" patternUnits="userSpaceOnUse"'
        ' patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#333" stroke-width="3"/></pattern>'
        f'<pattern id="{prefix}-dots" width="5" height="5" patternUnits="userSpaceOnUse">'
        '<rect width="5" height="5" fill="#fff"/><circle cx="2.5" cy="2.5" r="1.2" fill="#333"/>'
        "</pattern></defs>"
    )


def _fill(prefix: str, style: str) -> str:
    return {
        "solid": 'fill="#2f4f6f"',
        "hatch": f'fill="url(#{prefix}-hatch)"',
        "dots": f'fill="url(#{prefix}-dots)"',
        "open": 'fill="#fff"',
    }[style]


def _rect(prefix: str, style: str, x: float, y: float, w: float, title: str, h: int = BAR) -> str:
    return (
        f'<rect class="seg seg-{style}" x="{x:.1f}" y="{y}" width="{max(w, 0):.1f}" height="{h}"'
        f' {_fill(prefix, style)} stroke="#333" stroke-width="1">'
        f"<title>{escape(title)}</title></rect>"
    )


def _svg(title: str, height: int, body: str, prefix: str) -> SafeString:
    # Every label in `body` went through escape().
    return mark_safe(
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}"'
        f' width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{_defs(prefix)}{body}</svg>"
    )


def _label(y: float, text: str) -> str:
    short = text if len(text) <= 12 else text[:11] + "…"
    return (
        f'<text x="{LABEL - 6}" y="{y + BAR - 5}" text-anchor="end" font-size="13">'
        f"<title>{escape(text)}</title>{escape(short)}</text>"
    )


def _value(x: float, y: float, text: str) -> str:
    return f'<text x="{x + 6:.1f}" y="{y + BAR - 5}" font-size="12">{escape(text)}</text>'


def bars(title: str, rows: Sequence[tuple[str, Number, str]]) -> SafeString:
    """One bar per row: (label, value, the value as shown)."""
    prefix = f"c{next(_ids)}"
    top = max((v for _label_, v, _t in rows), default=0) or 1
    span = WIDTH - LABEL - VALUE
    body = []
    for i, (label, value, shown) in enumerate(rows):
        y = i * (BAR + GAP)
        w = span * float(value) / float(top)
        body.append(_label(y, label))
        body.append(_rect(prefix, "solid", LABEL, y, w, f"{label}: {shown}"))
        body.append(_value(LABEL + w, y, shown))
    return _svg(title, max(len(rows) * (BAR + GAP), BAR), "".join(body), prefix)


def stacked(
    title: str,
    series: Sequence[Series],
    rows: Sequence[tuple[str, Sequence[Number], str]],
    *,
    scale: Number | None = None,
) -> SafeString:
    """One bar per row, split into the series' parts: (label, parts, total as
    shown). Bars share one scale (the largest row, or `scale`), so lengths
    compare across rows; a legend heads the chart."""
    prefix = f"c{next(_ids)}"
    top = float(scale or max((sum(parts) for _l, parts, _t in rows), default=0) or 1)
    span = WIDTH - LABEL - VALUE
    legend_height = BAR + GAP
    body = []
    x = LABEL
    for s in series:
        body.append(_rect(prefix, s.style, x, 0, 14, s.name, h=14))
        body.append(f'<text x="{x + 19}" y="12" font-size="12">{escape(s.name)}</text>')
        x += 30 + 13 * len(s.name)
    for i, (label, parts, shown) in enumerate(rows):
        y = legend_height + i * (BAR + GAP)
        body.append(_label(y, label))
        x = float(LABEL)
        for s, part in zip(series, parts, strict=True):
            w = span * float(part) / top
            if w > 0:
                body.append(_rect(prefix, s.style, x, y, w, f"{label} · {s.name}: {part}"))
            x += w
        body.append(_value(x, y, shown))
    height = legend_height + max(len(rows), 1) * (BAR + GAP)
    return _svg(title, height, "".join(body), prefix)
