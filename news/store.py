"""Store extracted articles: insert new ones, notice corrections, ignore repeats.

An article is identified by its canonical URL. Its content hash (title, lead,
body) tells a correction from a repeat: a changed hash bumps `version` and
`updated_at`, which feeds and publishing act on.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from news.db import utcnow
from news.extraction import ExtractedArticle
from news.fetch import FetchResult
from news.models import Article, Category, Source, SourceState
from news.text import normalize_text, slugify


class UpsertOutcome(enum.StrEnum):
    """What storing an extracted article did."""

    NEW = "new"
    UPDATED = "updated"
    SAME = "same"


@dataclass(frozen=True)
class UpsertResult:
    """The stored article's id and what happened to it."""

    article_id: int
    outcome: UpsertOutcome


def content_hash(title: str, summary: str, body: str) -> str:
    """Hash of what a reader sees; whitespace and Unicode form do not count."""
    parts = (normalize_text(title), normalize_text(summary), normalize_text(body))
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def search_text(title: str, summary: str) -> str:
    """What ?q= and search match: folded words of title and lead, space-padded.

    " gia lua tang " lets a query match whole words with a plain LIKE on both
    databases (" gia " finds "Giá", never "giáo").
    """
    words = slugify(f"{title} {summary}").replace("-", " ")
    return f" {words} " if words else ""


def get_or_create_source(session: Session, *, name: str, kind: str, url: str) -> Source:
    """The Source row for a configured source, created (with its state) on first use."""
    source = session.scalar(select(Source).where(Source.name == name))
    if source is None:
        source = Source(name=name, kind=kind, url=url)
        source.state = SourceState(consecutive_failures=0, polls=0)
        session.add(source)
        session.flush()
    elif source.url != url or source.kind != kind:
        source.url, source.kind = url, kind
    if source.state is None:
        source.state = SourceState(consecutive_failures=0, polls=0)
        session.flush()
    return source


def get_or_create_category(session: Session, name: str) -> Category | None:
    """The Category for `name` (matched by folded slug), or None for an empty name."""
    slug = slugify(name)
    if not slug:
        return None
    category = session.scalar(select(Category).where(Category.slug == slug))
    if category is None:
        category = Category(name=normalize_text(name), slug=slug)
        try:
            with session.begin_nested():
                session.add(category)
        except IntegrityError:
            category = session.scalars(select(Category).where(Category.slug == slug)).one()
    return category


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def storable(extracted: ExtractedArticle) -> ExtractedArticle:
    """The article with control characters removed from every text field.

    PostgreSQL refuses NUL bytes in text, and no reader wants the others; an
    extractor or a CMS push can carry them in from a broken page.
    """
    fields = ("title", "category", "summary", "body", "author", "url", "canonical_url", "image")
    changes: dict[str, Any] = {
        name: _CONTROL.sub("", value)
        for name in fields
        if isinstance(value := getattr(extracted, name), str) and _CONTROL.search(value)
    }
    return replace(extracted, **changes) if changes else extracted


def upsert_article(
    session: Session,
    extracted: ExtractedArticle,
    *,
    source: Source | None,
    identity: str | None = None,
    page: FetchResult | None = None,
    checked_at: datetime | None = None,
) -> UpsertResult:
    """Insert or update one article, matched by `identity` (default: canonical URL).

    `page` (the fetched article page) supplies validators for later
    conditional re-checks. The caller's transaction commits.
    """
    extracted = storable(extracted)
    identity = identity or extracted.canonical_url
    digest = content_hash(extracted.title, extracted.summary, extracted.body)
    category = get_or_create_category(session, extracted.category) if extracted.category else None
    existing = session.scalar(select(Article).where(Article.identity == identity))
    if existing is None:
        existing = session.scalar(
            select(Article).where(Article.canonical_url == extracted.canonical_url)
        )
    if existing is not None and page is not None:
        existing.page_etag, existing.page_last_modified = page.etag, page.last_modified
    if existing is not None and checked_at is not None:
        existing.last_checked_at = checked_at
    if existing is None:
        article = Article(
            identity=identity,
            search_text=search_text(extracted.title, extracted.summary),
            page_etag=page.etag if page else None,
            page_last_modified=page.last_modified if page else None,
            last_checked_at=checked_at,
            source_id=source.id if source else None,
            url=extracted.url,
            canonical_url=extracted.canonical_url,
            title=extracted.title,
            category=category,
            published_at=extracted.published_at,
            date_inferred=extracted.date_inferred,
            summary=extracted.summary,
            body=extracted.body,
            image=extracted.image,
            author=extracted.author,
            content_hash=digest,
            version=1,
        )
        session.add(article)
        session.flush()
        return UpsertResult(article.id, UpsertOutcome.NEW)
    if existing.content_hash == digest:
        return UpsertResult(existing.id, UpsertOutcome.SAME)
    existing.title = extracted.title
    existing.search_text = search_text(extracted.title, extracted.summary)
    existing.canonical_url = extracted.canonical_url
    existing.url = extracted.url
    existing.summary = extracted.summary
    existing.body = extracted.body
    existing.image = extracted.image or existing.image
    existing.author = extracted.author or existing.author
    existing.category = category or existing.category
    existing.content_hash = digest
    existing.version += 1
    existing.updated_at = utcnow()
    return UpsertResult(existing.id, UpsertOutcome.UPDATED)
