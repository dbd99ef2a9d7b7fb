"""The one answer to a feed request: conditional GET, gzip and validators.

A :class:`Representation` is a stored document plus its response headers,
built once per document version (the header lists are what make the hot path
cheap). :func:`answer` turns it and the request's fields into status, headers
and body; every feed response goes through it, whether the document came
from memory or from the database, so the two can never disagree.

The gzip copy is a second representation with its own ETag (``"…-gz"``), as
RFC 9110 8.8.3 asks of content codings. If-None-Match matches either tag:
both carry the same document, and a reader that changes Accept-Encoding
between polls still holds a current copy.
"""

from __future__ import annotations

from collections.abc import Iterable
from email.utils import format_datetime

from feeds.cache import CachedFeed
from feeds.headers import accepts_gzip, http_date, none_match

Headers = list[tuple[bytes, bytes]]


class Representation:
    """A document version's validators and prepared response headers."""

    __slots__ = ("doc", "etags", "gzip_200", "gzip_304", "plain_200", "plain_304", "size")

    def __init__(self, doc: CachedFeed, max_age: int):
        self.doc = doc
        etag = doc.etag.encode()
        etag_gz = etag[:-1] + b'-gz"'
        self.etags = frozenset((etag, etag_gz))
        self.size = len(doc.body) + len(doc.body_gzip)
        common = [
            (b"last-modified", format_datetime(doc.built_at, usegmt=True).encode()),
            (b"cache-control", f"public, max-age={max_age}".encode()),
            (b"vary", b"Accept-Encoding"),
        ]
        content_type = (b"content-type", doc.content_type.encode())
        self.plain_304: Headers = [(b"etag", etag), *common]
        self.gzip_304: Headers = [(b"etag", etag_gz), *common]
        self.plain_200: Headers = [
            *self.plain_304,
            content_type,
            (b"content-length", b"%d" % len(doc.body)),
        ]
        self.gzip_200: Headers = [
            *self.gzip_304,
            content_type,
            (b"content-encoding", b"gzip"),
            (b"content-length", b"%d" % len(doc.body_gzip)),
        ]


def answer(
    rep: Representation, method: str, fields: Iterable[tuple[bytes, bytes]]
) -> tuple[int, Headers, bytes]:
    """Status, headers and body for a GET or HEAD of `rep` with request header `fields`.

    Field names are lower case (ASGI). Repeated list fields are joined with
    commas (RFC 9110 5.3); a repeated If-Modified-Since is invalid, so ignored.
    """
    accept_encoding = if_none_match = if_modified_since = None
    since_count = 0
    for name, value in fields:
        if name == b"accept-encoding":
            accept_encoding = value if accept_encoding is None else accept_encoding + b"," + value
        elif name == b"if-none-match":
            if_none_match = value if if_none_match is None else if_none_match + b"," + value
        elif name == b"if-modified-since":
            if_modified_since, since_count = value, since_count + 1
    gzipped = accepts_gzip(accept_encoding)
    if if_none_match is not None:
        not_modified = none_match(if_none_match, rep.etags)
    elif if_modified_since is not None and since_count == 1:
        since = http_date(if_modified_since)
        not_modified = since is not None and rep.doc.built_at.replace(microsecond=0) <= since
    else:
        not_modified = False
    if not_modified:
        return 304, rep.gzip_304 if gzipped else rep.plain_304, b""
    if gzipped:
        return 200, rep.gzip_200, b"" if method == "HEAD" else rep.doc.body_gzip
    return 200, rep.plain_200, b"" if method == "HEAD" else rep.doc.body
