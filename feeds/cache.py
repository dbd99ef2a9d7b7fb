"""Pre-rendered feeds: built when articles change, served as stored bytes.

`rebuild_all` renders every feed (all, categories, sources; RSS, Atom, JSON)
with the default query and stores the bytes, a gzip copy and an ETag (a hash
of the bytes, so it changes exactly when the document does). A request for a
feed is then a lookup plus bytes. Each HTTP server process keeps the
documents in memory too and asks the database at most once a second whether
one changed, so a burst of requests costs neither queries nor renders.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from feeds.build import FeedContext, Query, render, select_articles
from feeds.export import ExportFile, FeedExportError, export_documents, relpath_for
from feeds.pages import opml
from feeds.specs import CONTENT_TYPES, OPML_PATH, FeedSpec, all_specs
from feeds.stories import GroupCache, story_links, story_scope
from news.db import utcnow, write_session
from news.models import Article, Category, RenderedFeed

#: How long a server process answers from its memory copy before asking the
#: database whether the feed was rebuilt. Readers are told max-age=300 anyway;
#: 5 s keeps almost every request on the in-memory path under load.
FRESHNESS_SECONDS = 5.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CachedFeed:
    """A stored feed document and its validators."""

    key: str
    content_type: str
    body: bytes
    body_gzip: bytes
    etag: str
    built_at: datetime


def make_document(key: str, content_type: str, body: bytes) -> CachedFeed:
    """A CachedFeed for fresh bytes: gzip copy and ETag computed once, here.

    The gzip header's mtime is 0, so the same document always compresses to
    the same bytes: the export can tell an unchanged .gz twin from a new one.
    """
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return CachedFeed(key, content_type, body, gzip.compress(body, 6, mtime=0), etag, utcnow())


def feed_context(settings: Settings) -> FeedContext:
    """Rendering settings shared by every feed."""
    return FeedContext(
        base_url=settings.base_url,
        site_title=settings.feed_title,
        tz=settings.tz,
        full_content=settings.feed_full_content,
        logo_url=settings.feed_logo_url,
        language=settings.language,
        source_titles=settings.source_titles(),
    )


def store(session: Session, doc: CachedFeed) -> bool:
    """Save a document unless identical bytes are already stored; True if it changed."""
    row = session.get(RenderedFeed, doc.key)
    if row is None:
        session.add(
            RenderedFeed(
                key=doc.key,
                content_type=doc.content_type,
                body=doc.body,
                body_gzip=doc.body_gzip,
                etag=doc.etag,
                built_at=doc.built_at,
            )  # fmt: skip
        )
        return True
    if row.etag == doc.etag:
        return False
    row.body, row.body_gzip, row.etag = doc.body, doc.body_gzip, doc.etag
    row.content_type, row.built_at = doc.content_type, doc.built_at
    return True


def render_spec(
    session: Session,
    spec: FeedSpec,
    ctx: FeedContext,
    query: Query,
    groups: GroupCache | None = None,
) -> CachedFeed:
    """Render one feed for a query (the default query is what the cache holds).

    `groups`: the story groups a rebuild has read already (feeds.stories).
    """
    articles = select_articles(session, spec, query)
    # RSS 2.0 has no element for the copies of a story: only Atom and JSON Feed read them
    stories = (
        story_links(session, articles, groups, titles=ctx.source_titles)
        if spec.fmt != "rss"
        else {}
    )
    body = render(spec, ctx, articles, stories)
    return make_document(spec.key, CONTENT_TYPES[spec.fmt], body)


def rebuild_all(factory: sessionmaker[Session], settings: Settings) -> list[str]:
    """Re-render every feed Loa serves; return the keys whose bytes changed.

    With `feeds_export_dir` set, the same documents (and the OPML list) are
    also written there as static files (:mod:`feeds.export`). The database
    copy comes first and stays authoritative: an export that fails is logged
    and retried whole by the next rebuild, and `loa serve` is unaffected.
    """
    return _rebuild(factory, settings, None)


@dataclass(frozen=True)
class FeedScope:
    """What changed: the sources whose articles changed, and those articles.

    A rebuild for a scope renders the all-feeds, the feeds of these sources
    and of the articles' categories; every other feed stays as it is.
    """

    sources: frozenset[str] = frozenset()
    article_ids: frozenset[int] = frozenset()


def rebuild_scope(
    factory: sessionmaker[Session], settings: Settings, scope: FeedScope
) -> list[str]:
    """Re-render only the feeds `scope` can have changed; return the keys whose bytes changed.

    Why: a full rebuild renders three feeds per source and category; with
    1,000 sources and a change every few seconds that was most of two cores.
    """
    return _rebuild(factory, settings, scope)


def _rebuild(
    factory: sessionmaker[Session], settings: Settings, scope: FeedScope | None
) -> list[str]:
    ctx = feed_context(settings)
    with factory() as session:
        every = all_specs(session, settings.feed_title)
        specs = every if scope is None else _in_scope(session, every, scope)
        groups = GroupCache()  # each story read once for all the rebuild's feeds
        docs = [render_spec(session, spec, ctx, Query(), groups) for spec in specs]
    with write_session(factory) as session:
        changed = [doc.key for doc in docs if store(session, doc)]
    if settings.feeds_export_dir is not None:
        export_feeds(settings, settings.feeds_export_dir, every, specs, docs)
    return changed


def _in_scope(session: Session, every: list[FeedSpec], scope: FeedScope) -> list[FeedSpec]:
    # A copy that joined a story changes the entries of the story's older copies
    # (their "also on" links), which may sit in other sources' and categories' feeds.
    story_sources, story_articles = story_scope(session, scope.article_ids)
    scope = FeedScope(scope.sources | story_sources, scope.article_ids | story_articles)
    categories = set(
        session.scalars(
            select(Category.slug)
            .join(Article, Article.category_id == Category.id)
            .where(Article.id.in_(scope.article_ids))
        )
    ) if scope.article_ids else set()  # fmt: skip
    return [
        spec
        for spec in every
        if spec.scope == "all"
        or (spec.scope == "source" and spec.name in scope.sources)
        or (spec.scope == "category" and spec.name in categories)
    ]


def export_feeds(
    settings: Settings,
    directory: Path,
    every: list[FeedSpec],
    specs: list[FeedSpec],
    docs: list[CachedFeed],
) -> None:
    """Write `docs` (matching `specs` one to one) and the OPML list (of `every` feed)."""
    files = [
        ExportFile(relpath_for(spec.path), doc.body, doc.body_gzip, doc.built_at.timestamp())
        for spec, doc in zip(specs, docs, strict=True)
    ]
    listing = opml(title=settings.feed_title, base_url=settings.base_url, feeds=every)
    files.append(
        ExportFile(relpath_for(OPML_PATH), listing, gzip.compress(listing, 6, mtime=0), time.time())
    )
    try:
        report = export_documents(directory, files, complete=len(specs) == len(every))
    except FeedExportError as exc:
        log.error("feeds are stored, but %s", exc)
        return
    if report.written or report.removed:
        log.info(
            "feeds exported to %s: %d written, %d removed",
            directory,
            len(report.written),
            len(report.removed),
        )


class FeedStore:
    """Per-process memory in front of the `rendered_feeds` table."""

    def __init__(self, factory: sessionmaker[Session], *, freshness: float = FRESHNESS_SECONDS):
        self.factory = factory
        self.freshness = freshness
        # Only documents found in the database are kept: at most one per feed.
        self._docs: dict[str, tuple[float, CachedFeed]] = {}
        self._lock = threading.Lock()

    def peek(self, key: str) -> CachedFeed | None:
        """The document if memory holds a fresh copy; never touches the database."""
        cached = self._docs.get(key)
        if cached is not None and time.monotonic() - cached[0] < self.freshness:
            return cached[1]
        return None

    def get(self, key: str) -> CachedFeed | None:
        """The current document for `key` (at most `freshness` seconds old)."""
        now = time.monotonic()
        cached = self._docs.get(key)
        if cached is not None and now - cached[0] < self.freshness:
            return cached[1]
        with self._lock:
            cached = self._docs.get(key)
            if cached is not None and time.monotonic() - cached[0] < self.freshness:
                return cached[1]
            doc = self._load(key, cached[1] if cached else None)
            if doc is not None:
                self._docs[key] = (time.monotonic(), doc)
            return doc

    def _load(self, key: str, known: CachedFeed | None) -> CachedFeed | None:
        with self.factory() as session:
            if known is not None:  # usually unchanged: compare the ETag only
                etag = session.scalar(select(RenderedFeed.etag).where(RenderedFeed.key == key))
                if etag == known.etag:
                    return known
            row = session.get(RenderedFeed, key)
            if row is None:
                return None
            body_gzip = row.body_gzip or gzip.compress(row.body, 6, mtime=0)
            return CachedFeed(
                row.key, row.content_type, row.body, body_gzip, row.etag, row.built_at
            )

    def forget(self) -> None:
        """Drop the memory layer (tests, or after a manual rebuild)."""
        with self._lock:
            self._docs.clear()
