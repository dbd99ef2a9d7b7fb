"""A snapshot of Loa's health for editors: the `loa status` command now, the
status page and the bot's editor commands later (one service for all three)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from news.alerts import pending_backlog
from news.db import utcnow
from news.models import (
    Article,
    Channel,
    ChannelStatus,
    Delivery,
    DeliveryState,
    Event,
    EventKind,
    Source,
    SourceState,
    Subscriber,
    Subscription,
)
from news.pauses import PauseInfo, pauses_in
from news.stories.groups import RecentStories, recent_groups
from news.subscriptions import blocked_count

#: how long a source's move stays a warning (it may be a config mistake)
MOVE_WARNING_FOR = timedelta(days=7)


@dataclass(frozen=True)
class Status:
    """Counts and problems worth a look."""

    articles: int
    deliveries: dict[str, int]
    possible_duplicates: int
    failed_channels: list[tuple[str, str]] = field(default_factory=list)
    unhealthy_sources: list[tuple[str, str]] = field(default_factory=list)
    recent_events: list[str] = field(default_factory=list)
    #: latest recent move of each source that changed its host or port
    source_warnings: list[str] = field(default_factory=list)
    readers: ReaderCounts = field(default_factory=lambda: ReaderCounts(0, 0, 0, 0))
    #: every source the database knows, with its health (the bot's /status, /sources)
    sources: list[SourceHealth] = field(default_factory=list)
    #: deliveries created in the last hour, by state
    last_hour: dict[str, int] = field(default_factory=dict)
    #: deliveries waiting to be sent on their own (held digest rows left out)
    backlog: int = 0
    #: what editors paused (kept in the database: a restart does not lift them)
    pauses: list[PauseInfo] = field(default_factory=list)
    #: stories told by two or more articles in the last 72 hours (news.stories)
    stories: RecentStories = field(default_factory=lambda: RecentStories(72, 0, 0))


@dataclass(frozen=True)
class SourceHealth:
    """One source's polling health as its state row records it."""

    name: str
    healthy: bool
    last_success_at: datetime | None
    last_polled_at: datetime | None
    consecutive_failures: int
    last_error: str | None


@dataclass(frozen=True)
class ReaderCounts:
    """The bot's readers: how many, how many subscriptions, who blocked it, what waits."""

    readers: int
    subscriptions: int
    blocked: int
    #: alerts held for a digest or quiet hours, not yet sent
    held: int


def current_status(
    factory: sessionmaker[Session], *, events: int = 10, now: datetime | None = None
) -> Status:
    """Read the snapshot in one short session."""
    now = now or utcnow()
    since = now - MOVE_WARNING_FOR
    with factory() as session:
        rows = session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
        by_state = {state: count for state, count in rows}
        deliveries = {state.value: int(by_state.get(state, 0)) for state in DeliveryState}
        duplicates = session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.possible_duplicate)
        )
        failed = session.execute(
            select(Channel.configured, Channel.last_error).where(
                Channel.status == ChannelStatus.FAILED
            )
        )
        unhealthy = session.execute(
            select(Source.name, SourceState.last_error)
            .join(SourceState, SourceState.source_id == Source.id)
            .where(SourceState.healthy.is_(False))
        )
        recent = session.scalars(select(Event).order_by(Event.id.desc()).limit(events))
        moves = session.scalars(
            select(Event)
            .where(Event.kind == EventKind.SOURCE_MOVED, Event.created_at >= since)
            .order_by(Event.id)
        )
        latest = {e.source_id: f"{e.message} ({e.created_at:%Y-%m-%d %H:%M})" for e in moves}
        return Status(
            articles=int(session.scalar(select(func.count()).select_from(Article)) or 0),
            deliveries=deliveries,
            possible_duplicates=int(duplicates or 0),
            failed_channels=[(name, error or "") for name, error in failed],
            unhealthy_sources=[(name, error or "") for name, error in unhealthy],
            recent_events=[f"{e.created_at:%Y-%m-%d %H:%M} {e.kind}: {e.message}" for e in recent],
            source_warnings=list(latest.values()),
            readers=_reader_counts(session),
            sources=_source_health(session),
            last_hour=_last_hour(session, now),
            backlog=pending_backlog(session),
            pauses=pauses_in(session),
            stories=recent_groups(session, now=now),
        )


def _source_health(session: Session) -> list[SourceHealth]:
    rows = session.execute(
        select(Source.name, SourceState)
        .outerjoin(SourceState, SourceState.source_id == Source.id)
        .order_by(Source.name)
    )
    return [
        SourceHealth(name, True, None, None, 0, None)
        if state is None
        else SourceHealth(
            name,
            state.healthy,
            state.last_success_at,
            state.last_polled_at,
            state.consecutive_failures,
            state.last_error,
        )
        for name, state in rows
    ]


def _last_hour(session: Session, now: datetime) -> dict[str, int]:
    """Counted here, not with GROUP BY state: grouping lets SQLite (no statistics) walk
    the whole state index instead of the hour's range of `ix_deliveries_created_at`."""
    states = session.scalars(
        select(Delivery.state).where(Delivery.created_at >= now - timedelta(hours=1))
    )
    counts = Counter(DeliveryState(state) for state in states)
    return {state.value: counts.get(state, 0) for state in DeliveryState}


def _reader_counts(session: Session) -> ReaderCounts:
    held = select(func.count()).select_from(Delivery)
    held = held.where(Delivery.bundle.is_not(None), Delivery.state == DeliveryState.PENDING)
    return ReaderCounts(
        readers=int(session.scalar(select(func.count()).select_from(Subscriber)) or 0),
        subscriptions=int(session.scalar(select(func.count()).select_from(Subscription)) or 0),
        blocked=blocked_count(session),
        held=int(session.scalar(held) or 0),
    )
