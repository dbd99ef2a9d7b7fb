"""Retention: delete what Loa no longer needs, never what it still owes someone.

Run daily by beat (``loa.housekeeping``) and by ``loa housekeeping [--dry-run]``.
Each kind has its own age in ``retention:`` (days; 0 keeps it forever):

- **deliveries**: finished rows (sent, failed) are deleted *per article*, and
  only for an article whose every row is finished and older than the cut-off,
  that no source re-checks any more (first seen before the longest
  ``recheck_window_hours``) and whose posts need no fix (none shows an old
  version or a withdrawn article). Pending, sending and held rows are never
  touched. The ledger is what keeps a post from going out twice, so the
  article keeps a compact marker, ``articles.ledger_pruned_at``: the ledger
  never plans that article's automatic posts again (`loa post`, /post), while
  a poll, a re-check or the reconciler never plan posts for a known article
  anyway. An editor's republish (a new generation) still works.
- **events**: events older than the cut-off whose editors' alerts are all
  settled, with their alert rows; the latest backlog event stays (it is the
  backlog watch's state).
- **story fingerprints** (news.stories): the signatures and LSH band rows of
  articles first seen more than a day past ``stories.window_hours`` ago. A
  new article is only ever compared with the window, so they are never read
  again (32 band rows per article: 3.2 M rows at 100,000 articles); the
  articles keep their story.
- **outbox files** (dry run) and **rotated logs** (``loa.log.1``,
  ``loa.log-20260101.gz``; never the live ``loa.log``) by modification time.

Rows go in batches of :data:`BATCH` in short transactions, so a first run on
a year of history never holds the write lock for long.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, and_, delete, exists, func, not_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from news.db import utcnow, write_session
from news.models import (
    AlertDelivery,
    Article,
    ArticleFingerprint,
    ArticleStatus,
    Delivery,
    DeliveryState,
    Event,
    EventKind,
    FingerprintBand,
)

log = logging.getLogger(__name__)
#: Articles (with all their rows) or events per transaction.
BATCH = 500
FINISHED = (DeliveryState.SENT, DeliveryState.FAILED)
OPEN = (DeliveryState.PENDING, DeliveryState.SENDING)
#: A rotated log: ``name.log.1``, ``name.log.2.gz``, ``name.log-20260101``.
ROTATED_LOG = re.compile(r"\.log[.-]")
_BACKLOG = (EventKind.BACKLOG_HIGH, EventKind.BACKLOG_CLEARED)
#: Fingerprints are kept this long past the stories' window (a late copy's similarity)
FINGERPRINT_MARGIN_HOURS = 24


@dataclass
class HousekeepingReport:
    """What one run deleted (or, in a dry run, would delete)."""

    dry_run: bool = False
    delivery_rows: int = 0
    delivery_articles: int = 0
    events: int = 0
    alert_rows: int = 0
    outbox_files: int = 0
    log_files: int = 0
    fingerprints: int = 0
    #: "deliveries", "events", ... whose retention is 0 (kept forever)
    kept_forever: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """One line per kind, as `loa housekeeping` prints them."""
        verb = "would delete" if self.dry_run else "deleted"
        out = [
            f"deliveries: {verb} {self.delivery_rows} finished rows of "
            f"{self.delivery_articles} articles",
            f"events: {verb} {self.events} events and {self.alert_rows} alert rows",
            f"fingerprints: {verb} those of {self.fingerprints} articles past the stories' window",
            f"outbox: {verb} {self.outbox_files} files",
            f"logs: {verb} {self.log_files} rotated files",
        ]
        for kind in self.kept_forever:
            out = [line if not line.startswith(kind) else f"{kind}: kept forever" for line in out]
        return out


def run_housekeeping(
    settings: Settings,
    factory: sessionmaker[Session],
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    log_summary: bool = True,
) -> HousekeepingReport:
    """Apply every ``retention`` setting once; see the module docstring.

    `log_summary`: log the report's one-line summary (beat's daily run); the
    CLI prints the report itself instead, so it is not shown twice.
    """
    now = now or utcnow()
    keep = settings.retention
    report = HousekeepingReport(dry_run=dry_run)
    if keep.deliveries_days:
        window = max((s.recheck_window_hours for s in settings.effective_sources()), default=0)
        report.delivery_articles, report.delivery_rows = prune_deliveries(
            factory,
            older_than=now - timedelta(days=keep.deliveries_days),
            first_seen_before=now - timedelta(days=keep.deliveries_days, hours=window),
            now=now,
            dry_run=dry_run,
        )
    else:
        report.kept_forever.append("deliveries")
    if keep.events_days:
        report.events, report.alert_rows = prune_events(
            factory, older_than=now - timedelta(days=keep.events_days), dry_run=dry_run
        )
    else:
        report.kept_forever.append("events")
    if settings.stories.enabled:
        report.fingerprints = prune_fingerprints(
            factory,
            older_than=now
            - timedelta(hours=settings.stories.window_hours + FINGERPRINT_MARGIN_HOURS),
            dry_run=dry_run,
        )
    if keep.outbox_days:
        cutoff = now - timedelta(days=keep.outbox_days)
        report.outbox_files = prune_files(
            settings.outbox_dir, lambda _: True, older_than=cutoff, dry_run=dry_run
        )
    else:
        report.kept_forever.append("outbox")
    if keep.logs_days:
        cutoff = now - timedelta(days=keep.logs_days)
        report.log_files = prune_files(
            settings.data_dir / "logs",
            lambda path: ROTATED_LOG.search(path.name) is not None,
            older_than=cutoff,
            dry_run=dry_run,
        )
    else:
        report.kept_forever.append("logs")
    if log_summary:
        log.info("housekeeping%s: %s", " (dry run)" if dry_run else "", "; ".join(report.lines()))
    return report


def _prunable_articles(older_than: datetime, first_seen_before: datetime) -> ColumnElement[bool]:
    """SQL condition on Article: it has rows, and every one is finished, old and needs no fix."""
    row = Delivery.article_id == Article.id
    blocking = or_(
        Delivery.state.in_(OPEN),  # pending, sending, and held (pending with a bundle)
        Delivery.created_at >= older_than,
        and_(Delivery.sent_at.is_not(None), Delivery.sent_at >= older_than),
        and_(  # a post the reconciler would still edit or withdraw (news.reconcile)
            Delivery.state == DeliveryState.SENT,
            Delivery.bundle.is_(None),
            Delivery.withdrawn_at.is_(None),
            or_(
                Delivery.article_version < Article.version,
                Article.status == ArticleStatus.WITHDRAWN,
            ),
        ),
    )
    return and_(
        Article.first_seen_at < first_seen_before,
        exists().where(row),
        not_(exists().where(row, blocking)),
    )


def prune_deliveries(
    factory: sessionmaker[Session],
    *,
    older_than: datetime,
    first_seen_before: datetime,
    now: datetime,
    dry_run: bool = False,
    batch: int = BATCH,
) -> tuple[int, int]:
    """Delete the finished rows of articles done with; returns (articles, rows).

    Each batch locks its articles (PostgreSQL: FOR UPDATE SKIP LOCKED, SQLite:
    the write transaction), deletes only finished rows and sets the marker in
    the same transaction, so a republish or `loa post` of one of them either
    runs before (and its new row keeps the article out of this run) or after
    (and sees the marker).
    """
    condition = _prunable_articles(older_than, first_seen_before)
    if dry_run:
        with factory() as session:
            articles = select(Article.id).where(condition)
            rows = select(func.count()).select_from(Delivery)
            rows = rows.where(Delivery.article_id.in_(articles))
            return (
                int(session.scalar(select(func.count()).select_from(articles.subquery())) or 0),
                int(session.scalar(rows) or 0),
            )
    total_articles = total_rows = last = 0
    while True:  # keyset order: each batch starts where the last one ended
        with write_session(factory) as session:
            ids = list(
                session.scalars(
                    select(Article.id)
                    .where(condition, Article.id > last)
                    .order_by(Article.id)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
            )
            if not ids:
                break
            deleted = session.execute(
                delete(Delivery).where(
                    Delivery.article_id.in_(ids),
                    Delivery.state.in_(FINISHED),
                    Delivery.created_at < older_than,
                )
            )
            session.execute(update(Article).where(Article.id.in_(ids)).values(ledger_pruned_at=now))
        last = ids[-1]
        total_articles += len(ids)
        total_rows += int(getattr(deleted, "rowcount", 0) or 0)
    return total_articles, total_rows


def prune_events(
    factory: sessionmaker[Session],
    *,
    older_than: datetime,
    dry_run: bool = False,
    batch: int = BATCH,
) -> tuple[int, int]:
    """Delete old events whose alerts are settled, with their alert rows; (events, rows)."""
    with factory() as session:
        latest_backlog = session.scalar(
            select(Event.id).where(Event.kind.in_(_BACKLOG)).order_by(Event.id.desc()).limit(1)
        )
    open_alert = exists().where(AlertDelivery.event_id == Event.id, AlertDelivery.state.in_(OPEN))
    condition = and_(Event.created_at < older_than, not_(open_alert))
    if latest_backlog is not None:
        condition = and_(condition, Event.id != latest_backlog)
    if dry_run:
        with factory() as session:
            events = select(Event.id).where(condition)
            count = select(func.count()).select_from(events.subquery())
            alerts = select(func.count()).select_from(AlertDelivery)
            alerts = alerts.where(AlertDelivery.event_id.in_(events))
            return int(session.scalar(count) or 0), int(session.scalar(alerts) or 0)
    total_events = total_alerts = last = 0
    while True:
        with write_session(factory) as session:
            query = select(Event.id).where(condition, Event.id > last).order_by(Event.id)
            ids = list(session.scalars(query.limit(batch)))
            if not ids:
                break
            gone = session.execute(delete(AlertDelivery).where(AlertDelivery.event_id.in_(ids)))
            session.execute(delete(Event).where(Event.id.in_(ids)))
        last = ids[-1]
        total_events += len(ids)
        total_alerts += int(getattr(gone, "rowcount", 0) or 0)
    return total_events, total_alerts


def prune_fingerprints(
    factory: sessionmaker[Session],
    *,
    older_than: datetime,
    dry_run: bool = False,
    batch: int = BATCH,
) -> int:
    """Delete the fingerprints (signature and band rows) of articles seen before `older_than`.

    How many articles' fingerprints went; batches of `batch` articles, through
    the ``seen_at`` and ``article_id`` indexes.
    """
    old = ArticleFingerprint.seen_at < older_than
    if dry_run:
        with factory() as session:
            return int(
                session.scalar(select(func.count()).select_from(ArticleFingerprint).where(old)) or 0
            )
    total = 0
    while True:
        with write_session(factory) as session:
            query = select(ArticleFingerprint.article_id).where(old).limit(batch)
            ids = list(session.scalars(query))
            if not ids:
                break
            session.execute(delete(FingerprintBand).where(FingerprintBand.article_id.in_(ids)))
            session.execute(
                delete(ArticleFingerprint).where(ArticleFingerprint.article_id.in_(ids))
            )
        total += len(ids)
    return total


def prune_files(
    directory: Path,
    wanted: Callable[[Path], bool],
    *,
    older_than: datetime,
    dry_run: bool = False,
) -> int:
    """Delete the regular files in `directory` (not below) that `wanted` picks, by mtime."""
    if not directory.is_dir():
        return 0
    cutoff = older_than.timestamp()
    count = 0
    for path in directory.iterdir():
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if not path.is_file() or path.is_symlink() or info.st_mtime >= cutoff or not wanted(path):
            continue
        if not dry_run:
            path.unlink(missing_ok=True)
        count += 1
    return count
