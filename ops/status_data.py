"""What the operator's `/status` page shows, read in one short session.

The counts editors see in `loa status` come from :func:`news.status.current_status`
(one service for every view); this module adds what only the page needs: each
source's latest article, deliveries per chat, the latest failures with their
reasons and the hourly series of the last 48 hours for the chart.

Every query here is bounded by an index so the page stays fast on a large
ledger (100,000 articles, 1,000,000 deliveries): open deliveries through
``ix_deliveries_state_due`` (pending, sending and failed rows are few next to
sent ones), recent sends through ``ix_deliveries_sent_at``, recent articles
through ``ix_articles_first_seen`` and each source's latest article through
``ix_articles_source_seen`` (migration 0010). Nothing scans the whole ledger.
The stories section (groups of two or more articles of the last 72 hours)
comes with `current_status`: one aggregate over the same first-seen range
(:func:`news.stories.groups.recent_groups`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column, select
from sqlalchemy.orm import Session, sessionmaker

from news.db import utcnow
from news.models import (
    Article,
    Channel,
    ChannelStatus,
    Delivery,
    DeliveryState,
    PauseKind,
    Source,
)
from news.status import SourceHealth, Status, current_status

#: the chart's span, in hours
CHART_HOURS = 48
#: failures listed, newest first
FAILURES_SHOWN = 20
#: readers' private chats listed one by one (those with most waiting or failed first);
#: every configured channel is listed, and the other readers are summed into one line
READERS_SHOWN = 5
#: the window of the "sent" column per chat
SENT_WINDOW = timedelta(hours=24)
#: deliveries still open: counted per chat whatever their age
_OPEN = (DeliveryState.PENDING, DeliveryState.SENDING, DeliveryState.FAILED)


@dataclass(frozen=True)
class SourceLine:
    """One source: its polling health, its latest article and whether it is paused."""

    health: SourceHealth
    last_article_at: datetime | None
    last_article_title: str | None
    paused: bool


@dataclass(frozen=True)
class ChatLine:
    """Deliveries to one chat (or, with `chats` > 1, to several readers summed up)."""

    chat: str
    pending: int
    sending: int
    failed: int
    #: sent within :data:`SENT_WINDOW`
    sent: int
    #: what getChat/sends told us about a configured channel; None for readers
    channel_status: str | None = None
    channel_error: str | None = None
    paused: bool = False
    chats: int = 1


@dataclass(frozen=True)
class FailureLine:
    """A delivery that failed for good, with Telegram's (or our) reason."""

    at: datetime | None
    chat: str
    article_title: str
    attempts: int
    error: str


@dataclass(frozen=True)
class HourPoint:
    """One hour of the chart: articles first seen and messages sent in it (UTC start)."""

    start: datetime
    articles: int
    sent: int


@dataclass(frozen=True)
class StatusSnapshot:
    """Everything the page renders; plain values, so rendering needs no database."""

    generated_at: datetime
    status: Status
    sources: list[SourceLine]
    chats: list[ChatLine]
    failures: list[FailureLine]
    hours: list[HourPoint]

    @property
    def paused_everything(self) -> bool:
        """An editor paused all sources and chats at once."""
        return any(p.kind is PauseKind.ALL for p in self.status.pauses)


def status_snapshot(
    factory: sessionmaker[Session],
    *,
    now: datetime | None = None,
    failures: int = FAILURES_SHOWN,
) -> StatusSnapshot:
    """Read the page's data: `loa status`'s snapshot plus the page's own queries."""
    now = now or utcnow()
    base = current_status(factory, now=now)
    paused = {(p.kind, p.name) for p in base.pauses}
    everything = any(kind is PauseKind.ALL for kind, _ in paused)
    with factory() as session:
        latest = _latest_articles(session)
        sources = [
            SourceLine(
                health=h,
                last_article_at=latest.get(h.name, (None, None))[0],
                last_article_title=latest.get(h.name, (None, None))[1],
                paused=everything or (PauseKind.SOURCE, h.name) in paused,
            )
            for h in base.sources
        ]
        chats = _chat_lines(session, now, paused, everything)
        return StatusSnapshot(
            generated_at=now,
            status=base,
            sources=sources,
            chats=chats,
            failures=_failures(session, failures),
            hours=_hours(session, now),
        )


def _latest_articles(session: Session) -> dict[str, tuple[datetime | None, str | None]]:
    """Each source's newest article (first seen): one index probe per source, then one fetch.

    Two steps rather than a join on a correlated subquery, which PostgreSQL
    plans as a hash of the whole articles table. SQLite probes
    ``ix_articles_source_seen``; PostgreSQL may walk ``ix_articles_first_seen``
    back from the newest article instead, which is as cheap for a live source
    but reads back to the last article of a silent one (14 ms for a source
    silent 80 days among 100,000 articles, bench/status.py).
    """
    newest = (
        select(Article.id)
        .where(Article.source_id == Source.id)
        .order_by(Article.first_seen_at.desc())
        .limit(1)
        .correlate(Source)
        .scalar_subquery()
    )
    ids = {name: article for name, article in session.execute(select(Source.name, newest))}
    wanted = [i for i in ids.values() if i is not None]
    rows = session.execute(
        select(Article.id, Article.first_seen_at, Article.title).where(Article.id.in_(wanted))
    )
    found = {article: (seen, title) for article, seen, title in rows}
    return {name: found.get(article, (None, None)) for name, article in ids.items()}


