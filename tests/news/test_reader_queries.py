"""Category matching and counts for the bot's reader commands, on a real database."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from bot.commands.common import chunks
from news.reader_queries import CategoryInfo, categories_with_counts, headline_page, match_category
from tests.helpers import extracted, store_article

CATEGORIES = [
    CategoryInfo(1, "Công tác tuyên giáo", "cong-tac-tuyen-giao", 3),
    CategoryInfo(2, "Thế giới", "the-gioi", 1),
    CategoryInfo(3, "Thể thao", "the-thao", 0),
    CategoryInfo(4, "Đời sống", "doi-song", 0),
]


def found(query: str) -> str | None:
    match = match_category(CATEGORIES, query)
    return match.found.name if match.found else None


def test_match_by_name_slug_prefix_or_words_without_diacritics() -> None:
    assert found("tuyen giao") == "Công tác tuyên giáo"
    assert found("cong-tac") == "Công tác tuyên giáo"
    assert found("THẾ GIỚI") == "Thế giới"
    assert found("doi") == "Đời sống"  # đ folds to d
    assert found("song") == "Đời sống"
    assert found("the-thao") == "Thể thao"


def test_ambiguous_or_unknown_queries_suggest_instead_of_guessing() -> None:
    ambiguous = match_category(CATEGORIES, "th")
    assert ambiguous.found is None
    assert {c.name for c in ambiguous.suggestions} == {"Thế giới", "Thể thao"}
    close = match_category(CATEGORIES, "the gioy")
    assert close.found is None
    assert [c.name for c in close.suggestions] == ["Thế giới", "Thể thao"]  # closest first
    assert match_category(CATEGORIES, "!!!") == match_category([], "x")
    assert match_category(CATEGORIES, "\u200b" * 5).found is None


def test_counts_and_pages_on_a_real_database(factory: sessionmaker[Session]) -> None:
    assert categories_with_counts(factory) == []
    assert headline_page(factory, None, size=5, page=0).items == []
    for n in range(7):
        store_article(factory, extracted(n))
    store_article(factory, extracted(50, category="Thế giới"))
    by_name = {c.name: c for c in categories_with_counts(factory)}
    assert by_name["Công tác tuyên giáo"].count == 7 and by_name["Thế giới"].count == 1
    page = headline_page(factory, by_name["Công tác tuyên giáo"].id, size=5, page=1)
    assert page.total == 7 and len(page.items) == 2
    assert all(item.when.tzinfo is not None for item in page.items)


def test_long_lists_are_split_under_telegrams_limit() -> None:
    lines = [f"• Chuyên mục {n} " + "ư" * 150 for n in range(100)]
    parts = chunks(lines)
    assert len(parts) > 1 and "\n".join(parts) == "\n".join(lines)
    assert all(len(p.encode("utf-16-le")) // 2 <= 4000 for p in parts)
