"""One poll of one source: fetch the listing, read new articles, store them.

This is the service behind the Celery task, ``loa poll`` and (later) the
editors' bot command. It never raises for one bad article: each problem is
recorded in the report and the rest of the listing is still read. A listing
that cannot be fetched is recorded in the source's health and re-raised. An
unchanged listing (304) costs one conditional GET, no parsing and one small
state update.

Known articles are recognised by their identity key within the source (see
news.identity) and not read again, unless the listing links one from a new
address: then it is read there, which stores a corrected title's new URL
slug as a correction rather than a new article.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from news.db import utcnow, write_session
from news.errors import SourceError
from news.events import record_event
from news.extract import (
    ExtractedArticle,
    LegacyEncodingError,
    ParsedDate,
    article_identity,
)
from news.fetch import FetchResult
from news.health import record_failure, record_success
from news.identity import identity_key
from news.models import Article, Event, EventKind, Source, SourceState
from news.reading import SourceReading
from news.store import UpsertOutcome, get_or_create_source, upsert_article
from news.syndication import FeedItem, parse_feed, parse_sitemap
from news.text import slugify
from news.weburl import web_url_or_drop
from ops.metrics import record_poll

log = logging.getLogger(__name__)
MAX_ARTICLES_PER_POLL = 50
MAX_CHILD_SITEMAPS = 3
FEED_SUMMARY_ENOUGH = 200
INFERRED_DATE_SLACK = timedelta(minutes=10)
#: An unchanged listing (304) writes nothing, except this often, so the
#: reconciler and the status page can still tell a quiet source from a dead poller.
NOT_MODIFIED_HEARTBEAT = timedelta(minutes=10)


@dataclass
class PollReport:
    """What one poll found; `announce` lists the new articles worth posting."""

    source: str
    not_modified: bool = False
    links: int = 0
    new: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    #: known articles found at a new address with unchanged content (links only)
    moved: list[int] = field(default_factory=list)
    announce: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    first_poll: bool = False

    @property
    def changed(self) -> bool:
        """True when feeds need a rebuild."""
        return bool(self.new or self.updated or self.moved)


@dataclass(frozen=True)
class Candidate:
    """A link found on a listing/feed/sitemap, with its identity and feed data if any."""

    url: str
    identity: str
    item: FeedItem | None = None


def poll_source(
    factory: sessionmaker[Session], reading: SourceReading, *, now: datetime | None = None
) -> PollReport:
    """Poll `reading.source` once and store what is new; see the module docstring.

    Every poll is counted by its outcome (``loa_polls_total``), failed ones too.
    """
    try:
        report = _poll(factory, reading, now=now)
    except Exception:
        record_poll(reading.source.name, "error")
        raise
    if report.not_modified:
        outcome = "not_modified"
    else:
        outcome = "changed" if report.changed else "unchanged"
    record_poll(reading.source.name, outcome)
    return report


def _poll(
    factory: sessionmaker[Session], reading: SourceReading, *, now: datetime | None
) -> PollReport:
    source_cfg, fetcher = reading.source, reading.fetcher
    now = now or utcnow()
    report = PollReport(source=source_cfg.name)
    with write_session(factory) as session:
        source = get_or_create_source(
            session, name=source_cfg.name, kind=source_cfg.kind, url=source_cfg.url
        )
        assert source.state is not None
        state = source.state
        etag, last_modified = state.etag, state.last_modified
        report.first_poll = state.polls == 0
        source_id = source.id
        quiet_write_due = (
            not state.healthy
            or state.consecutive_failures > 0
            or state.last_success_at is None
            or now - state.last_success_at >= NOT_MODIFIED_HEARTBEAT
        )

    try:
        listing = fetcher.get(source_cfg.url, etag=etag, last_modified=last_modified)
        if listing.not_modified:
            report.not_modified = True
            if quiet_write_due:
                _record_success(factory, source_id, now, etag, last_modified)
            return report
        candidates = discover(reading, listing)[:MAX_ARTICLES_PER_POLL]
    except SourceError as exc:
        with write_session(factory) as session:
            state = session.get_one(SourceState, source_id)
            record_failure(session, state, now, exc, unhealthy_after=source_cfg.unhealthy_after)
        raise

    report.links = len(candidates)
    with factory() as session:
        to_read = unread_candidates(session, source_id, candidates)
    articles: list[tuple[Candidate, ExtractedArticle, FetchResult | None]] = []
    for candidate in to_read:
        try:
            articles.append(read_candidate(candidate, reading, now))
        except SourceError as exc:
            log.warning("source %s: skipped %s: %s", source_cfg.name, candidate.url, exc)
            report.problems.append(str(exc))
            if isinstance(exc, LegacyEncodingError):
                _flag_once(factory, source_id, str(exc))

    extracted = keep_inferred_dates_monotonic(
        [map_category(a, source_cfg.categories) for _, a, _ in articles]
    )
    for (candidate, _, page), article in zip(articles, extracted, strict=True):
        with write_session(factory) as session:
            source = session.get_one(Source, source_id)
            result = upsert_article(
                session,
                article,
                source=source,
                identity=candidate.identity,
                page=page,
                checked_at=now,
                listed_url=candidate.url,
                stories=reading.stories,
            )
        if result.outcome is UpsertOutcome.NEW:
            report.new.append(result.article_id)
        elif result.outcome is UpsertOutcome.UPDATED:
            report.updated.append(result.article_id)
        elif result.outcome is UpsertOutcome.MOVED:
            report.moved.append(result.article_id)

    # Listings are newest first: on a first poll, announce only the newest K.
    report.announce = (
        report.new[: source_cfg.announce_first_poll] if report.first_poll else list(report.new)
    )
    _record_success(factory, source_id, now, listing.etag, listing.last_modified)
    return report


def discover(reading: SourceReading, listing: FetchResult) -> list[Candidate]:
    """Candidate article links from a listing page, a feed or a sitemap."""
    source_cfg, fetcher, reader = reading.source, reading.fetcher, reading.reader
    if source_cfg.kind == "rss":
        items = parse_feed(listing.content, url=listing.url)
        return _unique(Candidate(i.link, reader.identity(i.link), i) for i in items)
    if source_cfg.kind == "sitemap":
        sitemap = parse_sitemap(listing.content, url=listing.url)
        pages = list(sitemap.pages)
        for child in sitemap.children[:MAX_CHILD_SITEMAPS]:
            pages += parse_sitemap(fetcher.get(child).content, url=child).pages
        return _unique(Candidate(url, reader.identity(url)) for url in pages)
    links = reader.links(listing.content, base_url=listing.url, content_type=listing.content_type)
    return _unique(Candidate(url, reader.identity(url)) for url in links)


def unread_candidates(
    session: Session, source_id: int, candidates: list[Candidate]
) -> list[Candidate]:
    """The candidates worth fetching: unknown ones, and known ones listed at a new address.

    A known article (same identity key in this source) at another address is
    a corrected title's new slug, or a move the source's relocation missed:
    it is read there, so a correction is stored as one and the stored URL
    follows (a withdrawn article listed again comes back). One already stored
    by another source is left to that source.
    """
    keys = {identity_key(c.identity) for c in candidates}
    known: dict[str, set[str]] = {}
    for key, *urls in session.execute(
        select(Article.identity_key, Article.listed_url, Article.url, Article.canonical_url)
        .where(Article.source_id == source_id, Article.identity_key.in_(keys))
        .order_by(Article.id.desc())  # the oldest row wins, as in the store
    ):
        known[key] = {address(u) for u in urls if u}
    elsewhere = set(
        session.scalars(
            select(Article.identity).where(Article.identity.in_([c.identity for c in candidates]))
        )
    )
    out = []
    for candidate in candidates:
        addresses = known.get(identity_key(candidate.identity))
        if addresses is not None:
            if address(candidate.url) not in addresses:
                out.append(candidate)
        elif candidate.identity not in elsewhere:
            out.append(candidate)
    return out


def address(url: str) -> str:
    """A URL as a page address: scheme, ``www.``/``m.``, trailing slash, tracking ignored."""
    return article_identity(None, url)


def _unique(candidates: Iterable[Candidate]) -> list[Candidate]:
    """First occurrence of each identity (the same article under two category paths).

    Links that are not http(s) (``javascript:`` in a feed's <link>) are dropped here,
    with a logged reason, before anything is fetched or stored.
    """
    out: dict[str, Candidate] = {}
    for candidate in candidates:
        if web_url_or_drop(candidate.url, base=None, what="listed link") is None:
            continue
        out.setdefault(candidate.identity, candidate)
    return list(out.values())


def read_candidate(
    candidate: Candidate, reading: SourceReading, now: datetime
) -> tuple[Candidate, ExtractedArticle, FetchResult | None]:
    """The article for a candidate: from its feed entry when complete, else its page."""
    item = candidate.item
    if item is not None and len(item.summary) >= FEED_SUMMARY_ENOUGH and item.image:
        return candidate, _from_feed_item(item, reading.summary_chars), None
    page = reading.fetcher.get(candidate.url)
    article = reading.article(page, now=now)
    if item is not None:  # the feed knows the title and date best; the page the lead and image
        article = replace(
            article,
            title=item.title or article.title,
            published_at=item.published_at or article.published_at,
            date_inferred=article.date_inferred if item.published_at is None else False,
        )
    return candidate, article, page


def _from_feed_item(item: FeedItem, summary_chars: int) -> ExtractedArticle:
    return ExtractedArticle.build(
        url=item.link,
        title=item.title,
        category=item.category or "",
        published=ParsedDate(item.published_at, inferred_year=False) if item.published_at else None,
        lead=item.summary,
        body=item.summary,
        summary_chars=summary_chars,
        image=item.image,
        author=item.author,
    )


def map_category(article: ExtractedArticle, mapping: dict[str, str]) -> ExtractedArticle:
    """Rename the site's category to Loa's, matching names by their folded slug."""
    if not mapping or not article.category:
        return article
    by_slug = {slugify(site): ours for site, ours in mapping.items()}
    ours = by_slug.get(slugify(article.category))
    if ours is None:
        return article
    return replace(article, category=ours, category_slug=slugify(ours))


def keep_inferred_dates_monotonic(articles: list[ExtractedArticle]) -> list[ExtractedArticle]:
    """Year-less dates read in listing order (newest first) must not go forward in time.

    "30/12" on a page fetched on 02/01 already means last year; but during a
    backfill an older page's "15/01" would be read as this January, newer than
    the page listed above it. Such a date is moved back a year at a time until
    it is not newer than its predecessor.
    """
    out: list[ExtractedArticle] = []
    newer: datetime | None = None
    for article in articles:
        when = article.published_at
        if when is not None and article.date_inferred and newer is not None:
            while when > newer + INFERRED_DATE_SLACK:
                day = 28 if (when.month, when.day) == (2, 29) else when.day
                when = when.replace(year=when.year - 1, day=day)
            article = replace(article, published_at=when)
        out.append(article)
        if article.published_at is not None:
            newer = article.published_at
    return out


def _flag_once(factory: sessionmaker[Session], source_id: int, message: str) -> None:
    """Tell editors about an unreadable page once, not on every poll."""
    with write_session(factory) as session:
        seen = session.scalar(
            select(Event.id).where(Event.source_id == source_id, Event.message == message)
        )
        if seen is None:
            record_event(session, EventKind.ARTICLE_FLAGGED, message, source_id=source_id)


def _record_success(
    factory: sessionmaker[Session],
    source_id: int,
    now: datetime,
    etag: str | None,
    last_modified: str | None,
) -> None:
    with write_session(factory) as session:
        state = session.get_one(SourceState, source_id)
        record_success(session, state, now, etag=etag, last_modified=last_modified)
