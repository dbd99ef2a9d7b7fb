"""Articles that reach Loa from outside a poll: a CMS push, or a URL an editor gives.

A CMS that calls Loa when it publishes gets its article to the channels at
once instead of at the next poll. The article it pushes may well be one a
watched source lists: stored under that source with the identity the poll
would give its URL (the source's reader, news.identity), it is the same row
the poll later finds, so the poll announces nothing again. A URL on no
watched source's site is stored without a source, identified by its address.

Two ways in, one store:

- :func:`store_pushed`: the CMS sends the fields (title, URL, date, category,
  lead, body, image);
- :func:`fetch_and_store`: only a URL; it is fetched through the SSRF guard
  (news.ssrf) and read the way ``loa extract`` and a source without a profile
  read pages (news.extract.SiteReader), or with the source's profile.

Both only store: the caller announces (news.announce.plan_announcements) and
enqueues, so the bot, the CLI and the HTTP API share this and differ only in
how they queue work.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings, SourceConfig
from news.db import utcnow, write_session
from news.errors import EditorialError
from news.extract import ExtractedArticle, ParsedDate, SiteReader, reader_for
from news.fetch import Fetcher, FetchResult
from news.models import Article
from news.poll import map_category
from news.ssrf import Resolver, check_url, safe_fetcher, system_resolve
from news.store import UpsertOutcome, get_or_create_source, upsert_article
from news.text import normalize_text
from news.weburl import web_url

log = logging.getLogger(__name__)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_OUTCOMES = {
    UpsertOutcome.NEW: "new",
    UpsertOutcome.UPDATED: "updated",
    UpsertOutcome.MOVED: "unchanged",
    UpsertOutcome.SAME: "unchanged",
}


@dataclass(frozen=True)
class PushedArticle:
    """An article as a CMS sends it; `published_at` without a zone is in Loa's time zone."""

    title: str
    url: str
    published_at: datetime | None = None
    category: str | None = None
    summary: str = ""
    body: str = ""
    image: str | None = None


@dataclass(frozen=True)
class IngestResult:
    """The stored article and what storing did: ``new``, ``updated`` or ``unchanged``."""

    article_id: int
    outcome: str

    @property
    def changed(self) -> bool:
        return self.outcome != "unchanged"


def store_pushed(
    factory: sessionmaker[Session], settings: Settings, pushed: PushedArticle
) -> IngestResult:
    """Store a pushed article under the watched source its URL belongs to, if any.

    Raises EditorialError for an article that cannot be stored (no http(s)
    address, no title). The lead is the pushed summary, else the body's first
    paragraph, cut as a poll would cut it.
    """
    url = web_url(pushed.url)
    if url is None:
        raise EditorialError("url: only http(s) addresses with a host are accepted")
    if not normalize_text(pushed.title):
        raise EditorialError("title: empty")
    published = pushed.published_at
    if published is not None and published.tzinfo is None:
        published = published.replace(tzinfo=settings.tz)
    lead = pushed.summary.strip() or _first_paragraph(pushed.body)
    article = ExtractedArticle.build(
        url=url,
        title=pushed.title,
        lead=lead,
        body=pushed.body.strip(),
        summary_chars=settings.summary_chars,
        category=pushed.category or "",
        published=ParsedDate(published, inferred_year=False) if published else None,
        image=pushed.image,
    )
    # Checked now: the CMS vouches for this content, so a re-check of the source's
    # young articles reads the page again only after its usual interval.
    return _store(factory, settings, article, url, now=utcnow(), pushed=True)


def fetch_and_store(
    settings: Settings,
    factory: sessionmaker[Session],
    url: str,
    *,
    fetcher: Fetcher | None = None,
    resolve: Resolver = system_resolve,
) -> IngestResult:
    """Fetch `url` (SSRF-checked on every hop), extract and store it.

    Raises HostNotAllowed (news.ssrf) before any request when the URL may not
    be fetched, SourceError when it cannot be fetched or is not an article.
    `fetcher` replaces the guarded one (it must be built by news.ssrf.safe_fetcher
    to keep redirects checked); `resolve` is the name resolution the check uses.
    """
    address, article, page = fetch_article(settings, url, fetcher=fetcher, resolve=resolve)
    return _store(factory, settings, article, address, page=page, now=utcnow())


