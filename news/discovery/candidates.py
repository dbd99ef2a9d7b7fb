"""What one fetched page of a site says about what Loa could watch there (no network).

An HTML page gives: its declared feeds (``<link rel="alternate">``), its
article links (URL shape, :func:`news.extract.zero_config.discover_generic_links`),
whether it is a listing (most of its same-site links lead to article-like
pages), its category menu (``<nav>``/menu links to same-site non-article
pages), the way up from an article (breadcrumb, category link) and the site's
home link. A feed or a sitemap gives a :class:`~news.discovery.model.Candidate`
with its article links, newest first, and their dates (for the poll interval).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from news.discovery.fetching import site_key
from news.discovery.model import Candidate, CandidateKind
from news.errors import ExtractionError
from news.extract.page import canonicalize_url, link_base, meta, page_text, parse
from news.extract.zero_config.links import _article_path, discover_generic_links
from news.syndication import Sitemap, parse_feed, parse_sitemap
from news.text import normalize_text

#: feed paths tried at a site's root when its pages declare none
WELL_KNOWN_FEEDS = ("feed", "rss", "rss.xml", "feed.xml", "atom.xml")
WELL_KNOWN_SITEMAPS = ("sitemap.xml",)
#: a listing has at least this many article links ...
LISTING_MIN_ARTICLES = 3
#: ... and they are at least this share of its same-site links (menus and footers are the rest)
LISTING_SHARE = 0.3
MAX_MENU = 20

_FEED_TYPES: dict[str, CandidateKind] = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/feed+xml": "rss",
    "application/xml": "rss",
    "text/xml": "rss",
}
_HOME_WORDS = {"trang chủ", "trang chu", "home", "trang nhất", "homepage"}
_MENU_SKIP = re.compile(
    r"^(trang chủ|home|liên hệ|giới thiệu|đăng nhập|đăng ký|rss|tìm kiếm|search|sơ đồ"
    r"|english|tiếng anh|video|ảnh|hỏi đáp|góp ý|login|contact|about)\b",
    re.I,
)
_MENU_CONTAINER = re.compile(r"(^|[\s_-])(nav|menu|navbar|navigation|main-?menu|topmenu)", re.I)
_NOT_MENU = re.compile(
    r"/(author|tac-gia|tag|tags|page|search|tim-kiem|login|dang-nhap|feed|rss|lien-he)(/|$|\.)",
    re.I,
)
_BREADCRUMB = re.compile(r"breadcrumb|bread-crumb|duong-dan|path-?way", re.I)
_CATEGORY_PATH = re.compile(r"/(chuyen-muc|danh-muc|category|categories|section|the-loai)/", re.I)


@dataclass(frozen=True)
class PageInfo:
    """What an HTML page of the site says (see the module docstring)."""

    url: str
    title: str | None
    feeds: list[tuple[CandidateKind, str, str | None]]
    article_links: list[str]
    site_links: int
    menu: list[tuple[str, str]]
    up: list[str]
    home: str | None
    is_article: bool

    @property
    def is_listing(self) -> bool:
        """Most of its same-site links lead to article-like pages (and it is not one)."""
        return (
            not self.is_article
            and len(self.article_links) >= LISTING_MIN_ARTICLES
            and len(self.article_links) >= LISTING_SHARE * self.site_links
        )


@dataclass
class Syndicated:
    """A feed or sitemap read into a candidate, with its entries' dates."""

    candidate: Candidate | None
    children: list[str] = field(default_factory=list)
    dates: dict[str, datetime] = field(default_factory=dict)
    outcome: str = ""


def article_like(url: str) -> bool:
    """A URL shaped like one article (long slug, numeric id, .html, item id)."""
    parts = urlsplit(url)
    return _article_path(parts.path, parts.query)


