"""From one page of a site to everything Loa could watch there (the network half of discovery).

In order, each step within :class:`~news.discovery.fetching.SiteFetcher`'s budget:

1. the given page: a feed or sitemap itself; else a listing (the page itself),
   its ``<link rel="alternate">`` feeds and its category menu;
2. from an article (or a page that is no listing): up to its breadcrumb /
   category link and the home page (its home link, else the site's root),
   each a listing when its links say so;
3. at the site's root (where its home link points, then the origin):
   robots.txt ``Sitemap:`` lines, else ``/sitemap.xml`` (an index: its
   freshest children), and when no page declared a feed, ``/feed``, ``/rss``,
   ``/rss.xml``, ``/feed.xml``, ``/atom.xml`` until one is a feed; the next root
   is tried only when this one gave neither feed nor sitemap;
4. when still no listing: the first category-menu pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urljoin, urlsplit

from news.discovery.candidates import (
    WELL_KNOWN_FEEDS,
    WELL_KNOWN_SITEMAPS,
    PageInfo,
    Syndicated,
    analyse_page,
    feed_candidate,
    looks_like_xml,
    robots_sitemaps,
    sitemap_candidate,
)
from news.discovery.fetching import SiteFetcher
from news.discovery.model import Candidate
from news.errors import ExtractionError
from news.fetch import FetchResult

#: pages fetched on the way up from an article (breadcrumb, category, home)
MAX_UP = 3
#: sitemaps from robots.txt, and children of a sitemap index, followed
MAX_SITEMAPS = 2
MAX_CHILDREN = 3
#: declared feeds and category-menu pages fetched
MAX_DECLARED_FEEDS = 3
MAX_MENU_PAGES = 3


@dataclass
class Found:
    """What the crawl found: candidates in the order found, their entries' dates, the menu."""

    candidates: list[Candidate] = field(default_factory=list)
    dates: dict[str, datetime] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    menu: list[tuple[str, str]] = field(default_factory=list)
    entry: PageInfo | None = None

    def add(self, candidate: Candidate) -> None:
        if all(c.url != candidate.url for c in self.candidates):
            self.candidates.append(candidate)

    def has(self, *kinds: str) -> bool:
        return any(c.kind in kinds and c.article_urls for c in self.candidates)


def find_candidates(url: str, site: SiteFetcher) -> Found:
    """Everything watchable reachable from `url` (see the module docstring)."""
    found = Found()
    page = site.get(url, f"the given page: {url}")
    info = _read_page(page, site, found, "the page itself", what=f"the given page: {url}")
    found.entry = info
    if info is not None:
        _remember_menu(info, found)
        for kind, feed_url, _title in info.feeds[:MAX_DECLARED_FEEDS]:
            _syndicated(site, found, feed_url, f'<link rel="alternate" type={kind}>', feed=True)
        if info.is_article or not info.is_listing:
            _go_up(info, site, found)
    for root in _roots(page.url if page else url, info):
        before = len(found.candidates)
        _probe_root(root, site, found)
        if any(c.kind != "listing" for c in found.candidates[before:]):
            break
    if not found.has("listing"):
        for name, menu_url in found.menu[:MAX_MENU_PAGES]:
            menu_page = site.get(menu_url, f"category menu '{name}': {menu_url}")
            _read_page(menu_page, site, found, "category menu", category=name)
    for name, menu_url in found.menu:
        found.add(Candidate("listing", menu_url, "category menu", category=name))
    return found


def _read_page(
    page: FetchResult | None,
    site: SiteFetcher,
    found: Found,
    via: str,
    *,
    what: str | None = None,
    category: str | None = None,
) -> PageInfo | None:
    """Analyse a fetched page; a listing becomes a candidate, a feed or sitemap too."""
    if page is None:
        return None
    what = what or f"{via}: {page.url}"
    if looks_like_xml(page.content, page.content_type):
        for reader in (feed_candidate, sitemap_candidate):
            result = reader(page.content, url=page.url, found_via=via)
            if result.candidate is not None or result.children:
                _take(result, site, found, what, via, page.url)
                return None
        site.note(what, "XML, but neither a feed nor a sitemap")
        return None
    try:
        info = analyse_page(page.content, url=page.url, content_type=page.content_type)
    except ExtractionError as exc:
        site.note(what, f"not a readable page ({str(exc).split(' (http', 1)[0]})")
        return None
    if info.is_listing:
        found.add(
            Candidate(
                "listing",
                page.url,
                via,
                article_urls=tuple(info.article_links),
                title=info.title,
                category=category,
            )
        )
        shape = "a listing"
    else:
        shape = "an article" if info.is_article else "not a listing"
    site.note(
        what,
        f"{shape}: {len(info.article_links)} of {info.site_links} same-site links look like "
        f"articles; {len(info.feeds)} declared feeds; {len(info.menu)} menu entries",
    )
    return info


