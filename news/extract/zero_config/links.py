"""Article links on a listing or home page of an unknown site.

Without a profile we cannot know which ``<a>`` are articles, but Vietnamese
news URLs give themselves away: a long hyphenated slug of the headline or a
long numeric id, often ending in ``.html``/``.chn``/``.tpo``. Tag, search,
media and section pages, other hosts and ``javascript:`` links are skipped;
every link is canonicalized so the same article is listed once, in page order.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from news.extract.page import canonicalize_url, link_base, page_text, parse

__all__ = ["discover_generic_links"]

_ARTICLE_END = re.compile(r"\.(html?|aspx|chn|tpo|htm|vnp|ldo)$", re.I)
_LONG_ID = re.compile(r"\d{5,}")
_NOT_ARTICLE = re.compile(
    r"/(tag|tags|chu-de|tim-kiem|search|video|videos|login|dang-nhap|register|dang-ky"
    r"|static|images?|img|css|js|rss|feed|author|tac-gia|category|chuyen-muc)(/|$|\.)"
    r"|\.(jpe?g|png|gif|webp|svg|pdf|css|js|xml|rss|mp4|mp3|zip)$",
    re.I,
)
_MIN_SLUG_WORDS = 4
# ASP.NET/PHP portals address an article by a query id ("Default.aspx?tabid=52&ItemID=4101");
# the section id beside it ("tabid") alone is a listing, so only item-like names count.
_ITEM_QUERY = re.compile(
    r"(?:^|&)(?:item|news|article|post|content|detail|tin|bai)_?id=\d+(?:&|$)", re.I
)
_NOT_PAGES = ("#", "javascript:", "mailto:", "tel:")


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().removeprefix("www.")


def _article_path(path: str, query: str = "") -> bool:
    """Paths that look like one article: a long hyphenated slug, a long numeric id,
    or an item id in the query."""
    if not path or _NOT_ARTICLE.search(path):
        return False
    if _ITEM_QUERY.search(query):
        return True
    if path == "/":
        return False
    last = path.rstrip("/").rsplit("/", 1)[-1]
    stem = _ARTICLE_END.sub("", last)
    long_slug = stem.count("-") + 1 >= _MIN_SLUG_WORDS
    if _ARTICLE_END.search(last):
        return long_slug or bool(_LONG_ID.search(last))
    return long_slug or bool(_LONG_ID.search(path))


def discover_generic_links(content: bytes | str, *, base_url: str) -> list[str]:
    """Article URLs linked from a listing or home page, canonicalized, in page order."""
    root = parse(page_text(content, url=base_url), base_url)
    base = link_base(root, base_url)
    home = _host(base_url)
    found: dict[str, None] = {}
    for href in root.xpath("//a/@href"):
        raw = str(href).strip()
        if not raw or raw.startswith(_NOT_PAGES):
            continue
        link = canonicalize_url(urljoin(base, raw))
        parts = urlsplit(link)
        if (
            parts.scheme in ("http", "https")
            and _host(link) == home
            and _article_path(parts.path, parts.query)
        ):
            found.setdefault(link, None)
    return list(found)
