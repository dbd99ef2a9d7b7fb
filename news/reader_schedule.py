"""When a reader's alert may go out: now, at the end of quiet hours, or in the daily digest.

Held alerts are ordinary ledger rows with a `bundle` kind and a due time
(`next_attempt_at`); news.bundles sends every held row of a chat as one
message when it falls due. Times are the reader's local wall clock (their
`timezone`, else the newsroom's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DIGEST = "digest"
QUIET = "quiet"
_CLOCK = re.compile(r"([01]?[0-9]|2[0-3])[:hH.]([0-5][0-9])")
_HOUR = r"([01]?[0-9]|2[0-3])(?:[:hH.]00|[hH])?"
_HOURS = re.compile(rf"{_HOUR}\s*-\s*{_HOUR}")


@dataclass(frozen=True)
class Hold:
    """How an alert waits: `bundle` kind and when it is released (None: send now)."""

    bundle: str | None
    release_at: datetime | None


SEND_NOW = Hold(None, None)


def parse_clock(text: str) -> str | None:
    """ "7:05", "07:05", "7h05" → "07:05"; None when it is not a time of day."""
    found = _CLOCK.fullmatch(text.strip())
    return f"{int(found[1]):02d}:{found[2]}" if found else None


def parse_hours(text: str) -> tuple[int, int] | None:
    """ "22-7", "22:00-07:00", "22h-7h" → (22, 7); None for junk or an empty span."""
    found = _HOURS.fullmatch(text.strip())
    if not found:
        return None
    start, end = int(found[1]), int(found[2])
    return None if start == end else (start, end)


_OFFSET = re.compile(r"(?:utc|gmt)?\s*([+-])\s*(1[0-4]|0?[0-9])(?::00)?", re.IGNORECASE)


def parse_zone(text: str) -> str | None:
    """An IANA zone ("Asia/Bangkok", any case) or a whole-hour offset ("+7", "UTC-5"); else None."""
    text = text.strip()[:64]
    if found := _OFFSET.fullmatch(text):
        hours = int(found[2])
        if hours == 0:
            return "UTC"
        # POSIX-style Etc zones have the sign inverted: UTC+7 is Etc/GMT-7.
        return f"Etc/GMT{'-' if found[1] == '+' else '+'}{hours}"
    if not re.fullmatch(r"[A-Za-z_]+(?:/[A-Za-z0-9_+-]+){0,2}", text):
        return None
    lowered = text.lower()
    return next((z for z in _known_zones() if z.lower() == lowered), None)


def _known_zones() -> set[str]:
    from zoneinfo import available_timezones

    return available_timezones()


def zone(name: str | None, default: str) -> ZoneInfo:
    """The reader's zone, or the newsroom's when unset or unknown."""
    try:
        return ZoneInfo(name or default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def in_quiet_hours(hour: int, start: int, end: int) -> bool:
    """True when local `hour` lies in [start, end), which may wrap past midnight."""
    return start <= hour < end if start < end else hour >= start or hour < end


def _next_local(now: datetime, tz: ZoneInfo, at: time) -> datetime:
    """The first local `at` strictly after `now`, in UTC."""
    local = now.astimezone(tz)
    candidate = datetime.combine(local.date(), at, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)
    return candidate.astimezone(UTC)


def hold_for(
    *,
    now: datetime,
    default_tz: str,
    tz: str | None,
    digest_at: str | None,
    quiet_from: int | None,
    quiet_to: int | None,
) -> Hold:
    """When an alert for this reader goes out; a digest reader always waits for the digest."""
    where = zone(tz, default_tz)
    if digest_at and (clock := parse_clock(digest_at)):
        hour, minute = (int(part) for part in clock.split(":"))
        return Hold(DIGEST, _next_local(now, where, time(hour, minute)))
    if quiet_from is not None and quiet_to is not None and quiet_from != quiet_to:
        if in_quiet_hours(now.astimezone(where).hour, quiet_from, quiet_to):
            return Hold(QUIET, _next_local(now, where, time(quiet_to)))
    return SEND_NOW
