"""One poll of one source: fetch the listing, read new articles, store them.

This is the service behind the Celery task, ``loa poll`` and (later) the
editors' bot command. It never raises for one bad article: each problem is
recorded in the report and the rest of the listing is still read. A listing
that cannot be fetched is recorded in the source's state and re-raised.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from config.settings import SourceConfig
from news.db import utcnow, write_session
from news.errors import FetchError, SourceError
from news.extraction import discover_cms_links, extract_cms_article
from news.fetch import Fetcher
from news.models import Source, SourceState
from news.store import UpsertOutcome, get_or_create_source, known_urls, upsert_article

log = logging.getLogger(__name__)
MAX_ARTICLES_PER_POLL = 50


@dataclass
class PollReport:
    """What one poll found; `announce` lists the new articles worth posting."""

    source: str
    not_modified: bool = False
    links: int = 0
    new: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    announce: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    first_poll: bool = False

    @property
    def changed(self) -> bool:
        """True when feeds need a rebuild."""
        return bool(self.new or self.updated)


def poll_source(
    factory: sessionmaker[Session],
    source_cfg: SourceConfig,
    fetcher: Fetcher,
    *,
    tz: ZoneInfo,
    summary_chars: int = 400,
    now: datetime | None = None,
) -> PollReport:
    """Poll `source_cfg` once and store what is new; see the module docstring."""
    now = now or utcnow()
    report = PollReport(source=source_cfg.name)
    with write_session(factory) as session:
        source = get_or_create_source(
            session, name=source_cfg.name, kind=source_cfg.kind, url=source_cfg.url
        )
        assert source.state is not None
        etag, last_modified = source.state.etag, source.state.last_modified
        report.first_poll = source.state.polls == 0
        source_id = source.id

    try:
        listing = fetcher.get(source_cfg.url, etag=etag, last_modified=last_modified)
    except FetchError as exc:
        _record_failure(factory, source_id, exc, now)
        raise

    if listing.not_modified:
        report.not_modified = True
        _record_success(factory, source_id, now, etag=etag, last_modified=last_modified)
        return report

    links = discover_cms_links(listing.content, base_url=listing.url)[:MAX_ARTICLES_PER_POLL]
    report.links = len(links)
    with factory() as session:
        seen = known_urls(session, links)
    fresh = [url for url in links if url not in seen]

    for url in fresh:
        try:
            page = fetcher.get(url)
            article = extract_cms_article(
                page.content, url=page.url, now=now, tz=tz, summary_chars=summary_chars
            )
        except SourceError as exc:
            log.warning("source %s: skipped %s: %s", source_cfg.name, url, exc)
            report.problems.append(str(exc))
            continue
        with write_session(factory) as session:
            source = session.get_one(Source, source_id)
            result = upsert_article(session, article, source=source)
        if result.outcome is UpsertOutcome.NEW:
            report.new.append(result.article_id)
        elif result.outcome is UpsertOutcome.UPDATED:
            report.updated.append(result.article_id)

    # The listing is newest first: on a first poll, announce only the newest K.
    if report.first_poll:
        report.announce = report.new[: source_cfg.announce_first_poll]
    else:
        report.announce = list(report.new)
    _record_success(factory, source_id, now, etag=listing.etag, last_modified=listing.last_modified)
    return report


def _record_success(
    factory: sessionmaker[Session],
    source_id: int,
    now: datetime,
    *,
    etag: str | None,
    last_modified: str | None,
) -> None:
    with write_session(factory) as session:
        state = session.get_one(SourceState, source_id)
        state.etag, state.last_modified = etag, last_modified
        state.last_polled_at = state.last_success_at = now
        state.consecutive_failures = 0
        state.last_error = None
        state.polls += 1


def _record_failure(
    factory: sessionmaker[Session], source_id: int, error: Exception, now: datetime
) -> None:
    with write_session(factory) as session:
        state = session.get_one(SourceState, source_id)
        state.last_polled_at = state.last_failure_at = now
        state.consecutive_failures += 1
        state.last_error = f"{error.__class__.__name__}: {error}"[:2000]
