"""Year-less dates stay monotonic with the listing order during a backfill."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from news.poll import keep_inferred_dates_monotonic, map_category
from tests.helpers import extracted

ICT = timezone(timedelta(hours=7))


def test_an_older_listed_page_never_gets_a_newer_inferred_date() -> None:
    # fetched 2024-01-02; the listing (newest first) says 01/01, 30/12, then "15/01":
    # 15/01 read as 2024 would be newer than its predecessors, so it is 2023-01-15.
    pages = [
        replace(
            extracted(1), published_at=datetime(2024, 1, 1, 9, 0, tzinfo=ICT), date_inferred=True
        ),
        replace(
            extracted(2), published_at=datetime(2023, 12, 30, 8, 0, tzinfo=ICT), date_inferred=True
        ),
        replace(
            extracted(3), published_at=datetime(2024, 1, 15, 7, 0, tzinfo=ICT), date_inferred=True
        ),
        replace(extracted(4), published_at=None, date_inferred=False),
        replace(
            extracted(5), published_at=datetime(2024, 2, 29, 7, 0, tzinfo=ICT), date_inferred=True
        ),
    ]
    fixed = keep_inferred_dates_monotonic(pages)
    assert [a.published_at for a in fixed] == [
        datetime(2024, 1, 1, 9, 0, tzinfo=ICT),
        datetime(2023, 12, 30, 8, 0, tzinfo=ICT),
        datetime(2023, 1, 15, 7, 0, tzinfo=ICT),
        None,
        datetime(2022, 2, 28, 7, 0, tzinfo=ICT),
    ]


def test_explicit_years_are_never_moved() -> None:
    pages = [
        replace(extracted(1), published_at=datetime(2020, 1, 1, tzinfo=ICT), date_inferred=False),
        replace(extracted(2), published_at=datetime(2024, 1, 1, tzinfo=ICT), date_inferred=False),
    ]
    assert keep_inferred_dates_monotonic(pages) == pages


def test_site_categories_map_to_loa_categories_by_folded_name() -> None:
    article = extracted(1, category="Công tác Tuyên giáo")
    mapped = map_category(article, {"cong tac tuyen giao": "Tuyên giáo"})
    assert (mapped.category, mapped.category_slug) == ("Tuyên giáo", "tuyen-giao")
    assert map_category(article, {"Kinh tế": "Kinh tế"}) == article
