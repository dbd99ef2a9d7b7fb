"""Look again at young articles: corrections and withdrawals are only seen this way.

Articles first seen within the source's `recheck_window_hours` are fetched
again (conditionally: an unchanged page costs a 304) every `recheck_every`
seconds. A changed content hash marks the article updated (feeds and
publishing act on it).

A 404 or 410 is not yet a withdrawal: portals whose URL slug follows the
title answer 404 at the old URL after a title correction. The source's
current listing is read (once per round, only then) and, if it shows the
article (same identity key) at another address, the article is read there
and stored as a correction. Only if the listing does not show it elsewhere
is it marked withdrawn, and the editors told. If the listing cannot be read,
the decision waits for the next round; should a withdrawal turn out wrong
later, the poll restores the article when it is listed at a new address.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import SourceConfig, StoriesConfig
from news.db import utcnow, write_session
from news.errors import FetchError, SourceError
from news.events import record_event
from news.extract import ExtractedArticle
from news.fetch import Fetcher, FetchResult
from news.identity import identity_key
from news.models import Article, ArticleStatus, EventKind, Source
from news.poll import Candidate, address, discover
from news.reading import SourceReading
from news.store import UpsertOutcome, upsert_article
from ops.metrics import record_withdrawal

log = logging.getLogger(__name__)
GONE = {404, 410}


@dataclass
class RecheckReport:
    """What a re-check round found."""

    source: str
    checked: int = 0
    unchanged: int = 0
    updated: list[int] = field(default_factory=list)
    #: same content, new address (followed from a 404 to the listed URL)
    moved: list[int] = field(default_factory=list)
    withdrawn: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.updated or self.moved or self.withdrawn)


class Due(NamedTuple):
    """A young article to fetch again, with its validators."""

    id: int
    url: str
    key: str
    etag: str | None
    last_modified: str | None


def due_for_recheck(session: Session, source_cfg: SourceConfig, now: datetime) -> list[Due]:
    """Young, active articles not checked recently, newest first."""
    window_start = now - timedelta(hours=source_cfg.recheck_window_hours)
    checked_before = now - timedelta(seconds=source_cfg.recheck_every)
    rows = session.execute(
        select(
            Article.id,
            Article.url,
            Article.identity_key,
            Article.page_etag,
            Article.page_last_modified,
        )
        .join(Source, Source.id == Article.source_id)
        .where(
            Source.name == source_cfg.name,
            Article.status == ArticleStatus.ACTIVE,
            Article.first_seen_at >= window_start,
            (Article.last_checked_at.is_(None)) | (Article.last_checked_at <= checked_before),
        )
        .order_by(Article.first_seen_at.desc())
    )
    return [Due(*row) for row in rows]


class ListingLookup:
    """The source's current listing by identity key: read at most once, and only if asked."""

    def __init__(self, reading: SourceReading):
        self.reading = reading
        self.error: str | None = None
        self._by_key: dict[str, Candidate] | None = None

    def find(self, key: str) -> Candidate | None:
        """The listed candidate with this key; None if not listed (or `error` is set)."""
        if self._by_key is None and self.error is None:
            try:
                listing = self.reading.fetcher.get(self.reading.source.url)
                found = discover(self.reading, listing)
            except SourceError as exc:
                self.error = str(exc)
                return None
            self._by_key = {}
            for candidate in found:  # page order: the first listing of a key wins
                self._by_key.setdefault(identity_key(candidate.identity), candidate)
        return (self._by_key or {}).get(key)


