"""Loa's HTTP server: feeds with conditional GET, a home page, and health.

Built as a Starlette app by :func:`create_app` with everything injected, and
served by uvicorn (`loa serve`). Feeds are read from the pre-rendered cache;
only a feed never built before is rendered on request, once.
"""

from __future__ import annotations

import html
import threading
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
from feeds import cache
from news.models import Article

KNOWN_FEEDS = {"all.rss"}
CACHE_SECONDS = 300


def create_app(settings: Settings, factory: sessionmaker[Session]) -> Starlette:
    """The ASGI app for `settings`, reading from the database behind `factory`."""
    build_lock = threading.Lock()

    def cached_or_built(key: str) -> cache.CachedFeed | None:
        found = cache.load(factory, key)
        if found is not None:
            return found
        with build_lock:  # a burst of first requests renders once
            found = cache.load(factory, key)
            if found is None:
                cache.rebuild_all(factory, settings)
                found = cache.load(factory, key)
        return found

    async def feed(request: Request) -> Response:
        """Serve a pre-rendered feed, answering 304 when the reader is up to date."""
        key = request.path_params["name"]
        if key not in KNOWN_FEEDS:
            return PlainTextResponse(
                f"Không có nguồn tin này / no such feed: {key}\n", status_code=404
            )
        doc = await run_in_threadpool(cached_or_built, key)
        if doc is None:
            return PlainTextResponse("feed not built yet\n", status_code=503)
        headers = {
            "ETag": doc.etag,
            "Last-Modified": format_datetime(doc.built_at, usegmt=True),
            "Cache-Control": f"public, max-age={CACHE_SECONDS}",
        }
        if _not_modified(request, doc):
            return Response(status_code=304, headers=headers)
        return Response(doc.body, media_type=doc.content_type, headers=headers)

    async def home(request: Request) -> Response:
        """A small page listing the feeds and the latest headlines."""
        rows = await run_in_threadpool(_latest_titles, factory)
        items = "".join(
            f'<li><a href="{html.escape(url, quote=True)}">{html.escape(title)}</a></li>'
            for title, url in rows
        )
        page = (
            '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
            f"<title>{html.escape(settings.feed_title)}</title></head><body>"
            f"<h1>{html.escape(settings.feed_title)}</h1>"
            '<p><a href="/feeds/all.rss">RSS: tất cả tin / all news</a></p>'
            f"<h2>Tin mới nhất</h2><ul>{items}</ul></body></html>"
        )
        return HTMLResponse(page)

    async def health(request: Request) -> Response:
        """Liveness plus a database round trip; 503 when the database is down."""
        try:
            count = await run_in_threadpool(_article_count, factory)
        except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
            return JSONResponse(
                {"status": "error", "database": f"{exc.__class__.__name__}"}, status_code=503
            )
        return JSONResponse({"status": "ok", "articles": count})

    return Starlette(
        routes=[
            Route("/", home),
            Route("/healthz", health),
            Route("/feeds/{name}", feed),
        ]
    )


def _not_modified(request: Request, doc: cache.CachedFeed) -> bool:
    """RFC 9110: If-None-Match wins; otherwise compare If-Modified-Since (1 s precision)."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return doc.etag in tags or "*" in tags
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


def _latest_titles(factory: sessionmaker[Session]) -> list[tuple[str, str]]:
    with factory() as session:
        rows = session.execute(
            select(Article.title, Article.canonical_url)
            .order_by(Article.first_seen_at.desc())
            .limit(20)
        )
        return [(title, url) for title, url in rows]


def _article_count(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        session.execute(text("SELECT 1"))
        return int(session.scalar(select(func.count()).select_from(Article)) or 0)
