"""The hot path for feed readers, as plain ASGI in front of the Starlette app.

Most feed traffic is readers polling the default view of a feed, often with
a validator (304). For those requests the Starlette request object, routing
and header building cost more than the answer itself, so this layer answers
them straight from the in-memory document with headers prepared once per
document version. Anything else (queries, unknown feeds, a document not in
memory yet) falls through to the full app, which has the same semantics.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from email.utils import format_datetime
from typing import Any

from feeds.cache import CachedFeed, FeedStore

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def key_for_path(path: str) -> str | None:
    """The cache key for a feed URL path, or None when the path is not a feed."""
    if not path.startswith("/feeds/"):
        return None
    rest = path[len("/feeds/") :]
    name, dot, fmt = rest.rpartition(".")
    if not dot or fmt not in ("rss", "atom", "json") or not name:
        return None
    if name.startswith("source/"):
        source = name[len("source/") :]
        return None if "/" in source or not source else f"source/{source}.{fmt}"
    if "/" in name:
        return None
    return f"all.{fmt}" if name == "all" else f"category/{name}.{fmt}"


class _Prepared:
    """Response headers of one document version, built once."""

    def __init__(self, doc: CachedFeed, max_age: int):
        self.doc = doc
        common = [
            (b"last-modified", format_datetime(doc.built_at, usegmt=True).encode()),
            (b"cache-control", f"public, max-age={max_age}".encode()),
            (b"vary", b"Accept-Encoding"),
        ]
        self.etag = doc.etag.encode()
        self.etag_gz = (doc.etag[:-1] + '-gz"').encode()
        content_type = (b"content-type", doc.content_type.encode())
        self.plain = [(b"etag", self.etag), *common]
        self.gzip = [(b"etag", self.etag_gz), *common]
        self.plain_200 = [*self.plain, content_type, (b"content-length", b"%d" % len(doc.body))]
        self.gzip_200 = [
            *self.gzip,
            content_type,
            (b"content-encoding", b"gzip"),
            (b"content-length", b"%d" % len(doc.body_gzip)),
        ]


class FeedFastPath:
    """ASGI middleware: answers default-view feed GET/HEAD from memory."""

    def __init__(self, app: ASGIApp, store: FeedStore, *, max_age: int):
        self.app = app
        self.store = store
        self.max_age = max_age
        self._prepared: dict[str, _Prepared] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or scope.get("query_string")
        ):
            await self.app(scope, receive, send)
            return
        key = key_for_path(scope["path"])
        doc = self.store.peek(key) if key is not None else None
        if key is None or doc is None:
            await self.app(scope, receive, send)
            return
        prepared = self._prepared.get(key)
        if prepared is None or prepared.doc is not doc:
            prepared = self._prepared[key] = _Prepared(doc, self.max_age)
        if_none_match = if_modified_since = None
        gzipped = False
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                if_none_match = value
            elif name == b"accept-encoding":
                gzipped = b"gzip" in value
            elif name == b"if-modified-since":
                if_modified_since = value
        if if_modified_since is not None and if_none_match is None:
            await self.app(scope, receive, send)  # date comparison: the full app does it
            return
        if if_none_match is not None and (
            prepared.etag in if_none_match
            or prepared.etag_gz in if_none_match
            or if_none_match.strip() == b"*"
        ):
            headers = prepared.gzip if gzipped else prepared.plain
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers = prepared.gzip_200 if gzipped else prepared.plain_200
        body = doc.body_gzip if gzipped else doc.body
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )
