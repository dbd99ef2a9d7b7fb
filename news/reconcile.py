"""What the database says is due: the reconciler's view of lost work.

Redis may lose queued messages (a restart) or hold them back (a worker killed
while holding a task is redelivered only after `visibility_timeout`). The
database knows better; this module says what should be enqueued again. Every
task is idempotent, so enqueueing something still queued is harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from config.settings import SourceConfig
from news.bundles import chats_with_due_bundles
from news.ledger import DEFAULT_STUCK_AFTER, due_delivery_ids
from news.models import Article, ArticleStatus, Delivery, DeliveryState, Source, SourceState
from news.pauses import paused_sources
from news.stories.copies import posts_to_edit, withdrawn_copies

OVERDUE_FACTOR = 3
#: polls answered 304 record themselves only every NOT_MODIFIED_HEARTBEAT (10 min)
OVERDUE_SLACK = timedelta(minutes=15)


@dataclass(frozen=True)
class DueWork:
    """Deliveries to (re)send and sources to (re)poll."""

    delivery_ids: list[int] = field(default_factory=list)
    source_names: list[str] = field(default_factory=list)
    stale_article_ids: list[int] = field(default_factory=list)
    #: readers' chats with held alerts due (digest time, end of quiet hours)
    bundle_chats: list[str] = field(default_factory=list)
    #: posts whose "Also on" line must change (a story's copy joined or was split off)
    story_posts: list[int] = field(default_factory=list)
    #: withdrawn articles whose "Also on" links are still on posts
    withdrawn_copies: list[int] = field(default_factory=list)


def find_due_work(
    session: Session,
    sources: Sequence[SourceConfig],
    now: datetime,
    *,
    stuck_after: timedelta = DEFAULT_STUCK_AFTER,
) -> DueWork:
    """Pending or stuck deliveries, and sources not polled for 3 intervals (+ slack).

    A source an editor paused is never overdue: its polls stop until resumed.
    """
    rows = session.execute(
        select(Source.name, SourceState.last_polled_at).join(
            SourceState, SourceState.source_id == Source.id
        )
    )
    last_polled = {name: polled for name, polled in rows}
    paused = paused_sources(session, [cfg.name for cfg in sources])  # editors stopped these
    overdue = [
        cfg.name
        for cfg in sources
        if (last := last_polled.get(cfg.name)) is None
        or now - last > timedelta(seconds=cfg.poll_interval * OVERDUE_FACTOR) + OVERDUE_SLACK
    ]
    overdue = [name for name in overdue if name not in paused]
    due = due_delivery_ids(session, now=now, stuck_after=stuck_after)
    bundles = chats_with_due_bundles(session, now=now, stuck_after=stuck_after)
    story_posts = posts_to_edit(session, now=now)
    stale = stale_articles(session, now=now)
    return DueWork(due, overdue, stale, bundles, story_posts, withdrawn_copies(session))


def stale_articles(session: Session, limit: int = 200, *, now: datetime) -> list[int]:
    """Articles whose posted messages show an old version or should be withdrawn.

    A post whose fix is waiting (its `next_attempt_at` is later than `now`) is
    left out until then, so a deferred or failing fix is not re-enqueued early.
    """
    query = (
        select(Article.id)
        .join(Delivery, Delivery.article_id == Article.id)
        .where(
            Delivery.state == DeliveryState.SENT,
            Delivery.bundle.is_(None),  # a digest lists headlines; it is never edited
            Delivery.withdrawn_at.is_(None),
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
            or_(
                Article.status == ArticleStatus.WITHDRAWN,
                Delivery.article_version < Article.version,
            ),
        )
        .distinct()
        .limit(limit)
    )
    return list(session.scalars(query))