def recheck_source(
    factory: sessionmaker[Session], reading: SourceReading, *, now: datetime | None = None
) -> RecheckReport:
    """Re-fetch the source's young articles once; see the module docstring."""
    source_cfg, fetcher = reading.source, reading.fetcher
    now = now or utcnow()
    report = RecheckReport(source=source_cfg.name)
    listing = ListingLookup(reading)

    def read(page: FetchResult) -> ExtractedArticle:
        return reading.article(page, now=now)

    with factory() as session:
        due = due_for_recheck(session, source_cfg, now)
    for article in due:
        report.checked += 1
        try:
            page = fetcher.get(article.url, etag=article.etag, last_modified=article.last_modified)
        except FetchError as exc:
            if exc.status in GONE:
                _gone(factory, article, exc.status, listing, read, fetcher, report, now)
            else:
                report.problems.append(str(exc))
            continue
        if page.not_modified:
            _touch(factory, article.id, now)
            report.unchanged += 1
            continue
        try:
            extracted = read(page)
        except SourceError as exc:
            report.problems.append(str(exc))
            _touch(factory, article.id, now)
            continue
        _store(factory, article.id, extracted, page, None, now, report, reading.stories)
    return report


def _gone(
    factory: sessionmaker[Session],
    article: Due,
    status: int,
    listing: ListingLookup,
    read: Callable[[FetchResult], ExtractedArticle],
    fetcher: Fetcher,
    report: RecheckReport,
    now: datetime,
) -> None:
    """A 404/410: follow the listing to the article's new URL, else withdraw (see above)."""
    listed = listing.find(article.key)
    if listing.error is not None:
        report.problems.append(
            f"{article.url}: HTTP {status}, listing unreadable ({listing.error}): "
            "withdrawal deferred to the next round"
        )
        return
    if listed is None or address(listed.url) == address(article.url):
        _withdraw(factory, article.id, now, f"HTTP {status}")
        report.withdrawn.append(article.id)
        return
    try:
        page = fetcher.get(listed.url)
        extracted = read(page)
    except SourceError as exc:
        report.problems.append(f"{article.url}: HTTP {status}, listed at {listed.url}: {exc}")
        return
    log.info("article %s moved from %s to %s", article.id, article.url, listed.url)
    _store(factory, article.id, extracted, page, listed, now, report, listing.reading.stories)


def _store(
    factory: sessionmaker[Session],
    article_id: int,
    extracted: ExtractedArticle,
    page: FetchResult,
    listed: Candidate | None,
    now: datetime,
    report: RecheckReport,
    stories: StoriesConfig,
) -> None:
    """Store what the page says now; `listed` is the listing's entry when the URL moved.

    A pushed article keeps the CMS's content: the page only proved it is still there.
    """
    with write_session(factory) as session:
        article = session.get_one(Article, article_id)
        if article.pushed:
            article.last_checked_at = now
            report.unchanged += 1
            return
        source = session.get(Source, article.source_id) if article.source_id else None
        result = upsert_article(
            session, extracted, source=source, page=page, checked_at=now,
            identity=listed.identity if listed else article.identity,
            listed_url=listed.url if listed else None, stories=stories,
        )  # fmt: skip
    if result.outcome is UpsertOutcome.UPDATED:
        report.updated.append(article_id)
    elif result.outcome is UpsertOutcome.MOVED:
        report.moved.append(article_id)
    else:
        report.unchanged += 1


def _touch(factory: sessionmaker[Session], article_id: int, now: datetime) -> None:
    with write_session(factory) as session:
        session.get_one(Article, article_id).last_checked_at = now


def _withdraw(factory: sessionmaker[Session], article_id: int, now: datetime, why: str) -> None:
    """Mark withdrawn (kept, never deleted) and record an event for the editors."""
    with write_session(factory) as session:
        article = session.get_one(Article, article_id)
        article.status = ArticleStatus.WITHDRAWN
        article.withdrawn_at = now
        article.last_checked_at = now
        article.updated_at = now
        record_withdrawal(session, article.source_id)
        record_event(
            session,
            EventKind.ARTICLE_WITHDRAWN,
            f"article withdrawn by its source ({why}): {article.title}",
            source_id=article.source_id,
            article_id=article.id,
        )
    log.info("article %s withdrawn (%s)", article_id, why)
