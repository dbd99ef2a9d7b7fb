"""Site profiles at work: reading one CMS's listing and article pages.

The profiles themselves (:class:`config.profiles.SiteProfile`, the selectors
of each CMS and the built-in ones) are configuration values and live in
``config/``; this module is the behaviour that uses them.

Most Vietnamese news sites have no RSS, and each CMS lays its pages out its own
way. A profile names that layout once, as CSS selectors (``engine="selectors"``),
or hands the page to the built-in text-landmark reader for the provincial
portal CMS (``engine="cms-landmarks"``), whose markup varies too much between
installations for fixed selectors. Profiles are data, so a site added in YAML
needs no code; every selector and regex is compiled when the profile is built,
so a typo fails at config load naming the field, not at 3 a.m. in a poll.

:func:`article_identity` gives one key per article across the URL variants a
site hands out (http/https, ``www.``/``m.``, tracking parameters, the same story
under two category paths), so the store does not see one article twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

from lxml.cssselect import CSSSelector

from config.profiles import BUILTIN_PROFILES, SiteProfile
from news.errors import ExtractionError
from news.extract.article import ExtractedArticle
from news.extract.dates import parse_vietnamese_datetime
from news.extract.page import (
    block_lines,
    canonical_url,
    canonicalize_url,
    link_base,
    meta,
    parse_html,
)
from news.extract.portal import discover_cms_links, extract_cms_article
from news.text import normalize_text

__all__ = [
    "BUILTIN_PROFILES",
    "SiteProfile",
    "article_identity",
    "discover_with_profile",
    "extract_with_profile",
]


@lru_cache(maxsize=512)
def _selector(css: str) -> CSSSelector:
    return CSSSelector(css, translator="html")


def _select(root: Any, css: str | None) -> list[Any]:
    return list(_selector(css)(root)) if css else []


# ---------------------------------------------------------------- text layout


def _lines(el: Any) -> list[str]:
    """Text of ``el`` broken into lines at block elements, as a browser shows it."""
    return [line.text for line in block_lines(el)]


def _text(el: Any) -> str:
    return normalize_text(" ".join(_lines(el)))


def _image_url(el: Any) -> str | None:
    """An image URL from an <img>, a <meta content>, or the first <img> inside ``el``."""
    if el.tag == "meta":
        return str(el.get("content") or "").strip() or None
    images = [el] if el.tag == "img" else el.iter("img")
    for img in images:
        for attr in ("data-src", "data-original", "src"):
            value = str(img.get(attr) or "").strip()
            if value and not value.startswith("data:"):
                return value
    return None


def _inside(el: Any, container: Any) -> bool:
    return any(ancestor is container for ancestor in el.iterancestors())


def _unique(lines: Iterable[str]) -> list[str]:
    """Each line once: CMSs print an image caption twice (table cell + paragraph)."""
    return list(dict.fromkeys(lines))


# ---------------------------------------------------------------- extraction


def extract_with_profile(
    profile: SiteProfile,
    content: bytes | str,
    *,
    url: str,
    now: datetime,
    tz: ZoneInfo,
    summary_chars: int = 400,
) -> ExtractedArticle:
    """Read one article page with ``profile``; ExtractionError if title or body is missing."""
    if profile.engine == "cms-landmarks":
        return extract_cms_article(content, url=url, now=now, tz=tz, summary_chars=summary_chars)
    root = parse_html(content, url)
    base = link_base(root, url)
    image_el = next(iter(_select(root, profile.image)), None)
    image_src = _image_url(image_el) if image_el is not None else None
    image_src = image_src or meta(root, "og:image") or None
    for css in profile.drop:
        for el in _select(root, css):
            el.drop_tree()

    title_el = next(iter(_select(root, profile.title)), None)
    title = _text(title_el) if title_el is not None else meta(root, "og:title")
    if not title:
        raise ExtractionError(f"no title ({profile.name}: {profile.title!r})", url=url)
    body_el = next(iter(_select(root, profile.body)), None)
    if body_el is None:
        raise ExtractionError(f"no article body ({profile.name}: {profile.body!r})", url=url)

    author = None
    for el in _select(root, profile.author):
        author = author or _text(el) or None
        if _inside(el, body_el):
            el.drop_tree()  # a byline is not a paragraph
    lead_el = next(iter(_select(root, profile.lead)), None)
    lead = _text(lead_el) if lead_el is not None else ""
    paragraphs = _lines(body_el)
    if lead and (lead_el is None or not _inside(lead_el, body_el)):
        paragraphs.insert(0, lead)
    paragraphs = _unique(paragraphs)
    if not paragraphs:
        raise ExtractionError(f"empty article body ({profile.name})", url=url)

    published = None
    date_el = next(iter(_select(root, profile.date)), None)
    if date_el is not None:
        stated = str(date_el.get("datetime") or date_el.get("content") or "") or _text(date_el)
        published = parse_vietnamese_datetime(stated, now=now, tz=tz)

    category_el = next(iter(_select(root, profile.category)), None)
    category = _text(category_el) if category_el is not None else meta(root, "article:section")
    return ExtractedArticle.build(
        url=url,
        canonical_url=canonical_url(root, url),
        title=title,
        category=category,
        published=published,
        lead=lead or paragraphs[0],
        body="\n\n".join(paragraphs),
        summary_chars=summary_chars,
        image=urljoin(base, image_src) if image_src else None,
        author=author,
    )


# ---------------------------------------------------------------- URLs


def _host(url: str) -> str:
    """Lower-case host without ``www.``/``m.``, with the port only when it is not 80/443."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    for prefix in ("www.", "m."):
        host = host.removeprefix(prefix)
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port not in (None, 80, 443) else host


def discover_with_profile(
    profile: SiteProfile, content: bytes | str, *, base_url: str
) -> list[str]:
    """Article URLs on a listing page: absolute, same host, canonical, once each, page order."""
    if profile.engine == "cms-landmarks":
        return discover_cms_links(content, base_url=base_url)
    root = parse_html(content, base_url)
    base = link_base(root, base_url)
    pattern = re.compile(profile.article_id_pattern) if profile.article_id_pattern else None
    anchors: list[Any] = []
    for el in _select(root, profile.links) if profile.links else root.iter("a"):
        anchors.extend([el] if el.tag == "a" else el.iter("a"))
    home = _host(base_url)
    found: dict[str, None] = {}
    for anchor in anchors:
        href = str(anchor.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:")):
            continue
        link = canonicalize_url(urljoin(base, href))
        if urlsplit(link).scheme not in ("http", "https") or _host(link) != home:
            continue
        if profile.links is None and pattern is not None and not pattern.search(link):
            continue
        found.setdefault(link, None)
    return list(found)


def article_identity(profile: SiteProfile | None, url: str) -> str:
    """One key per article across URL variants: ``host#id:N`` if the id is known, else the URL.

    The id form survives a story filed under two category paths; the URL form
    drops scheme, ``www.``/``m.``, trailing slash, fragment and tracking parameters.
    """
    clean = canonicalize_url(url)
    parts = urlsplit(clean)
    host = _host(clean)
    if profile is not None and profile.article_id_pattern:
        pattern = re.compile(profile.article_id_pattern)
        with_query = f"{parts.path}?{parts.query}" if parts.query else parts.path
        for candidate in (parts.path, with_query):
            if (match := pattern.search(candidate)) is not None:
                return f"{host}#id:{match.group(1)}"
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{parts.path.rstrip('/')}{query}"