def _chat_lines(
    session: Session,
    now: datetime,
    paused: set[tuple[PauseKind, str]],
    everything: bool,
) -> list[ChatLine]:
    """Open deliveries per chat (any age) and sends in the last 24 h, channels first."""
    counts: dict[str, dict[str, int]] = {}
    open_rows = session.execute(
        select(Delivery.chat_id, Delivery.state, func.count())
        .where(Delivery.state.in_(_OPEN))
        .group_by(Delivery.chat_id, Delivery.state)
    )
    for chat, state, count in open_rows:
        counts.setdefault(chat, {})[DeliveryState(state).value] = int(count)
    # Counted here, not with GROUP BY chat_id: grouping lets SQLite (no statistics)
    # walk the whole chat index instead of the day's range of `ix_deliveries_sent_at`.
    recent = Counter(
        session.scalars(select(Delivery.chat_id).where(Delivery.sent_at >= now - SENT_WINDOW))
    )
    for chat, count in recent.items():
        counts.setdefault(chat, {})["sent"] = count
    channels = {c.configured: c for c in session.scalars(select(Channel))}
    by_id = {c.chat_id: c for c in channels.values() if c.chat_id}
    for name in channels:
        counts.setdefault(name, {})

    def line(chat: str, c: dict[str, int]) -> ChatLine:
        channel = channels.get(chat) or by_id.get(chat)
        status = channel.status if channel is not None else None
        return ChatLine(
            chat=chat,
            pending=c.get("pending", 0),
            sending=c.get("sending", 0),
            failed=c.get("failed", 0),
            sent=c.get("sent", 0),
            channel_status=None if status is None else ChannelStatus(status).value,
            channel_error=channel.last_error if channel is not None else None,
            paused=everything
            or (PauseKind.CHAT, chat) in paused
            or (channel is not None and (PauseKind.CHAT, channel.configured) in paused),
        )

    def weight(item: tuple[str, dict[str, int]]) -> tuple[bool, int, str]:
        chat, c = item
        is_channel = chat in channels or chat in by_id
        return (not is_channel, -(c.get("pending", 0) + c.get("failed", 0)), chat)

    ordered = sorted(counts.items(), key=weight)
    channel_count = sum(1 for chat, _ in ordered if chat in channels or chat in by_id)
    shown = channel_count + READERS_SHOWN
    lines = [line(chat, c) for chat, c in ordered[:shown]]
    rest = ordered[shown:]
    if rest:
        lines.append(
            ChatLine(
                chat="",
                pending=sum(c.get("pending", 0) for _, c in rest),
                sending=sum(c.get("sending", 0) for _, c in rest),
                failed=sum(c.get("failed", 0) for _, c in rest),
                sent=sum(c.get("sent", 0) for _, c in rest),
                chats=len(rest),
            )
        )
    return lines


def _failures(session: Session, limit: int) -> list[FailureLine]:
    """The latest failed deliveries, newest first, with the article they were for."""
    rows = session.execute(
        select(
            Delivery.claimed_at,
            Delivery.created_at,
            Delivery.chat_id,
            Delivery.attempts,
            Delivery.last_error,
            Article.title,
        )
        .join(Article, Article.id == Delivery.article_id)
        .where(Delivery.state == DeliveryState.FAILED)
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    return [
        FailureLine(
            at=claimed or created,
            chat=chat,
            article_title=title,
            attempts=int(attempts),
            error=error or "",
        )
        for claimed, created, chat, attempts, error, title in rows
    ]


def _hour_of(session: Session, column: Any) -> ColumnElement[Any]:
    """`column` cut to its UTC hour, in the dialect's own words."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("hour", column.op("AT TIME ZONE")(literal_column("'UTC'")))
    return func.strftime("%Y-%m-%d %H:00:00", column)


def _as_hour(value: object) -> datetime:
    """A bucket key from either dialect as an aware UTC datetime."""
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _hours(session: Session, now: datetime) -> list[HourPoint]:
    """Articles first seen and messages sent per hour, the last 48 hours, oldest first.

    Only a sent row has `sent_at` (the ledger sets both at once), so the range
    on its index is the whole filter: adding ``state = 'sent'`` lets SQLite
    (no statistics) pick the state index and walk every sent row.
    """
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(hours=CHART_HOURS - 1)
    found: dict[datetime, int] = {}
    sent: dict[datetime, int] = {}
    hour = _hour_of(session, Article.first_seen_at)
    for key, count in session.execute(
        select(hour, func.count()).where(Article.first_seen_at >= start).group_by(hour)
    ):
        found[_as_hour(key)] = int(count)
    hour = _hour_of(session, Delivery.sent_at)
    for key, count in session.execute(
        select(hour, func.count()).where(Delivery.sent_at >= start).group_by(hour)
    ):
        sent[_as_hour(key)] = int(count)
    points = []
    for i in range(CHART_HOURS):
        at = start + timedelta(hours=i)
        points.append(HourPoint(at, found.get(at, 0), sent.get(at, 0)))
    return points
