"""The URL side of a derived profile: the article id shape, and the links on a listing.

A site's article URLs share a shape (``...-3001.html``, ``?ItemID=4101``):
the numeric id in it is what keeps one story one article when the site hands
out its URL under two category paths (``article_id_pattern``). On a listing
page, the links to URLs of that shape sit in containers the template names
(``h3.title-news``, ``td.list-title``): a profile's ``links`` selector.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

from news.discovery.landmarks import css_names, select_all
from news.discovery.model import SamplePage
from news.errors import SourceError
from news.extract.page import link_base, page_text, parse_html

__all__ = ["derive_links", "id_pattern"]

#: Path shapes tried in turn; each captures the id.
_PATH_PATTERNS = (
    r"-(\d+)\.html?$",
    r"/(\d+)\.html?$",
    r"-(\d+)\.(?:chn|ldo|vnp|aspx|php)$",
    r"(\d{5,})\.\w+$",
    r"/(\d{4,})/?$",
    r"/(\d{4,})-[^/]+\.html?$",
)
_MIN_LINKS = 3


def id_pattern(urls: Sequence[str]) -> str | None:
    """The regex capturing a numeric article id in every one of `urls`, distinct per URL."""
    if not urls:
        return None
    paths = [urlsplit(url).path for url in urls]
    for pattern in _PATH_PATTERNS:
        ids = [m.group(1) for p in paths if (m := re.search(pattern, p))]
        if len(ids) == len(urls) and len(set(ids)) == len(ids):
            return pattern
    queries = [dict(parse_qsl(urlsplit(url).query)) for url in urls]
    for name in queries[0]:
        values = [q.get(name, "") for q in queries]
        if all(v.isdigit() for v in values) and len(set(values)) == len(values):
            return rf"[?&]{re.escape(name)}=(\d+)"
    return None


def _article_like(url: str, host: str, samples: Sequence[str], pattern: str | None) -> bool:
    """A URL shaped like the sample articles': same host, and their id shape or path depth."""
    parts = urlsplit(url)
    if (parts.hostname or "").removeprefix("www.") != host:
        return False
    if pattern is not None:
        with_query = f"{parts.path}?{parts.query}" if parts.query else parts.path
        return re.search(pattern, with_query) is not None
    depths = {urlsplit(s).path.rstrip("/").count("/") for s in samples}
    path = parts.path.rstrip("/")
    return path.count("/") in depths and "-" in path.rsplit("/", 1)[-1]


def _container_names(anchor: Any) -> list[str]:
    """CSS paths of the anchor and its nearest named ancestors (up to three levels up)."""
    names = css_names(anchor)
    for level, el in enumerate(anchor.iterancestors()):
        if level >= 3 or not isinstance(el.tag, str) or el.tag.lower() in ("body", "html"):
            break
        names.extend(css_names(el))
        if el.tag.lower() in ("h2", "h3", "h4") and not el.get("class"):
            names.append(el.tag.lower())
    return names


def derive_links(
    listing: SamplePage | None, samples: Sequence[str], pattern: str | None
) -> str | None:
    """The selector of the containers holding a listing's article links, or None.

    The container whose links are most often article-shaped and least often
    anything else wins; it must hold at least three article links.
    """
    if listing is None or not samples:
        return None
    try:
        root = parse_html(
            page_text(listing.content, listing.content_type, url=listing.url), listing.url
        )
    except SourceError:
        return None
    base = link_base(root, listing.url)
    host = (urlsplit(samples[0]).hostname or "").removeprefix("www.")

    def is_article(anchor: Any) -> bool:
        href = str(anchor.get("href") or "").strip()
        return bool(href) and _article_like(urljoin(base, href), host, samples, pattern)

    candidates: dict[str, None] = {}
    for anchor in root.iter("a"):
        if is_article(anchor):
            candidates.update(dict.fromkeys(_container_names(anchor)))
    best: tuple[int, str] | None = None
    for css in candidates:
        good: set[str] = set()
        bad = 0
        for el in select_all(root, css):
            for anchor in [el] if el.tag == "a" else el.iter("a"):
                if is_article(anchor):
                    good.add(urljoin(base, str(anchor.get("href"))))
                else:
                    bad += 1
        score = len(good) - 2 * bad
        if len(good) >= _MIN_LINKS and (best is None or score > best[0]):
            best = (score, css)
    return best[1] if best else None
