"""When a reader's alert goes out: parsing /digest and /quiet, and the hold they imply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from news.reader_schedule import (
    DIGEST,
    QUIET,
    SEND_NOW,
    Hold,
    hold_for,
    in_quiet_hours,
    parse_clock,
    parse_hours,
    parse_zone,
)

HANOI = "Asia/Ho_Chi_Minh"  # UTC+7


@pytest.mark.parametrize(
    ("text", "clock"),
    [("7:05", "07:05"), ("07:05", "07:05"), ("7h05", "07:05"), ("23.59", "23:59"),
     ("24:00", None), ("7", None), ("", None), ("07:60", None), ("x" * 20_000, None)],
)  # fmt: skip
def test_parse_clock(text: str, clock: str | None) -> None:
    assert parse_clock(text) == clock


@pytest.mark.parametrize(
    ("text", "hours"),
    [("22-7", (22, 7)), ("22:00-07:00", (22, 7)), ("22h - 7h", (22, 7)), ("0-6", (0, 6)),
     ("7-7", None), ("25-3", None), ("22", None), ("a-b", None)],
)  # fmt: skip
def test_parse_hours(text: str, hours: tuple[int, int] | None) -> None:
    assert parse_hours(text) == hours


def test_quiet_hours_may_wrap_past_midnight() -> None:
    assert in_quiet_hours(23, 22, 7) and in_quiet_hours(3, 22, 7)
    assert not in_quiet_hours(7, 22, 7) and not in_quiet_hours(12, 22, 7)
    assert in_quiet_hours(13, 12, 14) and not in_quiet_hours(14, 12, 14)


def hold(now: datetime, **habits: object) -> Hold:
    fields = {"tz": None, "digest_at": None, "quiet_from": None, "quiet_to": None, **habits}
    return hold_for(now=now, default_tz=HANOI, **fields)  # type: ignore[arg-type]


def test_no_habits_send_now() -> None:
    assert hold(datetime(2026, 12, 1, 5, 0, tzinfo=UTC)) == SEND_NOW


def test_digest_waits_for_the_next_local_digest_time() -> None:
    before = hold(datetime(2026, 12, 1, 23, 30, tzinfo=UTC), digest_at="07:00")  # 06:30 local
    assert before.bundle == DIGEST
    assert before.release_at == datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    after = hold(datetime(2026, 12, 2, 0, 0, tzinfo=UTC), digest_at="07:00")  # 07:00 sharp
    assert after.release_at == datetime(2026, 12, 3, 0, 0, tzinfo=UTC)


def test_quiet_hours_hold_until_they_end_in_the_readers_zone() -> None:
    # 23:00 in Hà Nội, quiet 22-7: released at 07:00 local the next morning
    held = hold(datetime(2026, 12, 1, 16, 0, tzinfo=UTC), quiet_from=22, quiet_to=7)
    assert held.bundle == QUIET
    assert held.release_at == datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    # the same instant is 17:00 in London: not quiet there
    london = hold(
        datetime(2026, 12, 1, 16, 0, tzinfo=UTC), tz="Europe/London", quiet_from=22, quiet_to=7
    )
    assert london == SEND_NOW
    # an unknown zone falls back to the newsroom's instead of failing
    assert (
        hold(
            datetime(2026, 12, 1, 16, 0, tzinfo=UTC), tz="Mars/Olympus", quiet_from=22, quiet_to=7
        ).bundle
        == QUIET
    )


def test_a_digest_reader_waits_for_the_digest_even_in_quiet_hours() -> None:
    held = hold(
        datetime(2026, 12, 1, 16, 0, tzinfo=UTC), digest_at="18:00", quiet_from=22, quiet_to=7
    )
    assert held.bundle == DIGEST


@pytest.mark.parametrize(
    ("text", "zone"),
    [("Asia/Bangkok", "Asia/Bangkok"), ("asia/ho_chi_minh", "Asia/Ho_Chi_Minh"),
     ("+7", "Etc/GMT-7"), ("UTC-5", "Etc/GMT+5"), ("gmt+0", "UTC"), ("+15", None),
     ("Mars/Olympus", None), ("../../etc/passwd", None), ("", None), ("x" * 20_000, None)],
)  # fmt: skip
def test_parse_zone(text: str, zone: str | None) -> None:
    assert parse_zone(text) == zone


def test_an_offset_zone_moves_the_digest_hour() -> None:
    bangkok_like = parse_zone("+7")
    tokyo_like = parse_zone("+9")
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert hold(now, tz=bangkok_like, digest_at="20:00").release_at == datetime(
        2026, 12, 1, 13, 0, tzinfo=UTC
    )
    assert hold(now, tz=tokyo_like, digest_at="20:00").release_at == datetime(
        2026, 12, 1, 11, 0, tzinfo=UTC
    ) + timedelta(days=1)
