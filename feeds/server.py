"""Loa's HTTP server: feeds with conditional GET and gzip, the home page, OPML, health.

Built by :func:`create_app` with everything injected and served by uvicorn
(`loa serve`, with the limits of :mod:`feeds.serving`). Feed requests are
answered by :class:`feeds.fastpath.FeedFastPath` from documents that
:class:`feeds.service.FeedService` finds; the Starlette routes here serve the
small human page, the OPML list and the operator's probes (:mod:`feeds.health`:
``/healthz``, ``/readyz``, ``/metrics``); ``/api/`` is the HTTP
API for CMS pushes and editors' actions (:mod:`feeds.api`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route

from config.settings import Settings
from feeds.api import create_api
from feeds.deep_links import bot_username
from feeds.fastpath import FeedFastPath
from feeds.health import probe_routes
from feeds.pages import home_page, opml
from feeds.service import FeedService
from feeds.specs import OPML_PATH, FeedSpec
from news.queries import latest_headlines
from ops.status_route import status_endpoint


def create_app(settings: Settings, factory: sessionmaker[Session]) -> FeedFastPath:
    """The ASGI app for `settings`, reading from the database behind `factory`."""
    service = FeedService(settings, factory)

    async def home(request: Request) -> Response:
        """The small human page: feeds by category, latest headlines, Telegram."""
        lang = request.query_params.get("lang", settings.language)
        specs, headlines, username = await run_in_threadpool(_home_data, service)
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
            bot_username=username,
        )
        return HTMLResponse(page, headers={"Cache-Control": "public, max-age=60"})

    async def opml_list(request: Request) -> Response:
        """Every feed as OPML, for a one-click import."""
        specs = await run_in_threadpool(service.specs)
        body = opml(title=settings.feed_title, base_url=settings.base_url, feeds=specs)
        return Response(body, media_type="text/x-opml; charset=utf-8")

    app = Starlette(
        routes=[
            Route("/", home),
            *probe_routes(settings, factory),  # /healthz, /readyz, /metrics
            Route(OPML_PATH, opml_list),
            Route("/status", status_endpoint(settings, factory)),  # basic auth (ops.status_auth)
            Mount("/api", app=create_api(settings, factory)),
        ]
    )
    # No "/healthz/" → "/healthz" redirects: building the redirect URL decodes the
    # query string as strict UTF-8, so raw bytes there would end in a 500.
    app.router.redirect_slashes = False
    return FeedFastPath(app, service)


def _home_data(
    service: FeedService,
) -> tuple[list[FeedSpec], list[tuple[str, str]], str | None]:
    """What the home page shows: feeds, headlines, and the bot's username (one file read)."""
    headlines = [(h.title, h.url) for h in latest_headlines(service.factory, 20)]
    return service.specs(), headlines, bot_username(service.settings)