def analyse_page(content: bytes, *, url: str, content_type: str | None = None) -> PageInfo:
    """Read an HTML page's feeds, links, menu and landmarks; ExtractionError if not HTML."""
    text = page_text(content, content_type, url=url)
    root = parse(text, url)
    base = link_base(root, url)
    here = site_key(url)
    links = _site_links(root, base, here)
    articles = discover_generic_links(text, base_url=url) if links else []
    home = _home(root, base, here)
    titles = root.xpath("//title")
    title = normalize_text(titles[0].text_content()) if titles else None
    many = len(articles) >= LISTING_MIN_ARTICLES and len(articles) >= LISTING_SHARE * len(links)
    # og:type "article" is often left on a home page by a theme: the URL and links decide first
    is_article = article_like(url) or (meta(root, "og:type").lower() == "article" and not many)
    return PageInfo(
        url=url,
        title=title or None,
        feeds=_declared_feeds(root, base),
        article_links=articles,
        site_links=len(links),
        menu=_menu(root, base, here, {canonicalize_url(url), home or ""}),
        up=_up_links(root, base, here),
        home=home,
        is_article=is_article,
    )


def _absolute(base: str, href: str) -> str | None:
    raw = href.strip()
    if not raw or raw.startswith(("#", "javascript:", "mailto:", "tel:")):
        return None
    link = canonicalize_url(urljoin(base, raw))
    return link if urlsplit(link).scheme in ("http", "https") else None


def _site_links(root: Any, base: str, here: tuple[str, str, int | None]) -> set[str]:
    found: set[str] = set()
    for href in root.xpath("//a/@href"):
        link = _absolute(base, str(href))
        if link is not None and site_key(link) == here:
            found.add(link)
    return found


def _declared_feeds(root: Any, base: str) -> list[tuple[CandidateKind, str, str | None]]:
    out: list[tuple[CandidateKind, str, str | None]] = []
    for link in root.xpath("//link[@href]"):
        rel = str(link.get("rel", "")).lower().split()
        kind = _FEED_TYPES.get(str(link.get("type", "")).split(";")[0].strip().lower())
        url = _absolute(base, str(link.get("href")))
        if "alternate" in rel and kind is not None and url is not None:
            if all(url != seen for _, seen, _ in out):
                out.append((kind, url, normalize_text(link.get("title") or "") or None))
    return out


def _class_id(el: Any) -> str:
    return f"{el.get('class', '')} {el.get('id', '')}"


def _in_menu(el: Any) -> bool:
    for parent in el.iterancestors():
        if parent.tag in ("nav", "header"):
            return True
        if _MENU_CONTAINER.search(_class_id(parent)) or parent.get("role") == "navigation":
            return True
    return False


def _menu(
    root: Any, base: str, here: tuple[str, str, int | None], skip: set[str]
) -> list[tuple[str, str]]:
    """(link text, URL) of the category menu: same-site, non-article, short names."""
    out: dict[str, str] = {}
    for a in root.xpath("//a[@href]"):
        url = _absolute(base, str(a.get("href")))
        text = normalize_text(a.text_content())
        if url is None or site_key(url) != here or url in skip or not _in_menu(a):
            continue
        if not text or len(text) > 40 or len(text.split()) > 6 or _MENU_SKIP.match(text):
            continue
        path = urlsplit(url).path
        if path in ("", "/") or _NOT_MENU.search(path) or article_like(url) or url in out.values():
            continue
        out.setdefault(text, url)
        if len(out) >= MAX_MENU:
            break
    return list(out.items())


def _up_links(root: Any, base: str, here: tuple[str, str, int | None]) -> list[str]:
    """From an article upwards: breadcrumb (most specific first), category links."""
    found: list[str] = []
    crumbs = [
        el
        for el in root.iter()
        if isinstance(el.tag, str)
        and (_BREADCRUMB.search(_class_id(el)) or "Breadcrumb" in str(el.get("itemtype", "")))
    ]
    for crumb in crumbs[:1]:
        for href in reversed(crumb.xpath(".//a/@href")):
            found.append(str(href))
    found += [
        str(h) for h in root.xpath("//a[contains(concat(' ', @rel, ' '), ' category ')]/@href")
    ]
    for href in root.xpath("//a/@href"):
        if _CATEGORY_PATH.search(str(href)):
            found.append(str(href))
    out: list[str] = []
    for href in found:
        url = _absolute(base, href)
        if url and site_key(url) == here and not article_like(url) and url not in out:
            out.append(url)
    return out


