"""``loa add-source URL``: from any page of a site to a source Loa can poll, or why not.

:func:`propose_source` crawls (news.discovery.crawl), samples a few articles
of the best candidates, scores every extraction method on them
(news.discovery.scoring), derives a selector profile when none fits
(news.discovery.derive), and chooses: a feed, then a Google News sitemap,
then an HTML listing, then a plain sitemap, each only if its articles read
well with some method (and, for a listing, that method finds its links).
The result validates as :class:`config.settings.SourceConfig` (and the
profile as :class:`config.profiles.SiteProfile`) before it is returned.

Nothing the site does raises: bad pages, wrong charsets, 404/500 and timeouts
are :class:`~news.discovery.model.Attempt` lines of a refusal. Only a URL Loa
may not fetch at all raises :class:`news.ssrf.HostNotAllowed` (see
:meth:`news.ssrf.HostPolicy.for_add_source`).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from config.profiles import SiteProfile
from config.settings import Settings, SourceConfig
from news.db import utcnow
from news.discovery.candidates import looks_like_xml
from news.discovery.crawl import Found, find_candidates
from news.discovery.derive import derive_profile
from news.discovery.fetching import SiteFetcher
from news.discovery.model import Candidate, MethodScore, Proposal, SamplePage
from news.discovery.scoring import GOOD_SCORE, ZERO_CONFIG, score_methods, title_parts
from news.errors import SourceError
from news.extract import BUILTIN_PROFILES, reader_for
from news.extract.page import canonicalize_url, meta, parse_html
from news.fetch import Fetcher
from news.politeness import LocalGate
from news.ssrf import HostPolicy, Resolver, check_url, safe_fetcher, system_resolve
from news.text import normalize_text, slugify

#: candidates whose sample articles are fetched and scored
MAX_SCORED = 3
#: how much better than zero-config a derived profile must read to be proposed
DERIVED_MARGIN = 0.03
#: a method below this reads too little to propose at all (GOOD_SCORE: it "fits")
USABLE_SCORE = 0.4
#: kinds in the order they are preferred (a feed carries dates and costs one request)
_PREFERENCE = {"rss": 0, "atom": 0, "news-sitemap": 1, "listing": 2, "sitemap": 3}
_SOURCE_KIND = {"rss": "rss", "atom": "rss", "news-sitemap": "sitemap", "sitemap": "sitemap"}
#: median gap between articles (s) → poll interval (s)
_INTERVALS = ((15 * 60, 120), (60 * 60, 300), (6 * 3600, 600))
_SLOW_INTERVAL = 1800
_DEFAULT_INTERVAL = 600
_GENERIC_LABELS = {"www", "m", "com", "net", "org", "vn", "gov", "edu", "info", "test", "local"}


def discovery_fetcher(
    settings: Settings, *, resolve: Resolver = system_resolve, delay: float = 0.2
) -> Fetcher:
    """The fetcher a proposal uses: add-source SSRF policy, robots.txt, `delay` s between
    requests to the site, 15 s per page."""
    return safe_fetcher(
        settings,
        resolve=resolve,
        policy=HostPolicy.for_add_source(settings),
        gate=LocalGate(max_concurrent=1, min_delay=delay),
        timeout=(5.0, 10.0),
        max_seconds=15.0,
    )


def propose_source(
    url: str,
    settings: Settings,
    *,
    fetcher: Fetcher | None = None,
    resolve: Resolver = system_resolve,
    sample: int = 3,
    now: datetime | None = None,
) -> Proposal:
    """What to watch on the site of `url` (see the module docstring)."""
    url = url.strip()
    check_url(url, HostPolicy.for_add_source(settings), resolve=resolve)
    site = SiteFetcher(fetcher or discovery_fetcher(settings, resolve=resolve))
    found = find_candidates(url, site)
    now = now or utcnow()
    profiles: dict[str, SiteProfile] = {**BUILTIN_PROFILES, **settings.profiles}
    ranked = _ranked(found.candidates)[:MAX_SCORED]
    samples = {c.url: _samples(c, site, sample) for c in ranked}
    scores = _scores(ranked, samples, profiles, settings.tz, now)
    for candidate in ranked:
        site.note(f"articles of {candidate.url}", _score_line(scores.get(candidate.url, ())))
    derived: SiteProfile | None = None
    if not _a_profile_fits(scores):
        name = source_name(url, settings)
        derived = _derive(ranked, samples, site, name, profiles, settings.tz, now)
        if derived is not None:
            profiles[derived.name] = derived
            scores = _scores(ranked, samples, profiles, settings.tz, now)
    choice = _choose(ranked, scores, site, profiles, derived.name if derived else None)
    base = Proposal(
        url=url,
        candidates=tuple(found.candidates),
        scores=scores,
        chosen=None,
        method=None,
        source=None,
        profile=None,
        attempts=tuple(site.attempts),
    )
    if choice is None:
        return base
    chosen, method = choice
    profile = None if method.method == ZERO_CONFIG else method.method
    source, categories = _source(
        url, settings, chosen, profile, profiles, samples[chosen.url], found, now
    )
    derived_used = derived if derived is not None and profile == derived.name else None
    warnings = []
    if method.score < GOOD_SCORE:
        warnings.append(
            f"the best method ({method.method}) scores {method.score:.2f}, below "
            f"{GOOD_SCORE:.2f}: check the articles with `loa check-source`"
        )
    return Proposal(
        url=url,
        candidates=base.candidates,
        scores=scores,
        chosen=chosen,
        method=method.method,
        source=source,
        profile=derived_used.model_dump(exclude_defaults=True) if derived_used else None,
        attempts=tuple(site.attempts),
        warnings=tuple(warnings),
        category_slugs={name: slugify(name) for name in categories},
        derived=derived.model_dump(exclude_defaults=True) if derived else None,
    )


def _a_profile_fits(scores: dict[str, tuple[MethodScore, ...]]) -> bool:
    """Whether some site profile (zero-config aside) reads some candidate's articles well.

    When none does, a profile is derived from the site's own pages and scored
    beside zero-config, and the better one is proposed: selectors made for the
    site read it exactly and cheaply, zero-config keeps guessing.
    """
    return any(
        m.method != ZERO_CONFIG and m.score >= GOOD_SCORE
        for methods in scores.values()
        for m in methods
    )


def _ranked(candidates: list[Candidate]) -> list[Candidate]:
    """Candidates with articles, preferred kind first, then the one listing more articles."""
    usable = [c for c in candidates if c.article_urls]
    return sorted(usable, key=lambda c: (_PREFERENCE[c.kind], -len(c.article_urls)))


def _samples(candidate: Candidate, site: SiteFetcher, sample: int) -> list[SamplePage]:
    """Up to `sample` of the candidate's articles (failed ones skipped, at most twice as many)."""
    pages: list[SamplePage] = []
    for url in candidate.article_urls[: sample * 2]:
        if len(pages) >= sample:
            break
        page = site.get(url, f"sample article: {url}")
        if page is not None and not looks_like_xml(page.content, page.content_type):
            pages.append(SamplePage(page.url, page.content, page.content_type or None))
    return pages


