"""Parse the publication dates Vietnamese news pages print.

Sites write dates in many shapes: "Thứ sáu, 28/12/2012, 14:46 GMT+7",
"24/12/12 11:05 tối", "15:20 PM | 21/12/2012", ISO 8601, relative forms such as
"2 giờ trước" or "hôm qua", and, on the provincial portal, "16:56 | 13/03" with
no year at all. A missing year is inferred as the latest such moment that is not
in the future (with a little tolerance for clock skew between us and the site),
and the result says so, because a guessed year must never be presented as fact.

Parsing never raises on bad input: an impossible date ("31/02") gives ``None``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

__all__ = ["DEFAULT_SKEW", "ParsedDate", "looks_like_header_clock", "parse_vietnamese_datetime"]

#: How far into the future a year-less date may land: the site's clock may run
#: a few minutes ahead of ours.
DEFAULT_SKEW = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class ParsedDate:
    """A parsed, timezone-aware moment.

    ``inferred_year`` is true when the page did not state the moment in full: the
    year was guessed, or the date was relative ("hôm qua", "2 giờ trước").
    """

    value: datetime
    inferred_year: bool


_ISO = re.compile(
    r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?"
    r"\s*(z|[+-]\d{2}(?::?\d{2})?)?)?(?![\d:])",
    re.IGNORECASE,
)
_DATE = re.compile(r"(?<![\d/.:-])(\d{1,2})([/.-])(\d{1,2})(?:\2(\d{4}|\d{2}))?(?![\d/:]|\.\d)")
_TIME = re.compile(
    r"(?<![\d:/.])(\d{1,2})\s?(?::|h|g)\s?(\d{2})(?::(\d{2}))?(?![\d/])"
    r"(?:\s*(am|pm|sa|ch|sáng|trưa|chiều|tối|đêm|khuya)(?!\w))?",
    re.IGNORECASE,
)
_OFFSET = re.compile(r"(?:gmt|utc)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)
_RELATIVE = re.compile(r"(\d+)\s*(giây|phút|giờ|tiếng|ngày|tuần|tháng|năm)\s*trước", re.IGNORECASE)
_DAY_WORDS = re.compile(r"\b(hôm nay|hôm qua|hôm kia|vừa xong|vừa mới)\b", re.IGNORECASE)
_HEADER_CLOCK = re.compile(
    r"(?:thứ\s+(?:hai|ba|tư|năm|sáu|bảy|[2-7])|chủ\s+nhật)\s*,?\s*(?:ngày\s+)?"
    r"\d{1,2}/\d{1,2}/\d{4}\s*[,-]?\s*\d{1,2}:\d{2}:\d{2}",
    re.IGNORECASE,
)

_UNIT_SECONDS = {
    "giây": 1,
    "phút": 60,
    "giờ": 3600,
    "tiếng": 3600,
    "ngày": 86400,
    "tuần": 7 * 86400,
    "tháng": 30 * 86400,
    "năm": 365 * 86400,
}
_DAYS_BACK = {"hôm nay": 0, "hôm qua": 1, "hôm kia": 2}


def _clean(text: str) -> str:
    """NFC and single spaces, so the patterns see one spelling of each letter."""
    text = unicodedata.normalize("NFC", text)
    return re.sub(r"[\s\u200b\ufeff]+", " ", text).strip()


def _adjust_hour(hour: int, marker: str | None) -> int | None:
    """Apply an AM/PM or Vietnamese part-of-day marker; ``None`` if impossible."""
    if marker is None:
        return hour if 0 <= hour <= 23 else None
    marker = marker.lower()
    if hour > 23 or (hour > 12 and marker in ("am", "sa", "sáng")):
        return None
    if hour > 12:
        return hour  # "15:20 PM": already on the 24-hour clock
    if marker in ("am", "sa", "sáng"):
        return 0 if hour == 12 else hour
    if marker in ("pm", "ch", "chiều", "tối"):
        return hour if hour == 12 else hour + 12
    if marker == "trưa":  # around noon: "12 giờ trưa", "1 giờ trưa"
        return hour if hour >= 11 else hour + 12
    # đêm / khuya: "11 giờ đêm" is 23:00, "2 giờ đêm" is 02:00
    if hour == 12:
        return 0
    return hour + 12 if hour >= 6 else hour


def _offset_tz(text: str) -> tzinfo | None:
    match = _OFFSET.search(text)
    if match is None:
        return None
    hours, minutes = int(match.group(2)), int(match.group(3) or 0)
    if hours > 14 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if match.group(1) == "-" else delta)


def _aware_now(now: datetime, tz: ZoneInfo) -> datetime:
    """``now`` in ``tz``; a naive ``now`` is taken to be wall time in ``tz``."""
    return now.replace(tzinfo=tz) if now.tzinfo is None else now.astimezone(tz)


def _parse_iso(text: str, tz: ZoneInfo) -> ParsedDate | None:
    match = _ISO.search(text)
    if match is None:
        return None
    year, month, day, hh, mm, ss, off = match.groups()
    zone: tzinfo = tz
    if off:
        if off.lower() == "z":
            zone = UTC
        else:
            sign = -1 if off[0] == "-" else 1
            digits = off[1:].replace(":", "")
            zone = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0)))
    try:
        value = datetime(
            int(year), int(month), int(day), int(hh or 0), int(mm or 0), int(ss or 0), tzinfo=zone
        )
    except ValueError:
        return None
    return ParsedDate(value.astimezone(tz), inferred_year=False)


def _nearest_time(text: str, date_span: tuple[int, int]) -> re.Match[str] | None:
    """The time closest to the date, so "16:56 | 13/03" and "13/03 16:56" both work."""
    best: re.Match[str] | None = None
    best_distance = 0
    for match in _TIME.finditer(text):
        if match.start() < date_span[1] and match.end() > date_span[0]:
            continue
        distance = max(date_span[0] - match.end(), match.start() - date_span[1])
        if best is None or distance < best_distance:
            best, best_distance = match, distance
    return best


def _expand_year(two_digits: int, now_year: int) -> int:
    year = 2000 + two_digits
    return year if year <= now_year + 1 else year - 100


def _latest_not_after(
    month: int, day: int, hour: int, minute: int, second: int, zone: tzinfo, limit: datetime
) -> datetime | None:
    """Latest date with this month/day/time not later than ``limit``."""
    for year in range(limit.year + 1, limit.year - 9, -1):  # 29/02 may be 8 years back
        try:
            candidate = datetime(year, month, day, hour, minute, second, tzinfo=zone)
        except ValueError:
            continue
        if candidate <= limit:
            return candidate
    return None


def _parse_numeric(text: str, now: datetime, tz: ZoneInfo, skew: timedelta) -> ParsedDate | None:
    zone = _offset_tz(text) or tz
    for date in _DATE.finditer(text):
        day, sep, month, year_text = date.groups()
        if sep == "." and year_text is None:
            continue  # "10.5" is a number, not a date
        time = _nearest_time(text, date.span())
        if year_text is None and time is None:
            continue  # "5-10" alone is too ambiguous to call a date
        hour = minute = second = 0
        if time is not None:
            adjusted = _adjust_hour(int(time.group(1)), time.group(4))
            if adjusted is None or int(time.group(2)) > 59 or int(time.group(3) or 0) > 59:
                continue
            hour, minute, second = adjusted, int(time.group(2)), int(time.group(3) or 0)
        if year_text is None:
            try:
                limit = (now + skew).astimezone(zone)
            except OverflowError:  # now is at the end of the calendar
                limit = now.astimezone(zone)
            found = _latest_not_after(int(month), int(day), hour, minute, second, zone, limit)
            if found is None:
                continue
            return ParsedDate(found.astimezone(tz), inferred_year=True)
        year = int(year_text)
        if len(year_text) == 2:
            year = _expand_year(year, now.year)
        try:
            value = datetime(year, int(month), int(day), hour, minute, second, tzinfo=zone)
        except ValueError:
            continue
        return ParsedDate(value.astimezone(tz), inferred_year=False)
    return None


def _parse_relative(text: str, now: datetime, tz: ZoneInfo) -> ParsedDate | None:
    match = _RELATIVE.search(text)
    if match is not None:
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
        try:
            return ParsedDate((now - timedelta(seconds=seconds)).astimezone(tz), True)
        except OverflowError:
            return None  # "99999 năm trước": not a date
    words = _DAY_WORDS.search(text)
    if words is None:
        return None
    word = words.group(1).lower()
    if word.startswith("vừa"):
        return ParsedDate(now, inferred_year=True)
    day = now - timedelta(days=_DAYS_BACK[word])
    time = _TIME.search(text)
    if time is not None:
        hour = _adjust_hour(int(time.group(1)), time.group(4))
        if hour is None or int(time.group(2)) > 59:
            return None
        day = day.replace(hour=hour, minute=int(time.group(2)), second=0, microsecond=0)
    return ParsedDate(day, inferred_year=True)


def parse_vietnamese_datetime(
    text: str, *, now: datetime, tz: ZoneInfo, skew: timedelta = DEFAULT_SKEW
) -> ParsedDate | None:
    """Find and parse the first date in ``text``; ``None`` if there is none or it is invalid.

    ``now`` anchors relative dates and year inference; ``tz`` is the site's zone,
    used when the text states no offset, and the zone of the returned value.
    """
    text = _clean(text)
    if not text:
        return None
    now = _aware_now(now, tz)
    return (
        _parse_iso(text, tz)
        or _parse_numeric(text, now, tz, skew)
        or _parse_relative(text, now, tz)
    )


def looks_like_header_clock(line: str) -> bool:
    """True for a portal's live header clock such as "Thứ năm, 14/05/2015, 10:06:10".

    The clock shows the time the page was rendered, not when the article was
    published; the seconds give it away (article dates stop at minutes).
    """
    return _HEADER_CLOCK.fullmatch(_clean(line)) is not None
