"""Finding the document a feed request asks for, with bounded per-process state.

The default view of every feed comes from the pre-rendered cache (memory,
then database). A query (`?limit=`, `?q=`, `?exclude=`) is rendered on
demand, once per distinct query and feed version however many readers ask at
the same moment, and kept in an LRU bounded by entries and by bytes.

Nothing here grows with what strangers send: unknown feed names allocate
nothing, and "render once" uses a fixed set of lock stripes rather than a
lock per key (a dictionary of per-key locks grew by every distinct name and
query and was never trimmed).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from feeds.build import Query
from feeds.cache import CachedFeed, FeedStore, feed_context, render_spec, store
from feeds.response import Representation
from feeds.specs import FeedSpec, all_specs, find_spec
from news.db import write_session

QUERY_CACHE_SIZE = 256
QUERY_CACHE_BYTES = 32 * 1024 * 1024
LOCK_STRIPES = 64


class FeedService:
    """Finds or renders the document a request asks for; one per server process."""

    def __init__(self, settings: Settings, factory: sessionmaker[Session]):
        self.settings = settings
        self.factory = factory
        self.max_age = settings.feed_max_age
        self.store = FeedStore(factory)
        self.ctx = feed_context(settings)
        # Default views by key: at most one per feed that exists.
        self._defaults: dict[str, Representation] = {}
        # Query renders, oldest first; bounded by QUERY_CACHE_SIZE and QUERY_CACHE_BYTES.
        self._renders: OrderedDict[tuple[str, Query, str], Representation] = OrderedDict()
        self._render_bytes = 0
        self._stripes = tuple(threading.Lock() for _ in range(LOCK_STRIPES))
        self._guard = threading.Lock()

    def peek(self, spec: FeedSpec) -> Representation | None:
        """The default view if memory holds a fresh copy; never touches the database."""
        doc = self.store.peek(spec.key)
        return None if doc is None else self._default(doc)

    def document(self, spec: FeedSpec, query: Query) -> Representation | None:
        """The document for `spec` and `query`, or None when the feed does not exist."""
        base = self.store.get(spec.key)
        if base is None:
            base = self._build_missing(spec)
            if base is None:
                return None
        if query.is_default:
            return self._default(base)
        cache_key = (spec.key, query, base.etag)
        found = self._recall(cache_key)
        if found is not None:
            return found
        with self._stripe(cache_key):  # a burst of the same query renders once
            found = self._recall(cache_key)
            if found is None:
                doc = self._render(spec, query)
                if doc is None:
                    return None
                found = Representation(doc, self.max_age)
                self._remember(cache_key, found)
        return found

    def specs(self) -> list[FeedSpec]:
        """Every feed that exists, for the home page and OPML."""
        with self.factory() as session:
            return all_specs(session, self.settings.feed_title)

    def _default(self, doc: CachedFeed) -> Representation:
        rep = self._defaults.get(doc.key)
        if rep is None or rep.doc is not doc:
            rep = self._defaults[doc.key] = Representation(doc, self.max_age)
        return rep

    def _stripe(self, key: object) -> threading.Lock:
        return self._stripes[hash(key) % LOCK_STRIPES]

    def _recall(self, cache_key: tuple[str, Query, str]) -> Representation | None:
        with self._guard:
            found = self._renders.get(cache_key)
            if found is not None:
                self._renders.move_to_end(cache_key)
            return found

    def _remember(self, cache_key: tuple[str, Query, str], rep: Representation) -> None:
        with self._guard:
            if cache_key in self._renders:
                return
            self._renders[cache_key] = rep
            self._render_bytes += rep.size
            while len(self._renders) > QUERY_CACHE_SIZE or (
                self._render_bytes > QUERY_CACHE_BYTES and len(self._renders) > 1
            ):
                _, evicted = self._renders.popitem(last=False)
                self._render_bytes -= evicted.size

    def _render(self, spec: FeedSpec, query: Query) -> CachedFeed | None:
        with self.factory() as session:
            found = find_spec(session, spec, self.settings.feed_title)
            return None if found is None else render_spec(session, found, self.ctx, query)

    def _build_missing(self, spec: FeedSpec) -> CachedFeed | None:
        """A feed that exists but was never rendered (new category, fresh install): once."""
        with self._stripe(spec.key):
            found = self.store.get(spec.key)
            if found is not None:
                return found
            doc = self._render(spec, Query())
            if doc is None:
                return None
            with write_session(self.factory) as session:
                store(session, doc)
            return doc
