"""Search over the folded index, on the real database (SQLite, or PostgreSQL with DATABASE_URL)."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic import command
from sqlalchemy import Engine, column, delete, insert, table, update
from sqlalchemy.orm import Session, sessionmaker

from news.db import make_session_factory
from news.migrate import alembic_config, upgrade
from news.models import Article, ArticleStatus
from news.search import MAX_RESULTS, MAX_WORDS, query_words, search_page
from news.store import search_text
from tests.helpers import extracted, store_article
from tests.news.test_identity_migration import fresh_engine

__all__ = ["fresh_engine"]  # the fixture: a database of its own, to walk the schema

T0 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 10:00 in Hà Nội
ICT = timezone(timedelta(hours=7))


def titles(
    factory: sessionmaker[Session], query: str, *, size: int = 20, page: int = 0
) -> list[str]:
    return [h.title for h in search_page(factory, query, page=page, size=size, tz=ICT).items]


def add(
    factory: sessionmaker[Session],
    n: int,
    title: str,
    *,
    summary: str = "Tóm tắt bài viết.",
    at: datetime | None = None,
) -> int:
    """Store article `n`, by default `n` minutes before T0 (the lower n, the newer)."""
    when = at or T0 - timedelta(minutes=n)
    stored = store_article(factory, extracted(n, title=title, summary=summary, published_at=when))
    return stored.article_id


def test_words_fold_like_the_stored_text() -> None:
    assert query_words("Đảng  ủy!") == ("dang", "uy")
    assert query_words(unicodedata.normalize("NFD", "Tuyên giáo")) == ("tuyen", "giao")
    assert query_words("ĐƯỜNG đi") == ("duong", "di")
    assert query_words('"*(NEAR OR - :') == ("near", "or")
    assert query_words("🙂🙂 \u200b\u200d") == ()
    assert len(query_words("a " * 10_000)) == MAX_WORDS
    assert query_words("x" * 20_000) == ("x" * 40,)


def test_without_diacritics_dang_finds_dang_and_d_folds(factory: sessionmaker[Session]) -> None:
    add(factory, 1, "Đại hội Đảng bộ tỉnh")
    add(factory, 2, "Giá lúa tăng", summary="Nông dân đồng bằng vui mừng.")
    add(factory, 3, "Đang cập nhật")  # "đang" folds to "dang" too: the same word to a reader
    assert titles(factory, "dang") == ["Đại hội Đảng bộ tỉnh", "Đang cập nhật"]
    assert titles(factory, "ĐẢNG") == titles(factory, "dang")
    assert titles(factory, "dong bang") == ["Giá lúa tăng"]  # a summary hit counts
    assert titles(factory, unicodedata.normalize("NFD", "đồng bằng")) == ["Giá lúa tăng"]


def test_every_word_must_match_as_a_whole_word_and_the_last_as_a_prefix(
    factory: sessionmaker[Session],
) -> None:
    add(factory, 1, "Công tác tuyên giáo năm 2026")
    add(factory, 2, "Tuyên truyền công tác phòng chống bão")
    add(factory, 3, "Giáo dục")
    assert titles(factory, "cong tac") == [
        "Công tác tuyên giáo năm 2026",
        "Tuyên truyền công tác phòng chống bão",
    ]
    assert titles(factory, "tuyen giao") == ["Công tác tuyên giáo năm 2026"]
    assert titles(factory, "cong tuy") == titles(factory, "cong tac")  # "tuy…" as typed inline
    assert titles(factory, "tuy cong") == []  # only the last word is a prefix
    assert titles(factory, "giao duc") == ["Giáo dục"]
    assert titles(factory, "2026") == ["Công tác tuyên giáo năm 2026"]
    assert titles(factory, "tuyen giao bao") == []


def test_withdrawn_articles_are_not_found(factory: sessionmaker[Session]) -> None:
    kept = add(factory, 1, "Bão số 3 đổ bộ")
    gone = add(factory, 2, "Bão số 4 suy yếu")
    with factory.begin() as session:
        session.execute(
            update(Article).where(Article.id == gone).values(status=ArticleStatus.WITHDRAWN)
        )
    result = search_page(factory, "bao", page=0, size=10)
    assert [h.article_id for h in result.items] == [kept] and result.total == 1


def test_newest_day_first_then_title_hits_then_time(factory: sessionmaker[Session]) -> None:
    yesterday = T0 - timedelta(days=1)
    add(factory, 1, "Lũ quét ở miền núi", at=yesterday + timedelta(hours=2))
    add(factory, 2, "Tin buổi sáng", summary="Cảnh báo lũ quét.", at=T0 + timedelta(hours=1))
    add(factory, 3, "Lũ quét gây thiệt hại", at=T0)
    add(factory, 4, "Tin buổi chiều", summary="Lũ quét ở vùng cao.", at=T0 + timedelta(hours=2))
    assert titles(factory, "lu quet") == [
        "Lũ quét gây thiệt hại",  # today, in the title
        "Tin buổi chiều",  # today, lead only: newest first
        "Tin buổi sáng",
        "Lũ quét ở miền núi",  # a title hit, but yesterday
    ]
    hit = search_page(factory, "lu quet", page=0, size=1).items[0]
    assert hit.when == T0 and hit.when.tzinfo is not None
    assert hit.url == "http://portal.test/tin-tuc/bai-3-3.html"
    assert hit.summary == "Tóm tắt bài viết."


def test_days_are_the_newsrooms_days(factory: sessionmaker[Session]) -> None:
    # 23:30 and 00:30 in Hà Nội are two days there, one day in UTC
    late = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)
    add(factory, 1, "Mưa lớn trong đêm", at=late)
    add(factory, 2, "Tin sáng", summary="Mưa lớn.", at=late + timedelta(hours=1))
    assert titles(factory, "mua lon") == ["Tin sáng", "Mưa lớn trong đêm"]
    utc = [h.title for h in search_page(factory, "mua lon", page=0, size=5, tz=UTC).items]
    assert utc == ["Mưa lớn trong đêm", "Tin sáng"]


def test_a_corrected_title_is_indexed_again(factory: sessionmaker[Session]) -> None:
    article = extracted(1, title="Hội nghị tổng kết", published_at=T0)
    store_article(factory, article)
    assert titles(factory, "tong ket") == ["Hội nghị tổng kết"]
    store_article(factory, replace(article, title="Hội nghị sơ kết"))
    assert titles(factory, "tong ket") == []
    assert titles(factory, "so ket") == ["Hội nghị sơ kết"]
    with factory.begin() as session:
        session.execute(delete(Article))
    assert titles(factory, "so ket") == []


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '"dang',
        "dang*",
        "*",
        "(dang",
        "dang)",
        "NEAR(dang bo)",
        "dang OR bo",
        "dang AND",
        "NOT dang",
        "-dang",
        "search_text:dang",
        "dang:*",
        "'dang' & !bo",
        "d\\a\\ng",
        "^dang",
        "dang" * 5_000,
        "dang " * 4_000,
        "",
        "   ",
        "!!!???",
        "🙂 dang 🙂",
        "da\u200bng",
        "\u202edang\u202c",
        unicodedata.normalize("NFD", "Đảng"),
        "\x00dang",
        "𝐝𝐚𝐧𝐠",
        "日本",
    ],
)
def test_hostile_queries_never_raise(factory: sessionmaker[Session], query: str) -> None:
    add(factory, 1, "Đại hội Đảng bộ tỉnh")
    result = search_page(factory, query, page=0, size=5)
    assert result.total == len(result.items) <= 1
    assert all(h.title == "Đại hội Đảng bộ tỉnh" for h in result.items)


def test_paging(factory: sessionmaker[Session]) -> None:
    for n in range(12):
        add(factory, n, f"Tin thời sự số {n}", at=T0 + timedelta(minutes=n))
    first = search_page(factory, "thoi su", page=0, size=5)
    assert first.total == 12 and first.words == ("thoi", "su")
    assert [h.title for h in first.items] == [f"Tin thời sự số {n}" for n in (11, 10, 9, 8, 7)]
    third = search_page(factory, "thoi su", page=2, size=5)
    assert [h.title for h in third.items] == ["Tin thời sự số 1", "Tin thời sự số 0"]
    assert search_page(factory, "thoi su", page=3, size=5).items == []
    assert search_page(factory, "thoi su", page=-1, size=5).items == []
    assert search_page(factory, "thoi su", page=10**9, size=20).items == []
    assert search_page(factory, "", page=0, size=5).total == 0


def add_at_0006(engine: Engine, n: int, title: str) -> None:
    """An article row as schema 0006 has it (today's model has later columns)."""
    url = f"http://portal.test/bai-{n}.html"
    when = T0 - timedelta(minutes=n)
    columns = {
        "identity": url, "identity_key": f"/bai-{n}.html", "url": url, "canonical_url": url,
        "title": title, "search_text": search_text(title, ""), "date_inferred": False,
        "summary": "", "body": "", "content_hash": str(n), "version": 1,
        "published_at": when, "first_seen_at": when, "updated_at": when, "status": "active",
    }  # fmt: skip
    articles = table("articles", *(column(name) for name in columns))
    with engine.begin() as connection:
        connection.execute(articles.insert().values(**columns))


def test_the_migration_indexes_existing_rows_and_walks_down_and_up(
    fresh_engine: Engine,
) -> None:
    upgrade(fresh_engine, "0006")
    factory = make_session_factory(fresh_engine)
    add_at_0006(fresh_engine, 1, "Đại hội Đảng bộ tỉnh")  # stored before the index existed
    upgrade(fresh_engine)
    assert titles(factory, "dang bo") == ["Đại hội Đảng bộ tỉnh"]
    cfg = alembic_config()
    with fresh_engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0006")
    add_at_0006(fresh_engine, 2, "Đảng bộ xã")  # no triggers any more: nothing to keep current
    upgrade(fresh_engine)
    assert titles(factory, "dang bo") == ["Đại hội Đảng bộ tỉnh", "Đảng bộ xã"]


def test_only_the_newest_max_results_matches_are_ranked_and_counted(
    factory: sessionmaker[Session],
) -> None:
    rows = []
    for n in range(MAX_RESULTS + 5):
        title, url = f"Tin nông thôn mới {n}", f"http://portal.test/nong-thon/{n}.html"
        when = T0 - timedelta(hours=n)
        rows.append(
            {"identity": url, "identity_key": url, "url": url, "canonical_url": url,
             "title": title, "search_text": search_text(title, ""), "published_at": when,
             "first_seen_at": when, "updated_at": when, "content_hash": str(n)}
        )  # fmt: skip
    with factory.begin() as session:
        session.execute(insert(Article), rows)
    first = search_page(factory, "nong thon", page=0, size=20)
    assert first.total == MAX_RESULTS and first.items[0].title == "Tin nông thôn mới 0"
    last = search_page(factory, "nong thon", page=MAX_RESULTS // 20 - 1, size=20)
    assert last.items[-1].title == f"Tin nông thôn mới {MAX_RESULTS - 1}"
    assert search_page(factory, "nong thon", page=MAX_RESULTS // 20, size=20).items == []
