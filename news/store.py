"""Store extracted articles: insert new ones, notice corrections, ignore repeats.

A source's article is found by its identity's host-less key (see
news.identity), so a new address (the source moved, or a corrected title gave
a new URL slug) is the same article: its stored URLs follow quietly. Articles
of another source are never matched by key, nor changed. The content hash
(title, lead, body) tells a correction from a repeat: a changed hash bumps
`version` and `updated_at`, which feeds and publishing act on.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config.settings import StoriesConfig
from news.db import utcnow
from news.errors import ExtractionError
from news.events import record_event
from news.extract import ExtractedArticle
from news.fetch import FetchResult
from news.identity import identity_key, origin, rebase
from news.models import (
    Article,
    ArticleStatus,
    Category,
    EventKind,
    Source,
    SourceState,
)
from news.stories.grouping import assign_story, refingerprint
from news.text import normalize_text, slugify
from news.weburl import web_url, web_url_or_drop
from ops.metrics import record_article


class UpsertOutcome(enum.StrEnum):
    """What storing an extracted article did."""

    NEW = "new"
    #: new content (a new version), or a withdrawn article listed again
    UPDATED = "updated"
    #: same content at a new address: URLs updated, no new version, nothing to edit
    MOVED = "moved"
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


def article_fields(extracted: ExtractedArticle) -> dict[str, Any]:
    """The Article columns an extracted article fills, with the search text and content
    hash derived from it: one mapping for inserting, updating and previewing.

    The caller adds what the page does not know: identity, source, category row,
    validators, version.
    """
    return {
        "url": extracted.url,
        "canonical_url": extracted.canonical_url,
        "title": extracted.title,
        "published_at": extracted.published_at,
        "date_inferred": extracted.date_inferred,
        "summary": extracted.summary,
        "body": extracted.body,
        "image": extracted.image,
        "author": extracted.author,
        "search_text": search_text(extracted.title, extracted.summary),
        "content_hash": content_hash(extracted.title, extracted.summary, extracted.body),
    }


def transient_article(found: ExtractedArticle) -> Article:
    """An unsaved Article for rendering a preview, filled as the store fills a new one."""
    category = Category(name=found.category, slug=found.category_slug) if found.category else None
    return Article(**article_fields(found), first_seen_at=utcnow(), version=1, category=category)


#: What a new version of a stored article replaces. Its address follows the page
#: (:func:`follow_address`); its publication date stays as first read.
_REVISED = ("title", "search_text", "summary", "body", "content_hash")
#: What a new version replaces only when it has one.
_KEPT_IF_MISSING = ("image", "author")


def get_or_create_source(session: Session, *, name: str, kind: str, url: str) -> Source:
    """The Source row for a configured source, created (with its state) on first use.

    A changed URL drops the old URL's validators; a changed origin (scheme,
    host, port) moves the source's articles with it and is recorded as a
    SOURCE_MOVED event (``loa status`` warns), so nothing is announced again.
    """
    source = session.scalar(select(Source).where(Source.name == name))
    if source is None:
        source = Source(name=name, kind=kind, url=url)
        source.state = SourceState(consecutive_failures=0, polls=0)
        session.add(source)
        session.flush()
    if source.state is None:
        source.state = SourceState(consecutive_failures=0, polls=0)
        session.flush()
    if source.url != url:
        source.state.etag = source.state.last_modified = None
        old, new = origin(source.url), origin(url)
        if old != new:
            kept = relocate_articles(session, source.id, old, new)
            record_event(
                session,
                EventKind.SOURCE_MOVED,
                f"source {name} moved from {old} to {new}: {kept} known articles "
                "kept at their new address, none announced again "
                "(if the new address is wrong, fix the source's url in the config)",
                source_id=source.id,
            )
        source.url = url
    source.kind = kind
    return source


def relocate_articles(session: Session, source_id: int, old: str, new: str) -> int:
    """Point a source's stored articles from origin `old` to `new`; returns how many.

    URL, listed URL, image and canonical URL (unless another row holds the new one) move;
    identities keep the host they were first seen at (matching ignores it).
    """
    articles = list(session.scalars(select(Article).where(Article.source_id == source_id)))
    canonicals = {a.id: c for a in articles if (c := rebase(a.canonical_url, old, new))}
    taken: set[str] = set()
    wanted = sorted(set(canonicals.values()))
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        taken.update(
            session.scalars(select(Article.canonical_url).where(Article.canonical_url.in_(chunk)))
        )
    moved = 0
    for article in articles:
        url = rebase(article.url, old, new)
        canonical = canonicals.get(article.id)
        if canonical is not None and canonical not in taken:
            article.canonical_url = canonical
            taken.add(canonical)
        if article.image and (image := rebase(article.image, old, new)):
            article.image = image
        if article.listed_url and (listed := rebase(article.listed_url, old, new)):
            article.listed_url = listed
        if url is not None:
            article.url = url
            moved += 1
    return moved


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
    """The article with control characters removed and only web URLs kept.

    PostgreSQL refuses NUL bytes in text, and no reader wants the others; an
    extractor or a CMS push can carry them in from a broken page. An address
    that is not http(s) is refused for the article itself (ExtractionError),
    and dropped for its canonical link (the article's address stands in) and
    its image (see news.weburl).
    """
    fields = ("title", "category", "summary", "body", "author", "url", "canonical_url", "image")
    changes: dict[str, Any] = {
        name: _CONTROL.sub("", value)
        for name in fields
        if isinstance(value := getattr(extracted, name), str) and _CONTROL.search(value)
    }
    cleaned = replace(extracted, **changes) if changes else extracted
    url = web_url(cleaned.url)
    if url is None:
        raise ExtractionError(f"not an http(s) address: {cleaned.url[:200]!r}")
    canonical = web_url_or_drop(cleaned.canonical_url, base=url, what="canonical link") or url
    image = web_url_or_drop(cleaned.image, base=url, what="image")
    if (url, canonical, image) == (cleaned.url, cleaned.canonical_url, cleaned.image):
        return cleaned
    return replace(cleaned, url=url, canonical_url=canonical, image=image)


def upsert_article(
    session: Session,
    extracted: ExtractedArticle,
    *,
    source: Source | None,
    identity: str | None = None,
    page: FetchResult | None = None,
    checked_at: datetime | None = None,
    listed_url: str | None = None,
    stories: StoriesConfig | None = None,
) -> UpsertResult:
    """Insert or update one article, matched by `identity` (default: canonical URL).

    See the module docstring for matching. A withdrawn article read again is
    restored. `page` (the fetched article page) supplies validators for later
    conditional re-checks; `listed_url` is where the source's listing links
    it (the poll compares it next time). The caller's transaction commits (and
    then ``loa_articles_total`` counts a new or updated article).

    `stories` (settings.stories; None: the defaults) groups copies across
    sources: a new article is fingerprinted and given a story, an updated one
    gets its fingerprint replaced and keeps its story (see news.stories).
    """
    result = _upsert(
        session, extracted, source=source, identity=identity, page=page,
        checked_at=checked_at, listed_url=listed_url, stories=stories or StoriesConfig(),
    )  # fmt: skip
    if result.outcome in (UpsertOutcome.NEW, UpsertOutcome.UPDATED):
        record_article(session, source.name if source else None, result.outcome.value)
    return result


def _upsert(
    session: Session,
    extracted: ExtractedArticle,
    *,
    source: Source | None,
    identity: str | None,
    page: FetchResult | None,
    checked_at: datetime | None,
    listed_url: str | None,
    stories: StoriesConfig,
) -> UpsertResult:
    extracted = storable(extracted)
    identity = identity or extracted.canonical_url
    fields = article_fields(extracted)
    existing = find_article(session, source, identity, extracted.canonical_url)
    if existing is not None and not _ours(existing, source):
        return UpsertResult(existing.id, UpsertOutcome.SAME)  # another source's: hands off
    category = get_or_create_category(session, extracted.category) if extracted.category else None
    if existing is None:
        article = Article(
            **fields,
            identity=identity,
            page_etag=page.etag if page else None,
            page_last_modified=page.last_modified if page else None,
            last_checked_at=checked_at,
            source_id=source.id if source else None,
            listed_url=listed_url,
            category=category,
            version=1,
        )
        session.add(article)
        session.flush()
        assign_story(session, article, stories)
        return UpsertResult(article.id, UpsertOutcome.NEW)
    if page is not None:
        existing.page_etag, existing.page_last_modified = page.etag, page.last_modified
    if checked_at is not None:
        existing.last_checked_at = checked_at
    if listed_url is not None:
        existing.listed_url = listed_url
    moved = follow_address(session, existing, extracted)
    withdrawn = existing.status is ArticleStatus.WITHDRAWN
    if existing.content_hash == fields["content_hash"] and not withdrawn:
        return UpsertResult(existing.id, UpsertOutcome.MOVED if moved else UpsertOutcome.SAME)
    for name in _REVISED:
        setattr(existing, name, fields[name])
    for name in _KEPT_IF_MISSING:
        setattr(existing, name, fields[name] or getattr(existing, name))
    existing.category = category or existing.category
    existing.version += 1
    existing.updated_at = utcnow()
    if withdrawn:
        _restore(session, existing)
    refingerprint(session, existing, stories)
    return UpsertResult(existing.id, UpsertOutcome.UPDATED)


def find_article(
    session: Session, source: Source | None, identity: str, canonical_url: str
) -> Article | None:
    """The stored article for `identity`: the source's own by key, else by exact identity or URL.

    The key match is scoped to the source and locked for the caller's
    transaction (a poll and a re-check may store the same article at once).
    The oldest row wins where an earlier version of Loa stored duplicates.
    """
    if source is not None:
        own = session.scalars(
            select(Article)
            .where(Article.source_id == source.id, Article.identity_key == identity_key(identity))
            .order_by(Article.id)
            .limit(1)
            .with_for_update(of=Article)
        ).first()
        if own is not None:
            return own
    return session.scalars(
        select(Article)
        .where(or_(Article.identity == identity, Article.canonical_url == canonical_url))
        .order_by(Article.id)
        .limit(1)
    ).first()


def _ours(article: Article, source: Source | None) -> bool:
    """Whether `source` may change `article` (sourceless rows and pushes may)."""
    return source is None or article.source_id is None or article.source_id == source.id


def follow_address(session: Session, article: Article, extracted: ExtractedArticle) -> bool:
    """Take the address the article was just read at; True when it changed.

    The canonical URL moves only if no other row holds the new one (it is unique).
    """
    changed = False
    if extracted.url and extracted.url != article.url:
        article.url, changed = extracted.url, True
    canonical = extracted.canonical_url
    if canonical and canonical != article.canonical_url:
        holder = session.scalar(select(Article.id).where(Article.canonical_url == canonical))
        if holder is None:
            article.canonical_url, changed = canonical, True
    if changed and extracted.image:
        article.image = extracted.image
    return changed


def _restore(session: Session, article: Article) -> None:
    """A withdrawn article was read again: active, and the editors are told."""
    article.status = ArticleStatus.ACTIVE
    article.withdrawn_at = None
    record_event(
        session,
        EventKind.ARTICLE_RESTORED,
        f"article listed again at {article.url}, restored: {article.title}",
        source_id=article.source_id,
        article_id=article.id,
    )
