"""Look again at young articles: corrections and withdrawals are only seen this way.

Articles first seen within the source's `recheck_window_hours` are fetched
again (conditionally: an unchanged page costs a 304) every `recheck_every`
seconds. A changed content hash marks the article updated (feeds and
publishing act on it); a 404 or 410 marks it withdrawn and tells the editors.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import SourceConfig
from news.db import utcnow, write_session
from news.errors import FetchError, SourceError
from news.fetch import Fetcher
from news.models import Article, ArticleStatus, Event, EventKind, Source
from news.readers import SiteReader
from news.store import UpsertOutcome, upsert_article

log = logging.getLogger(__name__)
GONE = {404, 410}


@dataclass
class RecheckReport:
    """What a re-check round found."""

    source: str
    checked: int = 0
    unchanged: int = 0
    updated: list[int] = field(default_factory=list)
    withdrawn: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.updated or self.withdrawn)


def due_for_recheck(
    session: Session, source_cfg: SourceConfig, now: datetime
) -> list[tuple[int, str, str | None, str | None]]:
    """(id, url, etag, last_modified) of young, active articles not checked recently."""
    window_start = now - timedelta(hours=source_cfg.recheck_window_hours)
    checked_before = now - timedelta(seconds=source_cfg.recheck_every)
    rows = session.execute(
        select(Article.id, Article.url, Article.page_etag, Article.page_last_modified)
        .join(Source, Source.id == Article.source_id)
        .where(
            Source.name == source_cfg.name,
            Article.status == ArticleStatus.ACTIVE,
            Article.first_seen_at >= window_start,
            (Article.last_checked_at.is_(None)) | (Article.last_checked_at <= checked_before),
        )
        .order_by(Article.first_seen_at.desc())
    )
    return [(i, url, etag, lm) for i, url, etag, lm in rows]


def recheck_source(
    factory: sessionmaker[Session],
    source_cfg: SourceConfig,
    fetcher: Fetcher,
    reader: SiteReader,
    *,
    tz: ZoneInfo,
    summary_chars: int = 400,
    now: datetime | None = None,
) -> RecheckReport:
    """Re-fetch the source's young articles once; see the module docstring."""
    now = now or utcnow()
    report = RecheckReport(source=source_cfg.name)
    with factory() as session:
        due = due_for_recheck(session, source_cfg, now)
    for article_id, url, etag, last_modified in due:
        report.checked += 1
        try:
            page = fetcher.get(url, etag=etag, last_modified=last_modified)
        except FetchError as exc:
            if exc.status in GONE:
                _withdraw(factory, article_id, now, f"HTTP {exc.status}")
                report.withdrawn.append(article_id)
            else:
                report.problems.append(str(exc))
            continue
        if page.not_modified:
            _touch(factory, article_id, now)
            report.unchanged += 1
            continue
        try:
            extracted = reader.article(
                page.content, url=page.url, now=now, tz=tz, summary_chars=summary_chars,
                content_type=page.content_type,
            )  # fmt: skip
        except SourceError as exc:
            report.problems.append(str(exc))
            _touch(factory, article_id, now)
            continue
        with write_session(factory) as session:
            article = session.get_one(Article, article_id)
            source = session.get(Source, article.source_id) if article.source_id else None
            result = upsert_article(
                session, extracted, source=source, identity=article.identity, page=page,
                checked_at=now,
            )  # fmt: skip
        if result.outcome is UpsertOutcome.UPDATED:
            report.updated.append(article_id)
        else:
            report.unchanged += 1
    return report


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
        session.add(
            Event(
                kind=EventKind.ARTICLE_WITHDRAWN,
                source_id=article.source_id,
                article_id=article.id,
                message=f"article withdrawn by its source ({why}): {article.title}",
            )
        )
    log.info("article %s withdrawn (%s)", article_id, why)
