"""Read-side queries for the bot's reader commands: categories, pages of headlines.

They live here, not in bot handlers, so the bot never holds SQL and the same
answers can serve the CLI or the web later. Matching a category is done in
Python over the (short) category list, on folded slugs, because readers type
without diacritics and in any order of prefix or words.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from news.models import Article, ArticleStatus, Category
from news.text import slugify


@dataclass(frozen=True)
class CategoryInfo:
    """A category with the number of its articles still published."""

    id: int
    name: str
    slug: str
    count: int


@dataclass(frozen=True)
class PageItem:
    """One headline of a page: title, link and when it appeared (aware, UTC)."""

    title: str
    url: str
    when: datetime


@dataclass(frozen=True)
class HeadlinePage:
    """One page of headlines and whether older ones exist beyond it."""

    items: list[PageItem]
    #: how many there are, counted only up to one past this page (see headline_page)
    total: int


@dataclass(frozen=True)
class CategoryMatch:
    """The category a reader meant, or the closest ones when it is unclear."""

    found: CategoryInfo | None
    suggestions: list[CategoryInfo]


def categories_with_counts(
    factory: sessionmaker[Session], *, counted: bool = True
) -> list[CategoryInfo]:
    """Every category by name, with its count of active articles (0 included).

    With `counted=False` the count is only 1 (some active article) or 0: one
    index probe per category instead of counting every article, which cost
    10-20 ms per /latest at 100,000 articles (bench/bot.py). /latest needs only
    that much, to leave empty categories out of its keyboard.
    """
    with factory() as session:
        if not counted:
            exists = (
                select(Article.id)
                .where(Article.category_id == Category.id, Article.status == ArticleStatus.ACTIVE)
                .exists()
            )
            present = session.execute(
                select(Category.id, Category.name, Category.slug, exists).order_by(Category.name)
            )
            return [CategoryInfo(cid, name, slug, int(any_)) for cid, name, slug, any_ in present]
        counts = (
            select(Article.category_id, func.count(Article.id).label("n"))
            .where(Article.status == ArticleStatus.ACTIVE)
            .group_by(Article.category_id)
            .subquery()
        )
        rows = session.execute(
            select(Category.id, Category.name, Category.slug, counts.c.n)
            .outerjoin(counts, counts.c.category_id == Category.id)
            .order_by(Category.name)
        )
        return [CategoryInfo(cid, name, slug, n or 0) for cid, name, slug, n in rows]


def category_by_id(factory: sessionmaker[Session], category_id: int) -> CategoryInfo | None:
    """The category with this id, or None (a stale button may name a deleted one)."""
    count = (
        select(func.count(Article.id))
        .where(Article.category_id == Category.id, Article.status == ArticleStatus.ACTIVE)
        .scalar_subquery()
    )
    with factory() as session:
        row = session.execute(
            select(Category.id, Category.name, Category.slug, count).where(
                Category.id == category_id
            )
        ).first()
    return CategoryInfo(row[0], row[1], row[2], row[3] or 0) if row else None


def _words(slug: str) -> list[str]:
    return [w for w in slug.split("-") if w]


def match_category(categories: list[CategoryInfo], query: str) -> CategoryMatch:
    """The category `query` names, by folded name or slug, prefix or run of words.

    "tuyen giao" and "cong-tac" both find "Công tác tuyên giáo"; a query
    fitting several categories, or none, finds nothing and suggests the closest.
    """
    wanted = slugify(query)
    if not wanted:
        return CategoryMatch(None, [])
    for tier in (
        lambda c: wanted in (c.slug, slugify(c.name)),
        lambda c: slugify(c.name).startswith(wanted) or c.slug.startswith(wanted),
        lambda c: f"-{wanted}-" in f"-{slugify(c.name)}-" or f"-{wanted}-" in f"-{c.slug}-",
        lambda c: any(w.startswith(wanted) for w in _words(slugify(c.name))),
    ):
        hits = [c for c in categories if tier(c)]
        if len(hits) == 1:
            return CategoryMatch(hits[0], [])
        if hits:
            return CategoryMatch(None, hits[:5])
    by_slug = {slugify(c.name): c for c in categories}
    close = difflib.get_close_matches(wanted, list(by_slug), n=5, cutoff=0.6)
    shared = [c for c in categories if set(_words(wanted)) & set(_words(slugify(c.name)))]
    suggestions = [by_slug[s] for s in close] + [c for c in shared if slugify(c.name) not in close]
    return CategoryMatch(None, suggestions[:5])


def headline_page(
    factory: sessionmaker[Session], category_id: int | None, *, size: int, page: int
) -> HeadlinePage:
    """Page `page` (0 = newest) of `size` active headlines, of one category or all.

    `total` counts at most one article past this page: enough to know whether
    an older page exists, without counting every article on every /latest
    (a full count cost 10-20 ms at 100,000 articles, see bench/bot.py).
    """
    with factory() as session:
        where = [Article.status == ArticleStatus.ACTIVE]
        if category_id is not None:
            where.append(Article.category_id == category_id)
        upto = select(Article.id).where(*where).limit((page + 1) * size + 1).subquery()
        total = session.scalar(select(func.count()).select_from(upto)) or 0
        rows = session.execute(
            select(
                Article.title, Article.canonical_url, Article.published_at, Article.first_seen_at
            )
            .where(*where)
            .order_by(
                Article.published_at.desc().nulls_last(),
                Article.first_seen_at.desc(),
                Article.id.desc(),
            )
            .limit(size)
            .offset(page * size)
        )
        items = [
            PageItem(title, url, _aware(published or seen)) for title, url, published, seen in rows
        ]
        return HeadlinePage(items, total)


def _aware(value: datetime) -> datetime:
    """Stored datetimes are UTC, naive on SQLite: make them aware for local display."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