def fetch_article(
    settings: Settings,
    url: str,
    *,
    fetcher: Fetcher | None = None,
    resolve: Resolver = system_resolve,
) -> tuple[str, ExtractedArticle, FetchResult]:
    """Fetch and extract `url` without storing it (what /preview of a new URL shows).

    Returns the checked address, the article and the page; raises like fetch_and_store.
    """
    address = web_url(url)
    if address is None:
        raise EditorialError("url: only http(s) addresses with a host are accepted")
    check_url(address, settings, resolve=resolve)
    source = watched_source(settings, address)
    own = fetcher is None
    if fetcher is None:
        robots = source.respect_robots if source else True
        fetcher = safe_fetcher(settings, resolve=resolve, respect_robots=robots)
    try:
        page = fetcher.get(address)
    finally:
        if own:
            fetcher.session.close()
    reader = reader_for(source.profile, settings.profiles) if source else SiteReader(None)
    article = reader.article(
        page.content,
        url=page.url,
        now=utcnow(),
        tz=settings.tz,
        summary_chars=settings.summary_chars,
        content_type=page.content_type,
    )
    return address, article, page


def watched_source(settings: Settings, url: str) -> SourceConfig | None:
    """The configured source whose site `url` is on, or None.

    Same site: the host up to ``www.``/``m.`` and the port (the scheme may
    differ: a site moved to https is the same site). Of several sources on
    one site, the one whose listing path is the longest prefix of the URL's.
    """
    site = _site(url)
    path = urlsplit(url).path
    matches = [s for s in settings.effective_sources() if _site(s.url) == site]
    matches.sort(key=lambda s: -_shared_prefix(urlsplit(s.url).path, path))
    return matches[0] if matches else None


def _store(
    factory: sessionmaker[Session],
    settings: Settings,
    article: ExtractedArticle,
    url: str,
    *,
    page: FetchResult | None = None,
    now: datetime | None = None,
    pushed: bool = False,
) -> IngestResult:
    """Upsert `article` with the identity a poll of its watched source would give `url`.

    `pushed`: the content is the CMS's own (see Article.pushed).
    """
    source_cfg = watched_source(settings, url)
    with write_session(factory) as session:
        source = None
        identity = None
        if source_cfg is not None:
            source = get_or_create_source(
                session, name=source_cfg.name, kind=source_cfg.kind, url=source_cfg.url
            )
            identity = reader_for(source_cfg.profile, settings.profiles).identity(url)
            article = map_category(article, source_cfg.categories)
        result = upsert_article(
            session, article, source=source, identity=identity, page=page, checked_at=now,
            stories=settings.stories,
        )  # fmt: skip
        if pushed:
            session.get_one(Article, result.article_id).pushed = True
    outcome = _OUTCOMES[result.outcome]
    log.info(
        "stored %s article %d from %s%s",
        outcome, result.article_id, url, f" (source {source_cfg.name})" if source_cfg else "",
    )  # fmt: skip
    return IngestResult(result.article_id, outcome)


def _site(url: str) -> tuple[str, int | None]:
    """Host without ``www.``/``m.``, and the port when it is not the scheme's default."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    for prefix in ("www.", "m."):
        if host.startswith(prefix):
            host = host[len(prefix) :]
    try:
        port = parts.port
    except ValueError:
        port = None
    if port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        port = None
    return host, port


def _shared_prefix(listing: str, path: str) -> int:
    """How much of `path` the listing path `listing` covers (0 unless it is a prefix)."""
    base = listing.rsplit("/", 1)[0] + "/" if not listing.endswith("/") else listing
    return len(base) if path.startswith(base) else 0


def _first_paragraph(body: str) -> str:
    """The body's first non-empty line: a lead when the CMS sent none."""
    return next((line.strip() for line in body.splitlines() if line.strip()), "")
