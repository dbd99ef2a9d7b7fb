"""The `/status` endpoint: basic auth first, then one snapshot, then the page.

Every answer (the page, 401 and 403) carries ``Cache-Control: no-store`` so no
proxy or browser cache keeps the operator's view, and a strict
Content-Security-Policy: the page has no script and loads nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from config.settings import Settings
from ops.status_auth import REALM, authorized, configured_credentials
from ops.status_data import status_snapshot
from ops.status_page import refused_page, status_page

HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def status_endpoint(
    settings: Settings, factory: sessionmaker[Session]
) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint for `settings`, reading through `factory`."""
    credentials = configured_credentials(settings)

    async def status(request: Request) -> Response:
        """The operator's page; 403 without a configured password, 401 without the right one."""
        lang = request.query_params.get("lang", settings.language)
        lang = lang if lang in ("vi", "en") else settings.language
        if credentials is None:
            return HTMLResponse(refused_page(lang), status_code=403, headers=HEADERS)
        if not authorized(request.headers.get("authorization"), credentials):
            return PlainTextResponse(
                "Unauthorized\n", status_code=401, headers={**HEADERS, "WWW-Authenticate": REALM}
            )
        snapshot = await run_in_threadpool(status_snapshot, factory)
        page = status_page(snapshot, title=settings.feed_title, language=lang, tz=settings.tz)
        return HTMLResponse(page, headers=HEADERS)

    return status
