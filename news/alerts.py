"""Editors' alerts: events planned as rows of their own small ledger, and the backlog watch.

An event (news.events) is recorded once per change of state by whoever sees
the change: a source turning unhealthy or recovering (news.health), a channel
failing or working again (bot.channels), the pending backlog crossing the
threshold (:func:`check_backlog`, run by the reconciler), a delivery retried
after a crash (news.ledger). This module turns each such event into one
`AlertDelivery` per editors' chat, and lets senders claim them like the
delivery ledger does (pending → sending → sent/failed), so an alert reaches
each chat once however many workers look, and a failing source makes two
alerts (unhealthy, recovered), never one per failed poll.

An event is done (`notified_at` set) once each of its rows is sent or failed,
or at once when there is nobody to tell. Events older than `MAX_AGE` when
first seen are closed without alerting: a newsroom that adds editors later
does not get its whole history at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Insert, and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from news.db import utcnow, write_session
from news.events import record_event
from news.ledger import DEFAULT_STUCK_AFTER
from news.models import AlertDelivery, Delivery, DeliveryState, Event, EventKind, Subscriber

#: What editors are told about; other events stay in `loa status` and /status only.
ALERTED: tuple[EventKind, ...] = (
    EventKind.SOURCE_UNHEALTHY,
    EventKind.SOURCE_RECOVERED,
    EventKind.CHANNEL_FAILED,
    EventKind.CHANNEL_RECOVERED,
    EventKind.BACKLOG_HIGH,
    EventKind.BACKLOG_CLEARED,
    EventKind.POSSIBLE_DUPLICATE,
)
MAX_AGE = timedelta(days=1)
#: An alert stuck in `sending` this many times is given up (it may have gone out).
MAX_CLAIMS = 3
_BACKLOG_KINDS = (EventKind.BACKLOG_HIGH, EventKind.BACKLOG_CLEARED)


@dataclass(frozen=True)
class ClaimedAlert:
    """An alert row this process now owns, with the event it tells about."""

    id: int
    chat_id: str
    attempts: int
    kind: EventKind
    message: str
    created_at: datetime


def alert_chats(editors: Sequence[int], editors_chat: str | None) -> list[str]:
    """Where alerts go: the editors' chat when set, else each editor privately."""
    if editors_chat:
        return [editors_chat]
    return [str(editor) for editor in dict.fromkeys(editors)]


def register_private_chats(factory: sessionmaker[Session], chats: Sequence[str]) -> None:
    """Give each editor's private chat a reader row, so the courier treats it as a person.

    A person's chat is not a channel: a 403 there (the editor blocked the bot)
    must not mark a "channel" failed for good, and it works again as soon as
    they unblock the bot. Existing rows are left as they are.
    """
    people = [int(chat) for chat in chats if chat.isascii() and chat.isdigit()]
    if not people:
        return
    with write_session(factory) as session:
        known = set(
            session.scalars(
                select(Subscriber.telegram_user_id).where(Subscriber.telegram_user_id.in_(people))
            )
        )
        for user_id in people:
            if user_id not in known:
                session.add(Subscriber(telegram_user_id=user_id, blocked=False))


def plan_alerts(
    factory: sessionmaker[Session], chats: Sequence[str], *, now: datetime | None = None
) -> list[int]:
    """One pending alert row per (open event, chat); returns the ids of rows still pending.

    Idempotent: rows already planned are left as they are (unique per event
    and chat), so the reconciler may call it every minute.
    """
    now = now or utcnow()
    wanted = list(dict.fromkeys(chats))
    with write_session(factory) as session:
        events = list(
            session.scalars(
                select(Event)
                .where(Event.notified_at.is_(None), Event.kind.in_(ALERTED))
                .order_by(Event.id)
                .limit(500)
            )
        )
        fresh = [e for e in events if e.created_at >= now - MAX_AGE]
        for event in events:
            if event not in fresh or not wanted:
                event.notified_at = now  # too old, or nobody to tell: closed, not sent
        if fresh and wanted:
            rows = [
                {"event_id": e.id, "chat_id": chat, "state": DeliveryState.PENDING,
                 "attempts": 0, "created_at": now}
                for e in fresh
                for chat in wanted
            ]  # fmt: skip
            session.execute(_insert_ignoring_conflicts(session), rows)
    with factory() as session:
        return due_alert_ids(session, now=now)


def _insert_ignoring_conflicts(session: Session) -> Insert:
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return insert(AlertDelivery).on_conflict_do_nothing(index_elements=["event_id", "chat_id"])


def _claimable(now: datetime, stuck_after: timedelta) -> ColumnElement[bool]:
    return or_(
        and_(
            AlertDelivery.state == DeliveryState.PENDING,
            or_(AlertDelivery.next_attempt_at.is_(None), AlertDelivery.next_attempt_at <= now),
        ),
        and_(
            AlertDelivery.state == DeliveryState.SENDING,
            AlertDelivery.claimed_at < now - stuck_after,
        ),
    )


