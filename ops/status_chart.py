"""The status page's chart: articles found and messages sent per hour, as inline SVG.

Rendered on the server (no script, no CDN, nothing fetched by the browser), so
the page works behind any proxy and in a screenshot. Messages sent are bars,
articles found a line with dots over them, on one shared axis (a message per
article and chat, so the bars are usually the taller series). Hour labels are
in the newsroom's time zone; every text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from zoneinfo import ZoneInfo

from ops.status_data import HourPoint

WIDTH = 960
HEIGHT = 300
#: plot area inside the SVG: left for the y labels, bottom for the hours, top for the legend
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 12, 40, 44
SENT_COLOUR = "#4f8fd8"
FOUND_COLOUR = "#e8772e"
_GRID = "#e3e6ea"
_INK = "#4a5260"


@dataclass(frozen=True)
class ChartTexts:
    """The chart's words in the page's language."""

    title: str
    found: str
    sent: str
    #: strftime pattern of a day mark under midnight, e.g. "%d/%m"
    day_format: str = "%d/%m"


def axis_step(value: int) -> int:
    """A 1, 2 or 5 × 10ⁿ step that covers `value` in at most 5 grid lines (at least 1)."""
    rough = max(value, 4) / 4
    power = int(10 ** math.floor(math.log10(rough)))
    for step in (1, 2, 5, 10):
        if step * power >= rough:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def hourly_chart(points: Sequence[HourPoint], tz: ZoneInfo, texts: ChartTexts) -> str:
    """The SVG element for `points` (oldest first), hour labels in `tz`."""
    plot_w = WIDTH - _LEFT - _RIGHT
    plot_h = HEIGHT - _TOP - _BOTTOM
    highest = max([p.sent for p in points] + [p.articles for p in points] + [0])
    step = axis_step(highest)
    top = step * max(math.ceil(highest / step), 1)
    slot = plot_w / max(len(points), 1)

    def y(value: int) -> float:
        return _TOP + plot_h - plot_h * value / top

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" aria-label="{escape(texts.title)}" class="chart" '
        'font-family="system-ui, sans-serif" font-size="12">',
        f"<title>{escape(texts.title)}</title>",
    ]
    for value in range(0, top + 1, step):
        parts.append(
            f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            f'stroke="{_GRID}"/>'
            f'<text x="{_LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" '
            f'fill="{_INK}">{value}</text>'
        )
    for i, point in enumerate(points):
        x = _LEFT + i * slot
        height = plot_h * point.sent / top
        if point.sent:
            parts.append(
                f'<rect x="{x + slot * 0.15:.1f}" y="{y(point.sent):.1f}" '
                f'width="{slot * 0.7:.1f}" height="{height:.1f}" fill="{SENT_COLOUR}" rx="1.5">'
                f"<title>{escape(texts.sent)}: {point.sent}</title></rect>"
            )
        local = point.start.astimezone(tz)
        if local.hour % 6 == 0:
            centre = x + slot / 2
            parts.append(
                f'<line x1="{centre:.1f}" x2="{centre:.1f}" y1="{_TOP + plot_h}" '
                f'y2="{_TOP + plot_h + 4}" stroke="{_INK}"/>'
                f'<text x="{centre:.1f}" y="{_TOP + plot_h + 17}" text-anchor="middle" '
                f'fill="{_INK}">{local:%H}:00</text>'
            )
            if local.hour == 0:
                parts.append(
                    f'<text x="{centre:.1f}" y="{_TOP + plot_h + 32}" text-anchor="middle" '
                    f'fill="{_INK}" font-weight="600">'
                    f"{escape(local.strftime(texts.day_format))}</text>"
                )
    line = " ".join(
        f"{_LEFT + i * slot + slot / 2:.1f},{y(p.articles):.1f}" for i, p in enumerate(points)
    )
    if points:
        parts.append(
            f'<polyline points="{line}" fill="none" stroke="{FOUND_COLOUR}" '
            'stroke-width="2.5" stroke-linejoin="round"/>'
        )
    for i, point in enumerate(points):
        if point.articles:
            parts.append(
                f'<circle cx="{_LEFT + i * slot + slot / 2:.1f}" cy="{y(point.articles):.1f}" '
                f'r="3" fill="{FOUND_COLOUR}"><title>{escape(texts.found)}: {point.articles}'
                "</title></circle>"
            )
    parts.append(
        f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{_TOP + plot_h}" y2="{_TOP + plot_h}" '
        f'stroke="{_INK}"/>'
    )
    parts.append(_legend(texts))
    parts.append("</svg>")
    return "".join(parts)


def _legend(texts: ChartTexts) -> str:
    """Two keys in the top left: the bar's colour and the line's."""
    found_x = _LEFT + 30 + 8 * len(texts.sent) + 40
    return (
        f'<g class="legend"><rect x="{_LEFT}" y="12" width="14" height="12" rx="2" '
        f'fill="{SENT_COLOUR}"/><text x="{_LEFT + 20}" y="22" fill="{_INK}">'
        f"{escape(texts.sent)}</text>"
        f'<line x1="{found_x}" x2="{found_x + 18}" y1="18" y2="18" stroke="{FOUND_COLOUR}" '
        f'stroke-width="2.5"/><circle cx="{found_x + 9}" cy="18" r="3" fill="{FOUND_COLOUR}"/>'
        f'<text x="{found_x + 24}" y="22" fill="{_INK}">{escape(texts.found)}</text></g>'
    )