def _scores(
    ranked: list[Candidate],
    samples: dict[str, list[SamplePage]],
    profiles: dict[str, SiteProfile],
    tz: ZoneInfo,
    now: datetime,
) -> dict[str, tuple[MethodScore, ...]]:
    """Every method's scores per candidate; candidates sharing a sample are scored once
    (a site's feed, sitemap and home page often list the same newest articles)."""
    done: dict[tuple[str, ...], tuple[MethodScore, ...]] = {}
    out: dict[str, tuple[MethodScore, ...]] = {}
    for candidate in ranked:
        pages = samples[candidate.url]
        if not pages:
            continue
        key = tuple(sorted(page.url for page in pages))
        if key not in done:
            done[key] = tuple(score_methods(pages, profiles=profiles, tz=tz, now=now))
        out[candidate.url] = done[key]
    return out


def _score_line(scores: tuple[MethodScore, ...]) -> str:
    if not scores:
        return "no sample article could be fetched"
    best = ", ".join(f"{s.method} {s.score:.2f}" for s in scores[:3])
    return f"{scores[0].articles} sample articles; best methods: {best}"


def _derive(
    ranked: list[Candidate],
    samples: dict[str, list[SamplePage]],
    site: SiteFetcher,
    name: str,
    profiles: dict[str, SiteProfile],
    tz: ZoneInfo,
    now: datetime,
) -> SiteProfile | None:
    """A selector profile from the largest sample, when no profile fits (None if none holds)."""
    best = max(ranked, key=lambda c: len(samples[c.url]), default=None)
    if best is None or len(samples[best.url]) < 2:
        return None
    while name in profiles:
        name += "-site"
    listing = site.cached(best.url) if best.kind == "listing" else None
    listing_page = (
        SamplePage(listing.url, listing.content, listing.content_type or None) if listing else None
    )
    try:
        derived = derive_profile(samples[best.url], name=name, listing=listing_page, tz=tz, now=now)
    except (SourceError, ValueError) as exc:
        site.note(f"deriving a profile from {best.url}", f"failed: {exc}")
        return None
    site.note(
        f"deriving a profile from {best.url}",
        "no landmarks hold on every sample" if derived is None else f"derived '{name}'",
    )
    return derived


