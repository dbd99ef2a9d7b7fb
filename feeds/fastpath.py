"""The feed handler, as plain ASGI in front of the Starlette app.

Most traffic is readers polling the default view of a feed, often with a
validator (304). For those the Starlette request object, routing and header
building would cost more than the answer itself, so every path under
``/feeds/`` (the OPML list aside) is answered here: the document comes from
memory when a fresh copy is there and from the database (on a worker thread)
otherwise, and either way :func:`feeds.response.answer` writes the response.
The Starlette app behind sees only what this layer does not serve (home
page, OPML, health, and everything else).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from feeds.build import DEFAULT_LIMIT, MAX_LIMIT, Query
from feeds.response import Headers, answer
from feeds.service import FeedService
from feeds.specs import FEEDS_PREFIX, OPML_PATH, spec_for_path

MAX_QUERY_CHARS = 100
# ASCII digits only: str.isdigit() and int() also take "²", "٣" and "５", and
# int() refuses more than 4,300 digits with an error; nine digits is plenty.
_LIMIT = re.compile(r"[0-9]{1,9}")
_DEFAULT = Query()


class BadQuery(ValueError):
    """A query parameter a reader got wrong: answered with 400 and this message."""


def parse_query(query_string: bytes) -> Query:
    """`?limit=` (1–500, larger is capped), `?q=` and `?exclude=` (plain words).

    Raw bytes are read as UTF-8 (invalid sequences replaced); a repeated
    parameter keeps its last value; unknown parameters are ignored.
    """
    params = dict(parse_qsl(query_string.decode("utf-8", "replace"), keep_blank_values=True))
    limit = DEFAULT_LIMIT
    raw_limit = params.get("limit")
    if raw_limit is not None:
        if _LIMIT.fullmatch(raw_limit) is None or int(raw_limit) < 1:
            raise BadQuery(f"limit must be a whole number from 1 to {MAX_LIMIT}")
        limit = min(int(raw_limit), MAX_LIMIT)
    words = {}
    for name in ("q", "exclude"):
        value = params.get(name, "").strip()
        if len(value) > MAX_QUERY_CHARS:
            raise BadQuery(f"{name} is limited to {MAX_QUERY_CHARS} characters")
        words[name] = value
    return Query(limit=limit, q=words["q"], exclude=words["exclude"])


class FeedFastPath:
    """ASGI middleware: answers every feed request; the rest goes to `app`."""

    def __init__(self, app: ASGIApp, service: FeedService):
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if not path.startswith(FEEDS_PREFIX) or path == OPML_PATH:
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        if method != "GET" and method != "HEAD":
            await _text(send, 405, "Method Not Allowed\n", [(b"allow", b"GET, HEAD")])
            return
        spec = spec_for_path(path)
        if spec is None:
            await _not_found(send, path)
            return
        query = _DEFAULT
        if scope["query_string"]:
            try:
                query = parse_query(scope["query_string"])
            except BadQuery as exc:
                await _text(send, 400, f"{exc}\n")
                return
        rep = self.service.peek(spec) if query.is_default else None
        if rep is None:
            rep = await run_in_threadpool(self.service.document, spec, query)
            if rep is None:
                await _not_found(send, path)
                return
        status, headers, body = answer(rep, method, scope["headers"])
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _text(send: Send, status: int, text: str, extra: Headers | None = None) -> None:
    body = text.encode("utf-8", "replace")
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", b"%d" % len(body)),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _not_found(send: Send, path: str) -> None:
    message = (
        f"Không có nguồn tin này / no such feed: {path}\n"
        f"Xem danh sách / see the list: {OPML_PATH}\n"
    )
    await _text(send, 404, message)
