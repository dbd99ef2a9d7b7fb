"""Render feeds with feedgen from stored articles.

One adapter, :func:`add_entry`, maps an Article to a feed entry. Entry ids are
`tag:` URIs built from the article's first identity (source host, first-seen
date, database id), so a corrected article whose URL or slug changes keeps
its id in every reader.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from feedgen.feed import FeedGenerator
from sqlalchemy import select
from sqlalchemy.orm import Session

from news.models import Article

DEFAULT_LIMIT = 50
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(text: str | None) -> str:
    """Text safe for XML 1.0: control characters (which break parsers) removed."""
    return _CONTROL_CHARS.sub("", text or "")


def entry_id(article: Article) -> str:
    """A stable `tag:` URI for the article (RFC 4151)."""
    host = urlsplit(article.url).hostname or "loa"
    return f"tag:{host},{article.first_seen_at:%Y-%m-%d}:article/{article.id}"


def latest_articles(session: Session, limit: int = DEFAULT_LIMIT) -> list[Article]:
    """Newest articles first (by published time, then first seen)."""
    query = (
        select(Article)
        .order_by(Article.published_at.desc().nulls_last(), Article.first_seen_at.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def add_entry(feed: FeedGenerator, article: Article, tz: ZoneInfo) -> None:
    """Map one Article onto a feedgen entry (appended in the given order)."""
    entry = feed.add_entry(order="append")
    entry.id(entry_id(article))
    entry.guid(entry_id(article), permalink=False)
    entry.title(clean(article.title))
    entry.link(href=article.canonical_url)
    entry.description(clean(article.summary) or clean(article.title))
    published = (article.published_at or article.first_seen_at).astimezone(tz)
    entry.published(published)
    entry.updated(
        max(article.updated_at, article.published_at or article.updated_at).astimezone(tz)
    )
    if article.author:
        entry.author(name=clean(article.author))
    if article.category is not None:
        entry.category(term=article.category.slug, label=clean(article.category.name))


def build_rss(
    articles: Sequence[Article], *, title: str, site_url: str, self_url: str, tz: ZoneInfo
) -> bytes:
    """An RSS 2.0 document (UTF-8 bytes) for `articles`, newest first."""
    feed = FeedGenerator()
    feed.title(clean(title))
    feed.link(href=site_url, rel="alternate")
    feed.link(href=self_url, rel="self")
    feed.description(clean(f"{title}: tin mới nhất"))
    feed.language("vi")
    feed.generator("Loa")
    feed.ttl(15)
    for article in articles:
        add_entry(feed, article, tz)
    return bytes(feed.rss_str(pretty=True))