def _home(root: Any, base: str, here: tuple[str, str, int | None]) -> str | None:
    """The site's home link: rel=home, a logo link or one named "Trang chủ"/"Home"."""
    for a in root.xpath("//a[@href]"):
        url = _absolute(base, str(a.get("href")))
        if url is None or site_key(url) != here or not urlsplit(url).path.endswith("/"):
            continue
        text = normalize_text(a.text_content()).casefold()
        logo = "logo" in _class_id(a).lower() or any(
            "logo" in f"{img.get('src', '')} {img.get('alt', '')} {_class_id(img)}".lower()
            for img in a.iter("img")
        )
        if "home" in str(a.get("rel", "")).split() or logo or text in _HOME_WORDS:
            return url
    return None


def feed_candidate(content: bytes, *, url: str, found_via: str) -> Syndicated:
    """A feed as a candidate (its same-site article links, newest first), or why not."""
    try:
        items = parse_feed(content, url=url)
    except ExtractionError as exc:
        return Syndicated(None, outcome=f"not a feed ({_short(exc)})")
    if not items:
        return Syndicated(None, outcome="not a feed (no entries)")
    here = site_key(url)
    dated = [i for i in items if site_key(i.link) == here] or items
    dated.sort(key=lambda i: i.published_at.timestamp() if i.published_at else 0, reverse=True)
    head = content[:2048].lower()
    kind: CandidateKind = "atom" if b"<feed" in head and b"<rss" not in head else "rss"
    links = tuple(dict.fromkeys(canonicalize_url(i.link) for i in dated))
    dates = {canonicalize_url(i.link): i.published_at for i in dated if i.published_at}
    candidate = Candidate(kind, url, found_via, article_urls=links)
    return Syndicated(candidate, dates=dates, outcome=f"{kind} feed, {len(links)} entries")


def sitemap_candidate(content: bytes, *, url: str, found_via: str) -> Syndicated:
    """A sitemap as a candidate; an index gives its children, freshest first, to follow."""
    try:
        sitemap = parse_sitemap(content, url=url)
    except ExtractionError as exc:
        return Syndicated(None, outcome=f"not a sitemap ({_short(exc)})")
    if sitemap.children:
        children = _newest_first(sitemap.children, sitemap)
        return Syndicated(None, children, outcome=f"sitemap index, {len(children)} sitemaps")
    here = site_key(url)
    pages = [p for p in sitemap.pages if site_key(p) == here]
    pages = [p for p in pages if article_like(p)] or pages
    if not pages:
        return Syndicated(None, outcome="empty sitemap")
    pages = _newest_first(pages, sitemap)
    kind: CandidateKind = "news-sitemap" if sitemap.news else "sitemap"
    what = "Google News sitemap" if sitemap.news else "sitemap"
    candidate = Candidate(kind, url, found_via, article_urls=tuple(pages))
    dates = {p: sitemap.dates[p] for p in pages if p in sitemap.dates}
    return Syndicated(candidate, dates=dates, outcome=f"{what}, {len(pages)} pages")


def _newest_first(urls: list[str], sitemap: Sitemap) -> list[str]:
    """Dated entries newest first, then the undated in document order (stable sort)."""
    dates = sitemap.dates
    return sorted(urls, key=lambda u: -dates[u].timestamp() if u in dates else float("inf"))


def robots_sitemaps(text: str, *, base: str) -> list[str]:
    """The ``Sitemap:`` lines of a robots.txt, as absolute URLs."""
    out: list[str] = []
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "sitemap" and value.strip():
            url = urljoin(base, value.strip())
            if url not in out:
                out.append(url)
    return out


def looks_like_xml(content: bytes, content_type: str) -> bool:
    """A feed or sitemap rather than a web page (by header, then by the first tag)."""
    media = content_type.split(";")[0].strip().lower()
    if media.endswith(("+xml", "/xml")):
        return True
    head = content[:512].lstrip().lower()
    return head.startswith((b"<?xml", b"<rss", b"<feed", b"<urlset", b"<sitemapindex"))


def _short(exc: Exception) -> str:
    return str(exc).split(" (http", 1)[0][:120]