def due_alert_ids(
    session: Session,
    *,
    now: datetime | None = None,
    stuck_after: timedelta = DEFAULT_STUCK_AFTER,
    limit: int = 200,
) -> list[int]:
    """Alert rows to send now, oldest first."""
    now = now or utcnow()
    query = select(AlertDelivery.id).where(_claimable(now, stuck_after))
    return list(session.scalars(query.order_by(AlertDelivery.id).limit(limit)))


def claim_alert(
    factory: sessionmaker[Session],
    alert_id: int,
    *,
    now: datetime | None = None,
    stuck_after: timedelta = DEFAULT_STUCK_AFTER,
) -> ClaimedAlert | None:
    """Move a due alert to `sending` and return it; None when it is not ours to send."""
    now = now or utcnow()
    with write_session(factory) as session:
        row = session.scalar(
            select(AlertDelivery)
            .where(AlertDelivery.id == alert_id, _claimable(now, stuck_after))
            .with_for_update(skip_locked=True)
        )
        if row is None:
            return None
        if row.state == DeliveryState.SENDING and row.attempts >= MAX_CLAIMS:
            row.state = DeliveryState.FAILED
            row.last_error = "stuck in sending; not retried again"
            _settle(session, row.event_id, now)
            return None
        row.state = DeliveryState.SENDING
        row.claimed_at = now
        row.attempts += 1
        event = session.get_one(Event, row.event_id)
        return ClaimedAlert(
            row.id, row.chat_id, row.attempts, event.kind, event.message, event.created_at
        )


def mark_alert_sent(factory: sessionmaker[Session], alert_id: int, message_id: int) -> None:
    """Record the alert's message; the event is done when its last row is."""
    with write_session(factory) as session:
        row = session.get_one(AlertDelivery, alert_id)
        row.state = DeliveryState.SENT
        row.message_id = message_id or None
        row.sent_at = utcnow()
        row.last_error = None
        _settle(session, row.event_id, row.sent_at)


def mark_alert_failed(factory: sessionmaker[Session], alert_id: int, reason: str) -> None:
    """Give up on one alert row, keeping the reason."""
    with write_session(factory) as session:
        row = session.get_one(AlertDelivery, alert_id)
        row.state = DeliveryState.FAILED
        row.last_error = reason[:2000]
        _settle(session, row.event_id, utcnow())


def mark_alert_retry(
    factory: sessionmaker[Session], alert_id: int, reason: str, *, not_before: datetime
) -> None:
    """Hand the alert back as pending, due again at `not_before`."""
    with write_session(factory) as session:
        row = session.get_one(AlertDelivery, alert_id)
        row.state = DeliveryState.PENDING
        row.last_error = reason[:2000]
        row.next_attempt_at = not_before


def _settle(session: Session, event_id: int, now: datetime) -> None:
    """Close the event once none of its rows is pending or sending."""
    session.flush()
    open_rows = session.scalar(
        select(func.count())
        .select_from(AlertDelivery)
        .where(
            AlertDelivery.event_id == event_id,
            AlertDelivery.state.in_((DeliveryState.PENDING, DeliveryState.SENDING)),
        )
    )
    if not open_rows:
        event = session.get_one(Event, event_id)
        event.notified_at = event.notified_at or now


def pending_backlog(session: Session) -> int:
    """Deliveries waiting to be sent on their own (held digest rows wait by design)."""
    query = select(func.count()).select_from(Delivery)
    query = query.where(Delivery.state == DeliveryState.PENDING, Delivery.bundle.is_(None))
    return int(session.scalar(query) or 0)


def check_backlog(factory: sessionmaker[Session], threshold: int) -> EventKind | None:
    """Record BACKLOG_HIGH when the backlog passes `threshold`, BACKLOG_CLEARED when it is back.

    The state is the latest backlog event, so it survives restarts and fires
    once per crossing. Clearing waits until the backlog is at most half the
    threshold, so a backlog hovering at the line does not alert every minute.
    Returns the kind recorded, if any.
    """
    with write_session(factory) as session:
        backlog = pending_backlog(session)
        last = session.scalar(
            select(Event.kind)
            .where(Event.kind.in_(_BACKLOG_KINDS))
            .order_by(Event.id.desc())
            .limit(1)
        )
        high = last == EventKind.BACKLOG_HIGH
        if not high and backlog > threshold:
            record_event(
                session,
                EventKind.BACKLOG_HIGH,
                f"{backlog} deliveries are waiting to be sent (alert threshold {threshold})",
            )
            return EventKind.BACKLOG_HIGH
        if high and backlog <= threshold // 2:
            record_event(
                session,
                EventKind.BACKLOG_CLEARED,
                f"the backlog is down to {backlog} deliveries waiting",
            )
            return EventKind.BACKLOG_CLEARED
    return None
