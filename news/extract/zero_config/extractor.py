"""Zero-config extraction for news sites that have no profile.

trafilatura finds article bodies well, but on Vietnamese news pages (old
ASP.NET table layouts with uppercase tags and the title in a ``<SPAN>``, logos
in ``<h1>``, WordPress themes that show only the day, sub-documents pasted
inside the page, dates shown only as "Thứ sáu, 28/12/2012, 14:46 GMT+7") its
title, date and lead are often wrong. So trafilatura supplies the body only,
and the fields readers see first come from heuristics that look at the page the
way a reader does. One module per job:

* :mod:`.lookup`: text, tag and metadata lookups;
* :mod:`.meta`: title (and the element that anchors the layout),
  category, author, image, canonical URL;
* :mod:`.layout`: the page as visible lines around the title;
* :mod:`.published`: the publication moment;
* :mod:`.text`: body and lead;
* :mod:`.links`: article links on listing pages.

This module wires them together and decides whether a page is an article at all:
a page that is not a listing is one when it shows enough text, or, however short
its body, when it has what a reader recognises as a news item: a title, a date
printed near it and a lead (a two-line notice on a provincial portal).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from news.errors import ExtractionError
from news.extract.article import ExtractedArticle
from news.extract.page import page_text, parse
from news.extract.zero_config import meta as generic_meta
from news.extract.zero_config.layout import Line, page_lines
from news.extract.zero_config.lookup import jsonld, meta
from news.extract.zero_config.published import published_at, shown_date
from news.extract.zero_config.text import SEEN_PREFIX, body_text, lead_text

__all__ = ["extract_generic"]

_MIN_BODY_CHARS = 150
_JUNK = "//script|//style|//noscript|//template|//select|//comment()"


def extract_generic(
    content: bytes | str,
    *,
    url: str,
    now: datetime,
    tz: ZoneInfo,
    summary_chars: int = 400,
    content_type: str | None = None,
) -> ExtractedArticle:
    """Extract one article from a page of an unknown site; ExtractionError if it is not one."""
    text = page_text(content, content_type, url=url)
    root = parse(text, url)
    ld = jsonld(root)  # before the scripts go
    for junk in root.xpath(_JUNK):
        if junk.getparent() is not None:  # a comment may sit outside <html>
            junk.drop_tree()
    title, title_el = generic_meta.title(root, ld)
    if not title:
        raise ExtractionError("no title found", url=url)
    lines, at = page_lines(root, title_el)
    body = body_text(text, url, root, title)
    lead = lead_text(root, title, body, lines, at)
    # A short notice on a government portal is all sapo and two lines of body;
    # what a reader gets is both, so both count towards "is this an article".
    shown = len(body) + (len(lead) if lead[:SEEN_PREFIX] not in body else 0)
    too_short = shown < _MIN_BODY_CHARS and not _dated_item(lead, lines, at, now, tz)
    if too_short or _looks_like_listing(root, lines, at, url):
        raise ExtractionError("no article body found (listing or junk page)", url=url)
    published = published_at(root, ld, lines, at, now, tz)
    category = generic_meta.category(root, ld)
    author, body = _author(root, ld, body, lines)
    return ExtractedArticle.build(
        url=url,
        canonical_url=generic_meta.canonical_url(root, url),
        title=title,
        category=category,
        published=published,
        lead=lead,
        body=body or lead,
        summary_chars=summary_chars,
        image=generic_meta.image(root, url),
        author=author,
    )


def _author(
    root: Any, ld: list[dict[str, Any]], body: str, lines: list[Line]
) -> tuple[str | None, str]:
    """The author, and the body without the byline: a byline is no paragraph.

    The byline printed after the body wins over an element marked "author" or
    metadata, which on real pages often name a desk or the site ("VnExpress").
    """
    linked = {line.text for line in lines if line.in_link}
    author, body = generic_meta.printed_byline(root, body, linked)
    if author is None:
        author = generic_meta.author(root, ld)
        if author is not None:
            body = "\n".join(p for p in body.split("\n") if p != author)
    return author, body


def _dated_item(lead: str, lines: list[Line], at: int, now: datetime, tz: ZoneInfo) -> bool:
    """A title on the page, a date printed near it and a lead: a news item however short."""
    return bool(lead) and at >= 0 and shown_date(lines, at, now, tz) is not None


_LISTING_WINDOW = 20
_LISTING_LINK_SHARE = 0.8


def _looks_like_listing(root: Any, lines: list[Line], at: int, url: str) -> bool:
    """A home or section page: the site root, a title known only from ``<title>``,
    or text under the title that is mostly links to other pages."""
    if urlsplit(url).path in ("", "/") or (at < 0 and not meta(root, "og:title")):
        return True
    window = lines[max(at, 0) : max(at, 0) + _LISTING_WINDOW]
    total = sum(len(line.text) for line in window)
    linked = sum(len(line.text) for line in window if line.in_link)
    return total == 0 or linked / total >= _LISTING_LINK_SHARE
