"""Only web addresses are stored: http(s), absolute, with a host.

A hostile page or feed can declare ``javascript:``, ``data:`` or
``vbscript:`` links as its canonical URL, item link or image. Stored, such a
link would become a clickable script on Loa's home page, in every feed
format and in the Telegram post and its button. Every URL that reaches the
store passes through :func:`web_url`; anything else is dropped with a logged
reason (or, for the article's own address, the article is refused).
"""

from __future__ import annotations

import logging
from urllib.parse import urljoin, urlsplit

log = logging.getLogger(__name__)
WEB_SCHEMES = ("http", "https")


def web_url(value: str | None, *, base: str | None = None) -> str | None:
    """`value` resolved against `base` if it is an http(s) URL with a host, else None."""
    if not value:
        return None
    candidate = value.strip()
    if base:
        candidate = urljoin(base, candidate)
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in WEB_SCHEMES or not parts.hostname:
        return None
    return candidate


def web_url_or_drop(value: str | None, *, base: str | None, what: str) -> str | None:
    """:func:`web_url`, logging why a non-empty value was dropped."""
    kept = web_url(value, base=base)
    if value and kept is None:
        log.warning("dropped %s %r: only http(s) URLs are stored", what, value[:200])
    return kept
