"""Vietnamese date parsing: every form the sites print, year inference, skew."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from news.extract.dates import (
    DEFAULT_SKEW,
    ParsedDate,
    looks_like_header_clock,
    parse_vietnamese_datetime,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2023, 6, 1, 12, 0, tzinfo=TZ)
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "vi-news"


def parse(text: str, now: datetime = NOW) -> ParsedDate | None:
    return parse_vietnamese_datetime(text, now=now, tz=TZ)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


@pytest.mark.parametrize(
    ("text", "expected", "inferred"),
    [
        ("Ngày đăng: 16:56 | 13/03", at(2023, 3, 13, 16, 56), True),
        ("Ngày đăng: 16:56 | 13/03 Lượt xem: 690", at(2023, 3, 13, 16, 56), True),
        ("13/03/2023 16:56", at(2023, 3, 13, 16, 56), False),
        ("16:56 13-03-2023", at(2023, 3, 13, 16, 56), False),
        ("Thứ sáu, 28/12/2012, 14:46 GMT+7", at(2012, 12, 28, 14, 46), False),
        ("Thứ tư, 22/10/2025, 19:25 (GMT+7)", at(2025, 10, 22, 19, 25), False),
        ("Cập nhật thứ hai, ngày 24/12/12 11:05 tối", at(2012, 12, 24, 23, 5), False),
        ("Cập nhật thứ sáu, ngày 30/11/12 04:00 chiều", at(2012, 11, 30, 16, 0), False),
        ("24/12/12 08:30 sáng", at(2012, 12, 24, 8, 30), False),
        ("24/12/12 12:15 trưa", at(2012, 12, 24, 12, 15), False),
        ("24/12/12 01:15 trưa", at(2012, 12, 24, 13, 15), False),
        ("24/12/12 11:00 đêm", at(2012, 12, 24, 23, 0), False),
        ("24/12/12 02:00 đêm", at(2012, 12, 24, 2, 0), False),
        ("15:20 PM | 21/12/2012", at(2012, 12, 21, 15, 20), False),
        ("03:20 PM | 21/12/2012", at(2012, 12, 21, 15, 20), False),
        ("12:05 AM | 21/12/2012", at(2012, 12, 21, 0, 5), False),
        ("Thứ Hai, 24/12/2012, 03:04 AM (GMT+7)", at(2012, 12, 24, 3, 4), False),
        ("Thứ Ba, 25/12/2012 - 10:03", at(2012, 12, 25, 10, 3), False),
        ("Thứ Tư, 26/12/2012 17:14", at(2012, 12, 26, 17, 14), False),
        ("16h56 ngày 13/03/2023", at(2023, 3, 13, 16, 56), False),
        ("14/12/12", at(2012, 12, 14, 0, 0), False),
        ("2012-12-20T10:18:00+07:00", at(2012, 12, 20, 10, 18), False),
        ("pubdate 2012-12-23T14:02+07:00", at(2012, 12, 23, 14, 2), False),
        ("2012-12-20T03:18:00Z", at(2012, 12, 20, 10, 18), False),
        ("2012-12-20", at(2012, 12, 20, 0, 0), False),
    ],
)
def test_absolute_forms(text: str, expected: datetime, inferred: bool) -> None:
    parsed = parse(text)
    assert parsed == ParsedDate(expected, inferred_year=inferred)
    assert parsed.value.tzinfo is not None
    assert parsed.value.utcoffset() == timedelta(hours=7)


def test_stated_offset_is_honoured() -> None:
    parsed = parse("13/03/2023 16:56 GMT+0")
    assert parsed is not None
    assert parsed.value == datetime(2023, 3, 13, 16, 56, tzinfo=UTC)
    assert parsed.value == at(2023, 3, 13, 23, 56)
    parsed = parse("2023-03-13T16:56:00-05:00")
    assert parsed is not None and parsed.value == at(2023, 3, 14, 4, 56)


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("2 giờ trước", timedelta(hours=2)),
        ("30 phút trước", timedelta(minutes=30)),
        ("3 ngày trước", timedelta(days=3)),
        ("Cập nhật 45 giây trước", timedelta(seconds=45)),
        ("1 tuần trước", timedelta(days=7)),
        ("hôm qua", timedelta(days=1)),
        ("Hôm qua", timedelta(days=1)),
        ("hôm nay", timedelta(0)),
        ("vừa xong", timedelta(0)),
    ],
)
def test_relative_forms(text: str, delta: timedelta) -> None:
    assert parse(text) == ParsedDate(NOW - delta, inferred_year=True)


def test_relative_day_with_time() -> None:
    assert parse("Hôm qua, 14:30") == ParsedDate(at(2023, 5, 31, 14, 30), inferred_year=True)
    assert parse("hôm nay 08:15 sáng") == ParsedDate(at(2023, 6, 1, 8, 15), inferred_year=True)


@pytest.mark.parametrize(
    "text",
    [
        "31/02/2023 10:00",
        "30/02 10:00",
        "13/13/2023 10:00",
        "13/03/2023 24:30",
        "13/03/2023 16:75",
        "00/03/2023",
        "15:20 AM | 21/12/2012",
        "không có ngày tháng",
        "",
        "16:56",
        "5-10 người",
        "giá 10.5 triệu",
        "99999999999 năm trước",
    ],
)
def test_invalid_or_missing_dates_give_none(text: str) -> None:
    assert parse(text) is None


def test_nfd_input_is_normalised() -> None:
    text = unicodedata.normalize("NFD", "Cập nhật thứ hai, ngày 24/12/12 11:05 tối")
    assert parse(text) == ParsedDate(at(2012, 12, 24, 23, 5), inferred_year=False)
    assert parse(unicodedata.normalize("NFD", "hôm qua")) is not None


def test_year_less_date_across_new_year() -> None:
    now = at(2024, 1, 1, 0, 5)
    assert parse("23:50 | 31/12", now) == ParsedDate(at(2023, 12, 31, 23, 50), True)
    assert parse("Ngày đăng: 00:01 | 01/01", now) == ParsedDate(at(2024, 1, 1, 0, 1), True)


def test_year_less_date_skew_tolerance() -> None:
    now = at(2023, 3, 13, 16, 50)
    # six minutes "in the future": the site's clock runs ahead, still this year
    assert parse("16:56 | 13/03", now) == ParsedDate(at(2023, 3, 13, 16, 56), True)
    # exactly at the tolerance edge
    assert parse("17:00 | 13/03", now) == ParsedDate(at(2023, 3, 13, 17, 0), True)
    # beyond the tolerance: it must be last year's
    assert parse("17:01 | 13/03", now) == ParsedDate(at(2022, 3, 13, 17, 1), True)
    strict = parse_vietnamese_datetime("16:56 | 13/03", now=now, tz=TZ, skew=timedelta(0))
    assert strict == ParsedDate(at(2022, 3, 13, 16, 56), True)


def test_year_less_leap_day() -> None:
    parsed = parse("08:00 | 29/02", at(2023, 6, 1, 0, 0))
    assert parsed == ParsedDate(at(2020, 2, 29, 8, 0), True)


def test_now_in_another_zone_and_naive_now() -> None:
    utc_now = datetime(2023, 12, 31, 17, 3, tzinfo=UTC)  # 00:03 on 1 Jan in Vietnam
    assert parse("23:50 | 31/12", utc_now) == ParsedDate(at(2023, 12, 31, 23, 50), True)
    naive = datetime(2024, 1, 1, 0, 5)
    assert parse("23:50 | 31/12", naive) == ParsedDate(at(2023, 12, 31, 23, 50), True)


@given(
    now=st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2035, 12, 31)),
    month=st.integers(1, 12),
    day=st.integers(1, 31),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
)
def test_inferred_date_is_latest_not_after_now_plus_tolerance(
    now: datetime, month: int, day: int, hour: int, minute: int
) -> None:
    aware_now = now.replace(tzinfo=TZ)
    parsed = parse(f"Ngày đăng: {hour:02d}:{minute:02d} | {day:02d}/{month:02d}", aware_now)
    try:
        datetime(2000, month, day)  # 2000 is a leap year: every real day/month exists
    except ValueError:
        assert parsed is None
        return
    assert parsed is not None and parsed.inferred_year
    assert parsed.value <= aware_now + DEFAULT_SKEW
    assert (parsed.value.month, parsed.value.day) == (month, day)
    assert (parsed.value.hour, parsed.value.minute) == (hour, minute)
    later_years = [parsed.value.year + n for n in range(1, 9)]
    for year in later_years:  # no later valid year would also have been in the past
        try:
            later = parsed.value.replace(year=year)
        except ValueError:
            continue
        assert later > aware_now + DEFAULT_SKEW
        break


NOISE = "0123456789/:-.|T+Z hgAPMamp sáng chiều tối đêm GMT hôm qua trước ngày năm giờ"


@given(st.text(alphabet=NOISE, max_size=40))
def test_parser_never_raises_on_date_like_noise(text: str) -> None:
    result = parse(text)
    if result is not None:
        assert result.value.tzinfo is not None


def test_header_clock() -> None:
    assert looks_like_header_clock("Thứ năm, 14/05/2015, 10:06:10")
    assert looks_like_header_clock("  Chủ nhật, 01/01/2023, 00:00:59 ")
    assert looks_like_header_clock(unicodedata.normalize("NFD", "Thứ Bảy, 2/9/2023 07:08:09"))
    assert not looks_like_header_clock("Thứ sáu, 28/12/2012, 14:46 GMT+7")
    assert not looks_like_header_clock("Ngày đăng: 16:56 | 13/03")
    assert not looks_like_header_clock("Hôm nay: 4150")


def test_corpus_verbatim_dates() -> None:
    """Every date string in the vi-news ground truth parses to its ISO value."""
    index = CORPUS / "INDEX.json"
    if not index.exists():
        pytest.skip("vi-news corpus not available")
    entries = json.loads(index.read_text(encoding="utf-8"))
    checked = 0
    for entry in entries:
        published = entry.get("published")
        if not published or entry["file"] == "tinhte-1.html":  # time lives in an attribute
            continue
        parsed = parse(published["verbatim"], at(2026, 1, 1, 0, 0))
        assert parsed is not None, published["verbatim"]
        assert parsed.value == datetime.fromisoformat(published["iso"]), published["verbatim"]
        checked += 1
    assert checked >= 12
