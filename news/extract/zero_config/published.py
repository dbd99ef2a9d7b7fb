"""When an unknown page's article was published, to the minute.

Metadata (``article:published_time``, JSON-LD, ``itemprop``) is exact when it
carries a time of day, but many Vietnamese sites either have none or fill it
with midnight; what they do print is a date near the title, in any of the
shapes :func:`news.extract.dates.parse_vietnamese_datetime` reads ("15:20 PM |
21/12/2012", "24/12/12 11:05 tối", year-less "16:56 | 13/03"). Two traps: the
portal's live header clock (which is "now", not the publication time) and the
dates of other articles listed around this one.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from news.extract.dates import ParsedDate, looks_like_header_clock, parse_vietnamese_datetime
from news.extract.zero_config.layout import HAS_TIME, UNDER_TITLE, Line
from news.extract.zero_config.lookup import clean, jsonld_value, meta

__all__ = ["published_at", "shown_date"]

_HAS_DATE = re.compile(r"\d{1,2}[/.-]\d{1,2}|\d{4}-\d{2}-\d{2}")
#: Lines above the title are searched too (some CMSs print the date first), less far.
_ABOVE_TITLE = 6
#: Without a title element, how far from the top of the page a date may be.
_NO_ANCHOR_REACH = 60
#: Dates inside links are other articles' dates, except right under the title
#: where some CMSs (WordPress) wrap their own date in a permalink.
_LINKED_DATE_REACH = 3
_MAX_DATE_LINE = 120
#: A visible date this close to the metadata is the same moment, shown in local time.
_SAME_MOMENT = timedelta(minutes=2)


def _meta_date(root: Any, ld: list[dict[str, Any]]) -> str:
    candidates = [
        meta(root, "article:published_time", "og:published_time"),
        jsonld_value(ld, "datePublished"),
        meta(root, "datePublished", "pubdate", "publishdate", "date", "dc.date.issued"),
    ]
    candidates += [clean(v) for v in root.xpath("//*[@itemprop='datePublished']/@datetime")]
    candidates += [clean(v) for v in root.xpath("//time[@pubdate]/@datetime")]
    return next((c for c in candidates if _HAS_DATE.search(c)), "")


def shown_date(lines: list[Line], at: int, now: datetime, tz: ZoneInfo) -> ParsedDate | None:
    """The dated line closest to the title (after it preferred); link lists ignored.

    Also the proof that a page is dated for a reader, not only for crawlers.
    """
    start = max(0, at - _ABOVE_TITLE) if at >= 0 else 0
    stop = at + UNDER_TITLE if at >= 0 else _NO_ANCHOR_REACH
    best: tuple[int, ParsedDate] | None = None
    for i in range(start, min(stop, len(lines))):
        line = lines[i]
        near = at >= 0 and abs(i - at) <= _LINKED_DATE_REACH
        if (line.in_link and not near) or len(line.text) > _MAX_DATE_LINE:
            continue
        if not HAS_TIME.search(line.text) or looks_like_header_clock(line.text):
            continue
        parsed = parse_vietnamese_datetime(line.text, now=now, tz=tz)
        if parsed is None:
            continue
        distance = (i - at) if i >= at else 2 * (at - i)
        if best is None or distance < best[0]:
            best = (distance, parsed)
    return best[1] if best else None


def published_at(
    root: Any, ld: list[dict[str, Any]], lines: list[Line], at: int, now: datetime, tz: ZoneInfo
) -> ParsedDate | None:
    """Publication moment and whether its year was guessed; ``None`` if not shown.

    Metadata with a time of day wins unless the visible date agrees with it to
    the minute (then the visible one keeps the page's own offset and rounding).
    """
    shown = shown_date(lines, at, now, tz)
    meta_text = _meta_date(root, ld)
    parsed = parse_vietnamese_datetime(meta_text, now=now, tz=tz) if meta_text else None
    if parsed is not None and HAS_TIME.search(meta_text):
        agree = shown is not None and abs(shown.value - parsed.value) < _SAME_MOMENT
        return shown if agree else parsed
    return shown or parsed
