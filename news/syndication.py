"""Feeds and sitemaps as sources: hardened parsing into candidate links.

RSS/Atom go through feedparser (which never fetches anything itself here: we
hand it bytes). Sitemaps are parsed with defusedxml, which refuses entity
expansion and external references, so a hostile sitemap cannot blow up
memory or make Loa fetch a URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from news.errors import ExtractionError
from news.text import normalize_text

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS_NS = "{http://www.google.com/schemas/sitemap-news/0.9}"


@dataclass(frozen=True)
class FeedItem:
    """One feed entry: enough to decide whether the page must be fetched too."""

    link: str
    title: str
    summary: str
    published_at: datetime | None
    image: str | None
    category: str | None
    author: str | None


@dataclass(frozen=True)
class Sitemap:
    """A parsed sitemap: page URLs (urlset) or child sitemaps (sitemapindex)."""

    pages: list[str]
    children: list[str]
    #: a page's ``news:publication_date`` (Google News sitemaps), else its ``lastmod``;
    #: a child sitemap's ``lastmod`` (which child is the freshest)
    dates: dict[str, datetime] = field(default_factory=dict)
    #: a Google News sitemap: its pages are the site's newest articles
    news: bool = False


def parse_feed(content: bytes, *, url: str) -> list[FeedItem]:
    """Entries of an RSS/Atom document, in document order.

    A feed that declares entities in its DTD is refused before any parsing:
    no honest feed needs them, and they are how billion-laughs and external
    entity (XXE) attacks start. feedparser leaves them unexpanded, but would
    still store the literal ``&xxe;`` and read the rest of a hostile feed.
    """
    if declares_entities(content):
        raise ExtractionError("feed declares XML entities (a DTD subset): refused", url=url)
    parsed = feedparser.parse(content)
    if parsed.get("bozo") and not parsed.entries:
        raise ExtractionError(f"not a readable feed: {parsed.get('bozo_exception')}", url=url)
    items = []
    for entry in parsed.entries:
        link = entry.get("link")
        if not link:
            continue
        struct = entry.get("published_parsed") or entry.get("updated_parsed")
        published = (
            datetime(struct[0], struct[1], struct[2], struct[3], struct[4], struct[5], tzinfo=UTC)
            if struct
            else None
        )
        image = None
        for enclosure in entry.get("enclosures", []):
            if str(enclosure.get("type", "")).startswith("image/"):
                image = enclosure.get("href")
        for media in entry.get("media_content", []) + entry.get("media_thumbnail", []):
            image = image or media.get("url")
        tags = entry.get("tags") or []
        items.append(
            FeedItem(
                link=link,
                title=normalize_text(entry.get("title", "")),
                summary=normalize_text(_strip_tags(entry.get("summary", ""))),
                published_at=published,
                image=image,
                category=normalize_text(tags[0].get("term", "")) if tags else None,
                author=normalize_text(entry.get("author", "")) or None,
            )
        )
    return items


def declares_entities(content: bytes) -> bool:
    """Whether the document declares entities (or external references) in its DTD.

    defusedxml's expat handlers raise at the declaration itself, before any
    expansion, so a billion-laughs feed costs microseconds. A document that
    is not well-formed XML is left to feedparser's lenient parser (which
    never expands entities): only a declaration is a reason to refuse.
    """
    try:
        ElementTree.fromstring(content, forbid_dtd=False, forbid_entities=True)
    except DefusedXmlException:
        return True
    except (ElementTree.ParseError, ValueError):
        return False
    return False


def parse_sitemap(content: bytes, *, url: str) -> Sitemap:
    """Page URLs or child sitemap URLs, refusing entities and external references."""
    try:
        root = ElementTree.fromstring(content, forbid_dtd=True)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise ExtractionError(f"not a readable sitemap: {exc}", url=url) from exc
    locs = [el.text.strip() for el in root.iter(f"{SITEMAP_NS}loc") if el.text]
    dates, news = _entry_dates(root)
    if root.tag == f"{SITEMAP_NS}sitemapindex":
        return Sitemap(pages=[], children=locs, dates=dates)
    if root.tag == f"{SITEMAP_NS}urlset":
        return Sitemap(pages=locs, children=[], dates=dates, news=news)
    raise ExtractionError(f"unexpected sitemap root <{root.tag}>", url=url)


def _entry_dates(root: Any) -> tuple[dict[str, datetime], bool]:
    """Each entry's ``news:publication_date`` or ``lastmod`` (unreadable ones skipped),
    and whether any entry is a Google News one."""
    dates: dict[str, datetime] = {}
    news = False
    for entry in root:
        loc = entry.find(f"{SITEMAP_NS}loc")
        if loc is None or not loc.text:
            continue
        published = entry.find(f"{NEWS_NS}news/{NEWS_NS}publication_date")
        news = news or entry.find(f"{NEWS_NS}news") is not None
        for node in (published, entry.find(f"{SITEMAP_NS}lastmod")):
            when = _w3c_datetime(node.text if node is not None else None)
            if when is not None:
                dates[loc.text.strip()] = when
                break
    return dates, news


def _w3c_datetime(text: str | None) -> datetime | None:
    """A sitemap date (W3C datetime: ``2023-03-13``, ``2023-03-13T08:30:00+07:00``, ``...Z``);
    a date without a zone is read as UTC."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _strip_tags(text: str) -> str:
    """Feed summaries often carry HTML: keep the text only."""
    if "<" not in text:
        return text
    import lxml.etree
    import lxml.html

    try:
        return str(lxml.html.fromstring(f"<div>{text}</div>").text_content())
    except (ValueError, lxml.etree.ParserError):
        return text