def _remember_menu(info: PageInfo, found: Found) -> None:
    for name, url in info.menu:
        if all(url != seen for _, seen in found.menu):
            found.menu.append((name, url))
            found.categories.append(name)


def _go_up(info: PageInfo, site: SiteFetcher, found: Found) -> None:
    """From an article to the listings above it: breadcrumb / category links, the home page."""
    steps = [(u, "breadcrumb or category link") for u in info.up[: MAX_UP - 1]]
    steps.append((info.home or _roots(info.url, info)[0], "home page"))
    for url, via in steps[:MAX_UP]:
        if url == info.url:
            continue
        above = _read_page(site.get(url, f"{via}: {url}"), site, found, via)
        if above is not None:
            _remember_menu(above, found)
            if not found.has("rss", "atom"):
                for kind, feed_url, _title in above.feeds[:MAX_DECLARED_FEEDS]:
                    _syndicated(site, found, feed_url, f'<link rel="alternate" type={kind}>', True)


def _roots(url: str, info: PageInfo | None) -> list[str]:
    """Where the site's robots.txt, sitemap and feeds may live: its home, then the origin.

    A site may be mounted under a directory (a department's portal at
    ``/sogd/``): its home link says so; without one, the page's first directory
    is tried before the origin.
    """
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}/"
    roots: list[str] = []
    if info is not None and info.home is not None:
        roots.append(urljoin(info.home, "./"))
    else:
        first = parts.path.lstrip("/").split("/", 1)
        if len(first) == 2 and first[0]:
            roots.append(f"{origin}{first[0]}/")
    roots.append(origin)
    return list(dict.fromkeys(roots))


def _probe_root(root: str, site: SiteFetcher, found: Found) -> None:
    robots = site.get(urljoin(root, "robots.txt"), f"robots.txt: {urljoin(root, 'robots.txt')}")
    listed: list[str] = []
    if robots is not None:
        listed = robots_sitemaps(robots.content.decode("utf-8", "replace"), base=root)
        site.note(f"robots.txt: {robots.url}", f"{len(listed)} Sitemap: lines")
    via = "robots.txt Sitemap:" if listed else "/sitemap.xml"
    for url in (listed or [urljoin(root, p) for p in WELL_KNOWN_SITEMAPS])[:MAX_SITEMAPS]:
        _syndicated(site, found, url, via, feed=False)
    if found.has("rss", "atom"):
        return
    for path in WELL_KNOWN_FEEDS:
        if _syndicated(site, found, urljoin(root, path), f"/{path}", feed=True):
            return


def _syndicated(site: SiteFetcher, found: Found, url: str, via: str, feed: bool) -> bool:
    """Fetch and read a feed or sitemap (an index: its freshest children); True if usable."""
    what = f"{via}: {url}"
    page = site.get(url, what)
    if page is None:
        return False
    reader = feed_candidate if feed else sitemap_candidate
    result = reader(page.content, url=page.url, found_via=via)
    if feed and result.candidate is None and not looks_like_xml(page.content, page.content_type):
        site.note(what, "a web page, not a feed")
        return False
    return _take(result, site, found, what, via, page.url)


def _take(
    result: Syndicated, site: SiteFetcher, found: Found, what: str, via: str, url: str
) -> bool:
    """Keep a read feed or sitemap; follow an index's children (one level)."""
    site.note(what, result.outcome)
    found.dates.update(result.dates)
    if result.candidate is not None:
        found.add(result.candidate)
        return True
    union: list[str] = []
    nested = via.endswith("sitemap index")  # an index inside an index: not followed further
    for child in [] if nested else result.children[:MAX_CHILDREN]:
        before = len(found.candidates)
        _syndicated(site, found, child, f"{via} → sitemap index", feed=False)
        for candidate in found.candidates[before:]:
            union += [u for u in candidate.article_urls if u not in union]
    if union:
        union.sort(key=lambda u: -found.dates[u].timestamp() if u in found.dates else float("inf"))
        found.add(Candidate("sitemap", url, via, article_urls=tuple(union)))
    return bool(union)