def _choose(
    ranked: list[Candidate],
    scores: dict[str, tuple[MethodScore, ...]],
    site: SiteFetcher,
    profiles: dict[str, SiteProfile],
    derived: str | None = None,
) -> tuple[Candidate, MethodScore] | None:
    """The first candidate (in preference order) some method reads well enough.

    A derived profile must read clearly better than zero-config
    (:data:`DERIVED_MARGIN`) to be proposed: selectors learnt from three pages
    break when the site changes its template, zero-config does not.
    """

    def merit(method: MethodScore) -> float:
        return method.score - (DERIVED_MARGIN if method.method == derived else 0.0)

    for candidate in ranked:
        methods = sorted(scores.get(candidate.url, ()), key=merit, reverse=True)
        for method in methods:
            if method.score < USABLE_SCORE:
                break
            if candidate.kind == "listing" and not _finds_links(candidate, method, site, profiles):
                site.note(
                    f"method {method.method} on {candidate.url}",
                    "finds no article links on the listing: not usable there",
                )
                continue
            return candidate, method
    return None


def _finds_links(
    candidate: Candidate, method: MethodScore, site: SiteFetcher, profiles: dict[str, SiteProfile]
) -> bool:
    """Whether the method's reader finds article links on the listing (as a poll would)."""
    page = site.cached(candidate.url)
    if page is None:
        return False
    profile = None if method.method == ZERO_CONFIG else method.method
    try:
        reader = reader_for(profile, profiles)
        return bool(reader.links(page.content, base_url=page.url, content_type=page.content_type))
    except SourceError:
        return False


def _source(
    url: str,
    settings: Settings,
    chosen: Candidate,
    profile: str | None,
    profiles: dict[str, SiteProfile],
    samples: list[SamplePage],
    found: Found,
    now: datetime,
) -> tuple[dict[str, Any], list[str]]:
    """The proposed ``sources:`` entry, validated, and its category names."""
    reader = reader_for(profile, profiles)
    categories: list[str] = []
    dates = [found.dates[u] for u in chosen.article_urls if u in found.dates]
    for page in samples:
        try:
            article = reader.article(
                page.content,
                url=page.url,
                now=now,
                tz=settings.tz,
                summary_chars=settings.summary_chars,
                content_type=page.content_type,
            )
        except SourceError:
            continue
        if article.category:
            categories.append(article.category)
        if article.published_at is not None and canonicalize_url(page.url) not in found.dates:
            dates.append(article.published_at)
    if chosen.category:
        categories.append(chosen.category)
    categories += found.categories
    names = list(dict.fromkeys(c for c in categories if slugify(c)))
    source: dict[str, Any] = {"name": source_name(url, settings)}
    title = site_title(samples)
    if title:
        source["title"] = title
    source.update({"kind": _SOURCE_KIND.get(chosen.kind, "html"), "url": chosen.url})
    if profile is not None:
        source["profile"] = profile
    source["poll_interval"] = poll_interval(dates)
    if names:
        source["categories"] = {name: name for name in names}
    SourceConfig.model_validate(source)
    return source, names


def site_title(pages: list[SamplePage]) -> str | None:
    """The site's name as its pages state it, for readers ("Also on: Báo Khánh Hòa").

    ``og:site_name`` (or ``application-name``) when the pages agree on one;
    else the last part of ``<title>`` ("Headline - Báo X") when every page
    ends with the same; None when the pages do not say (the config name is shown).
    """
    stated: Counter[str] = Counter()
    endings: Counter[str] = Counter()
    for page in pages:
        try:
            root = parse_html(page.content, page.url)
        except (SourceError, ValueError):
            continue
        if name := normalize_text(meta(root, "og:site_name", "application-name") or ""):
            stated[name] += 1
        parts = title_parts(root)
        if len(parts) > 1:
            endings[parts[-1]] += 1
    for counts in (stated, endings):
        if counts:
            name, n = counts.most_common(1)[0]
            if n == len(pages) and len(name) <= 100:
                return name
    return None


def poll_interval(dates: list[datetime]) -> int:
    """How often to poll, from how often the site publishes (the median gap between dates)."""
    stamps = sorted({d.timestamp() for d in dates}, reverse=True)[:20]
    if len(stamps) < 2:
        return _DEFAULT_INTERVAL
    gap = statistics.median(a - b for a, b in zip(stamps, stamps[1:], strict=False))
    return next((every for most, every in _INTERVALS if gap <= most), _SLOW_INTERVAL)


def source_name(url: str, settings: Settings) -> str:
    """A source name from the site's host ("baolang" for baolang.test), unique in `settings`.

    A site served from a directory of an IP address (a test server, an intranet
    portal) is named after that directory.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    labels = [x for x in host.split(".") if x and x not in _GENERIC_LABELS]
    if not labels or all(x.isdigit() for x in labels):
        first = parts.path.lstrip("/").split("/", 1)[0]
        labels = [x for x in first.split(".") if x and x not in _GENERIC_LABELS] or ["site"]
    name = re.sub(r"[^a-z0-9_-]+", "-", slugify("-".join(labels[:2]))).strip("-") or "site"
    taken = {s.name for s in settings.sources}
    base, n = name, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name
