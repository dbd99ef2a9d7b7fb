"""Loa's HTTP server: feeds with conditional GET and gzip, the home page, OPML, health.

Built as a Starlette app by :func:`create_app` with everything injected, and
served by uvicorn (`loa serve`). The default view of every feed comes from the
pre-rendered cache (memory, then database); a query (`?limit=`, `?q=`,
`?exclude=`) is rendered on demand, once per distinct query and feed version
however many readers ask at the same moment, and kept in a small LRU.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC
from email.utils import format_datetime, parsedate_to_datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from config.settings import Settings
from feeds.build import DEFAULT_LIMIT, MAX_LIMIT, Query
from feeds.cache import CachedFeed, FeedStore, feed_context, render_spec, store
from feeds.fastpath import FeedFastPath
from feeds.pages import home_page, opml
from feeds.specs import CONTENT_TYPES, FeedSpec, all_specs, find_spec
from news.db import write_session
from news.models import Article
from news.queries import latest_headlines

QUERY_CACHE_SIZE = 256
MAX_QUERY_CHARS = 100


def feed_key(scope: str, name: str, fmt: str) -> str:
    """The cache key of a feed (see feeds.specs.FeedSpec.key)."""
    return f"all.{fmt}" if scope == "all" else f"{scope}/{name}.{fmt}"


class BadQuery(ValueError):
    """A query parameter a reader got wrong: answered with 400 and this message."""


def parse_query(request: Request) -> Query:
    """`?limit=` (1–500, larger is capped), `?q=` and `?exclude=` (plain words)."""
    params = request.query_params
    raw_limit = params.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        if not raw_limit.isdigit() or int(raw_limit) < 1:
            raise BadQuery("limit must be a whole number from 1 to 500")
        limit = min(int(raw_limit), MAX_LIMIT)
    words = {}
    for name in ("q", "exclude"):
        value = params.get(name, "").strip()
        if len(value) > MAX_QUERY_CHARS:
            raise BadQuery(f"{name} is limited to {MAX_QUERY_CHARS} characters")
        words[name] = value
    return Query(limit=limit, q=words["q"], exclude=words["exclude"])


class FeedService:
    """Finds or renders the document a request asks for; one per server process."""

    def __init__(self, settings: Settings, factory: sessionmaker[Session]):
        self.settings = settings
        self.factory = factory
        self.store = FeedStore(factory)
        self.ctx = feed_context(settings)
        self._renders: OrderedDict[tuple[str, Query, str], CachedFeed] = OrderedDict()
        self._locks: dict[object, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock_for(self, key: object) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def document(self, scope: str, name: str, fmt: str, query: Query) -> CachedFeed | None:
        """The document, or None when the feed does not exist."""
        key = feed_key(scope, name, fmt)
        base = self.store.get(key)
        if base is None:
            base = self._build_missing(scope, name, fmt, key)
            if base is None:
                return None
        if query.is_default:
            return base
        cache_key = (key, query, base.etag)
        found = self._renders.get(cache_key)
        if found is not None:
            return found
        with self._lock_for(cache_key):  # a burst of the same query renders once
            found = self._renders.get(cache_key)
            if found is None:
                found = self._render(scope, name, fmt, query)
                if found is None:
                    return None
                with self._guard:
                    self._renders[cache_key] = found
                    while len(self._renders) > QUERY_CACHE_SIZE:
                        self._renders.popitem(last=False)
        return found

    def _render(self, scope: str, name: str, fmt: str, query: Query) -> CachedFeed | None:
        with self.factory() as session:
            spec = find_spec(session, scope, name, fmt, self.settings.feed_title)
            return None if spec is None else render_spec(session, spec, self.ctx, query)

    def _build_missing(self, scope: str, name: str, fmt: str, key: str) -> CachedFeed | None:
        """A feed that exists but was never rendered (new category, fresh install): once."""
        with self._lock_for(key):
            found = self.store.get(key)
            if found is not None:
                return found
            doc = self._render(scope, name, fmt, Query())
            if doc is None:
                return None
            with write_session(self.factory) as session:
                store(session, doc)
            return doc

    def specs(self) -> list[FeedSpec]:
        with self.factory() as session:
            return all_specs(session, self.settings.feed_title)


def create_app(settings: Settings, factory: sessionmaker[Session]) -> FeedFastPath:
    """The ASGI app for `settings`, reading from the database behind `factory`."""
    service = FeedService(settings, factory)
    max_age = settings.feed_max_age

    async def feed(request: Request) -> Response:
        """Serve a feed, answering 304 when the reader is up to date."""
        name, _, fmt = request.path_params["file"].rpartition(".")
        if request.url.path.startswith("/feeds/source/"):
            scope = "source"
        else:
            scope = "all" if name == "all" else "category"
        try:
            query = parse_query(request)
        except BadQuery as exc:
            return PlainTextResponse(f"{exc}\n", status_code=400)
        if not name or fmt not in CONTENT_TYPES:
            return _not_found(request.url.path)
        # The hot path: a default view still fresh in memory, no thread hop, no query.
        doc = service.store.peek(feed_key(scope, name, fmt)) if query.is_default else None
        if doc is None:
            doc = await run_in_threadpool(service.document, scope, name, fmt, query)
        if doc is None:
            return _not_found(request.url.path)
        return _respond(request, doc, max_age)

    async def home(request: Request) -> Response:
        """The small human page: feeds by category, latest headlines, Telegram."""
        lang = request.query_params.get("lang", settings.language)
        specs, headlines = await run_in_threadpool(_home_data, service)
        telegram = next(
            (
                f"https://t.me/{c.chat[1:]}"
                for c in settings.effective_channels()
                if c.chat[:1] == "@"
            ),
            None,
        )
        page = home_page(
            title=settings.feed_title,
            language=lang if lang in ("vi", "en") else settings.language,
            feeds=[s for s in specs if s.fmt == "rss"],
            headlines=headlines,
            telegram_url=telegram,
        )
        return HTMLResponse(page, headers={"Cache-Control": "public, max-age=60"})

    async def opml_list(request: Request) -> Response:
        """Every feed as OPML, for a one-click import."""
        specs = await run_in_threadpool(service.specs)
        body = opml(title=settings.feed_title, base_url=settings.base_url, feeds=specs)
        return Response(body, media_type="text/x-opml; charset=utf-8")

    async def health(request: Request) -> Response:
        """Liveness plus a database round trip; 503 when the database is down."""
        try:
            count = await run_in_threadpool(_article_count, factory)
        except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
            return JSONResponse(
                {"status": "error", "database": f"{exc.__class__.__name__}"}, status_code=503
            )
        return JSONResponse({"status": "ok", "articles": count})

    app = Starlette(
        routes=[
            Route("/", home),
            Route("/healthz", health),
            Route("/feeds/opml", opml_list),
            Route("/feeds/source/{file}", feed),
            Route("/feeds/{file}", feed),
        ]
    )
    return FeedFastPath(app, service.store, max_age=max_age)


def _respond(request: Request, doc: CachedFeed, max_age: int) -> Response:
    """Bytes (gzip when accepted) with validators; 304 when the reader's copy is current."""
    gzipped = "gzip" in request.headers.get("accept-encoding", "")
    etag = doc.etag[:-1] + '-gz"' if gzipped else doc.etag
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(doc.built_at, usegmt=True),
        "Cache-Control": f"public, max-age={max_age}",
        "Vary": "Accept-Encoding",
    }
    if _not_modified(request, doc, etag):
        return Response(status_code=304, headers=headers)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
        return Response(doc.body_gzip, media_type=doc.content_type, headers=headers)
    return Response(doc.body, media_type=doc.content_type, headers=headers)


def _not_found(path: str) -> Response:
    message = (
        f"Không có nguồn tin này / no such feed: {path}\n"
        "Xem danh sách / see the list: /feeds/opml\n"
    )
    return PlainTextResponse(message, status_code=404)


def _not_modified(request: Request, doc: CachedFeed, etag: str) -> bool:
    """RFC 9110: If-None-Match wins; otherwise compare If-Modified-Since (1 s precision)."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return bool({etag, doc.etag, "*"} & tags)
    since = request.headers.get("if-modified-since")
    if since:
        try:
            moment = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return doc.built_at.replace(microsecond=0) <= moment
    return False


def _home_data(service: FeedService) -> tuple[list[FeedSpec], list[tuple[str, str]]]:
    headlines = [(h.title, h.url) for h in latest_headlines(service.factory, 20)]
    return service.specs(), headlines


def _article_count(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        session.execute(text("SELECT 1"))
        return int(session.scalar(select(func.count()).select_from(Article)) or 0)
