"""The delivery ledger: one row per (article, chat, generation), claimed atomically.

This is what makes "each article once per channel, never lost" hold across
worker crashes and Redis restarts: a message is sent only by whoever moved its
row from `pending` to `sending`, and the row records the outcome. A row left in
`sending` (the worker died between send and record) is handed back after
`stuck_after`; see README "Delivery guarantees" for that trade-off.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ParamSpec

from sqlalchemy import ColumnElement, Insert, and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from news.db import utcnow, write_session
from news.events import record_event
from news.models import Article, Delivery, DeliveryState, EventKind
from ops.metrics import record_ledger, record_sent

DEFAULT_STUCK_AFTER = timedelta(minutes=10)
PLAN_CHUNK = 500
#: How long the record of a message that is already out is retried while the
#: database is unreachable. Giving up leaves the row in `sending`, and the stuck
#: path sends it again: a duplicate. Keep it well under publish.stuck_after_seconds
#: (600 by default), or another worker may re-send the row while this one retries.
RECORD_RETRY_SECONDS = 60.0
RECORD_RETRY_MAX_DELAY = 5.0

log = logging.getLogger(__name__)
P = ParamSpec("P")


def _retried_while_unreachable(record: Callable[P, None]) -> Callable[P, None]:
    """Retry a record of sent messages with backoff while the database is unreachable.

    Only connection-level failures (OperationalError, InterfaceError: a closed
    port, a restarted server, a locked SQLite file) are retried; each attempt is
    a whole new transaction, so a retry writes exactly what the first would have.
    """

    @functools.wraps(record)
    def retrying(*args: P.args, **kwargs: P.kwargs) -> None:
        deadline = time.monotonic() + RECORD_RETRY_SECONDS
        delay = 0.2
        while True:
            try:
                return record(*args, **kwargs)
            except (OperationalError, InterfaceError) as exc:
                if time.monotonic() + delay > deadline:
                    raise
                log.warning(
                    "database unreachable while recording sent messages (%s); retrying in %.1f s",
                    exc.__class__.__name__,
                    delay,
                )
                time.sleep(delay)
                delay = min(delay * 2, RECORD_RETRY_MAX_DELAY)

    return retrying


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery this process now owns and must finish (sent, failed or retry)."""

    id: int
    article_id: int
    chat_id: str
    generation: int
    attempts: int
    message_ids: tuple[int, ...] = ()
    methods: tuple[str, ...] = ()
    plain_text: bool = False
    possible_duplicate: bool = False


def plan_deliveries(
    session: Session,
    article_id: int,
    chat_ids: list[str],
    *,
    generation: int = 0,
    not_before: datetime | None = None,
    bundle: str | None = None,
) -> list[int]:
    """Ensure a ledger row exists for each chat; return the ids of rows still pending.

    `not_before` holds new rows back (burst spreading); the reconciler sends
    them when they fall due. A `bundle` row ("digest", "quiet") is held for a
    reader and sent with the chat's other held rows in one message (news.bundles).
    Generation 0 of an article whose finished rows retention deleted is never
    planned again (see :func:`_ledger_pruned`); a republish (generation ≥ 1) is.
    """
    if generation == 0 and _ledger_pruned(session, article_id):
        return []  # announced long ago; housekeeping deleted its finished rows
    wanted = list(dict.fromkeys(chat_ids))
    found: dict[str, tuple[int, DeliveryState]] = {}
    for offset in range(0, len(wanted), PLAN_CHUNK):
        chunk = wanted[offset : offset + PLAN_CHUNK]
        rows: list[dict[str, object]] = [
            {
                "article_id": article_id,
                "chat_id": chat_id,
                "generation": generation,
                "state": DeliveryState.PENDING,
                "message_ids": [],
                "methods": [],
                "article_version": 0,
                "possible_duplicate": False,
                "plain_text": False,
                "attempts": 0,
                "created_at": utcnow(),
                "next_attempt_at": not_before,
                "bundle": bundle,
            }  # fmt: skip
            for chat_id in chunk
        ]
        # One statement per chunk, not a savepoint per chat: a story for 10,000
        # readers is planned in well under a second. A row another process
        # planned first stays as it is (its state decides below).
        session.execute(_insert_ignoring_conflicts(session), rows)
        existing = session.execute(
            select(Delivery.chat_id, Delivery.id, Delivery.state).where(
                Delivery.article_id == article_id,
                Delivery.generation == generation,
                Delivery.chat_id.in_(chunk),
            )
        )
        found.update({chat: (row_id, state) for chat, row_id, state in existing})
    return [
        found[chat][0]
        for chat in wanted
        if chat in found and found[chat][1] == DeliveryState.PENDING
    ]


def _ledger_pruned(session: Session, article_id: int) -> bool:
    """Whether retention deleted this article's finished rows (ops.housekeeping).

    Without its rows the ledger would plan the article's automatic posts again
    (`loa post`, the editors' /post), so the article keeps a marker instead.
    Read FOR SHARE on PostgreSQL: a prune of this article cannot commit between
    this check and the insert; on SQLite the write transaction serializes them.
    """
    query = select(Article.ledger_pruned_at).where(Article.id == article_id)
    return session.scalar(query.with_for_update(read=True)) is not None


def _insert_ignoring_conflicts(session: Session) -> Insert:
    """INSERT … ON CONFLICT (article, chat, generation) DO NOTHING, in the session's dialect."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return insert(Delivery).on_conflict_do_nothing(
        index_elements=["article_id", "chat_id", "generation"]
    )


def claim(
    factory: sessionmaker[Session],
    delivery_id: int,
    *,
    now: datetime | None = None,
    stuck_after: timedelta = DEFAULT_STUCK_AFTER,
) -> ClaimedDelivery | None:
    """Move a due row to `sending` and return it, or None if it is not ours to send.

    None means: already sent, failed for good, taken by another worker, or not
    due yet. Safe to call any number of times for the same id.
    """
    now = now or utcnow()
    with write_session(factory) as session:
        row = session.scalar(
            select(Delivery)
            .where(Delivery.id == delivery_id, _claimable(now, stuck_after))
            .with_for_update(skip_locked=True)
        )
        if row is None:
            return None
        if row.state == DeliveryState.SENDING and not _retake_stuck(session, row):
            return None
        row.state = DeliveryState.SENDING
        row.claimed_at = now
        row.attempts += 1
        return _claimed(row, row.attempts)


def _retake_stuck(session: Session, row: Delivery) -> bool:
    """Whether a row found stuck in `sending` may be sent again (claim and claim_many).

    The last claimer died between send and record: Telegram may have the
    message already. It is retried once, counted as a possible duplicate
    (with an event for editors); a row stuck twice is failed rather than risk
    a second duplicate.
    """
    if row.possible_duplicate:
        row.state = DeliveryState.FAILED
        row.last_error = "stuck in sending twice; not retried again"
        return False
    row.possible_duplicate = True
    record_event(
        session,
        EventKind.POSSIBLE_DUPLICATE,
        f"delivery {row.id} to {row.chat_id} was retried after a crash: "
        "the chat may show the article twice",
        article_id=row.article_id,
    )
    return True


def _claimed(row: Delivery, attempts: int) -> ClaimedDelivery:
    """What a claimer needs of a row it now holds in `sending`."""
    return ClaimedDelivery(
        row.id,
        row.article_id,
        row.chat_id,
        row.generation,
        attempts,
        tuple(row.message_ids or ()),
        tuple(row.methods or ()),
        row.plain_text,
        row.possible_duplicate,
    )


def _claimable(now: datetime, stuck_after: timedelta) -> ColumnElement[bool]:
    """SQL condition: a message of its own, pending and due, or stuck in `sending` too long.

    Held rows (`bundle` set) are never claimed one by one: news.bundles claims
    a chat's held rows together and sends them as one message.
    """
    return and_(Delivery.bundle.is_(None), claimable_state(now, stuck_after))


def claimable_state(now: datetime, stuck_after: timedelta) -> ColumnElement[bool]:
    """SQL condition on state alone: pending and due, or stuck in `sending` for too long."""
    return or_(
        and_(
            Delivery.state == DeliveryState.PENDING,
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
        ),
        and_(Delivery.state == DeliveryState.SENDING, Delivery.claimed_at < now - stuck_after),
    )


@_retried_while_unreachable
def mark_sent(
    factory: sessionmaker[Session],
    delivery_id: int,
    message_ids: list[int],
    *,
    methods: list[str] | None = None,
    article_version: int | None = None,
) -> None:
    """Record a successful send and the Telegram message ids it produced."""
    with write_session(factory) as session:
        row = session.get_one(Delivery, delivery_id)
        record_sent(session, [delivery_id], utcnow())  # loa_deliveries_total, publish latency
        row.state = DeliveryState.SENT
        row.message_ids = list(message_ids)
        if methods is not None:
            row.methods = list(methods)
        if article_version is not None:
            row.article_version = article_version
        row.sent_at = utcnow()
        row.last_error = None


@_retried_while_unreachable
def mark_progress(
    factory: sessionmaker[Session],
    delivery_id: int,
    message_ids: list[int],
    methods: list[str],
    *,
    plain_text: bool | None = None,
) -> None:
    """Remember the messages of a multi-message post sent so far (a retry skips them)."""
    with write_session(factory) as session:
        row = session.get_one(Delivery, delivery_id)
        row.message_ids = list(message_ids)
        row.methods = list(methods)
        if plain_text is not None:
            row.plain_text = plain_text


def mark_failed(factory: sessionmaker[Session], delivery_id: int, reason: str) -> None:
    """Give up on a delivery for good, keeping the reason for editors."""
    with write_session(factory) as session:
        row = session.get_one(Delivery, delivery_id)
        record_ledger(session, "failed")
        row.state = DeliveryState.FAILED
        row.last_error = reason[:2000]


def mark_retry(
    factory: sessionmaker[Session],
    delivery_id: int,
    reason: str,
    *,
    not_before: datetime,
    refund_attempt: bool = False,
) -> None:
    """Hand the row back as pending, due again at `not_before`.

    `refund_attempt`: the claim that counted an attempt only met a wait (a 429,
    no rate-limit turn), so it is not counted: `attempts` bounds real failures,
    and a long flood wait must not use up the budget of a later 5xx.
    """
    with write_session(factory) as session:
        row = session.get_one(Delivery, delivery_id)
        if refund_attempt and row.attempts > 0:
            row.attempts -= 1
        row.state = DeliveryState.PENDING
        row.last_error = reason[:2000]
        row.next_attempt_at = not_before
        record_ledger(session, "retry")


def due_delivery_ids(
    session: Session,
    *,
    now: datetime | None = None,
    stuck_after: timedelta = DEFAULT_STUCK_AFTER,
    limit: int = 500,
) -> list[int]:
    """Ids of rows that should be sent now; the reconciler re-enqueues these."""
    now = now or utcnow()
    query = (
        select(Delivery.id).where(_claimable(now, stuck_after)).order_by(Delivery.id).limit(limit)
    )
    return list(session.scalars(query))


def claim_many(
    factory: sessionmaker[Session],
    delivery_ids: list[int],
    *,
    now: datetime | None = None,
    stuck_after: timedelta = DEFAULT_STUCK_AFTER,
) -> list[ClaimedDelivery]:
    """:func:`claim` for many rows in one transaction: the ones that are ours to send.

    A fan-out claims its rows a batch at a time instead of one write
    transaction per message. The rules are :func:`claim`'s, row for row: rows
    locked by another worker are skipped (FOR UPDATE SKIP LOCKED on
    PostgreSQL; SQLite's BEGIN IMMEDIATE serialises writers), and a row found
    stuck in `sending` is retried once as a possible duplicate, or given up.
    """
    now = now or utcnow()
    wanted = list(dict.fromkeys(delivery_ids))
    if not wanted:
        return []
    with write_session(factory) as session:
        rows = session.scalars(
            select(Delivery)
            .where(Delivery.id.in_(wanted), _claimable(now, stuck_after))
            .order_by(Delivery.id)
            .with_for_update(skip_locked=True)
        ).all()
        fresh = [row.id for row in rows if row.state == DeliveryState.PENDING]
        claimed: list[ClaimedDelivery] = []
        for row in rows:
            if row.state == DeliveryState.SENDING:
                if not _retake_stuck(session, row):
                    continue
                row.claimed_at = now
                row.attempts += 1
            claimed.append(_claimed(row, row.attempts + (1 if row.id in fresh else 0)))
        session.flush()
        if fresh:
            # The common case in one statement; the rows are locked by the select above.
            session.execute(
                update(Delivery)
                .where(Delivery.id.in_(fresh))
                .values(
                    state=DeliveryState.SENDING,
                    claimed_at=now,
                    attempts=Delivery.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
        return claimed


@dataclass(frozen=True)
class SentRecord:
    """One successful send to write back (see :func:`mark_sent_many`)."""

    delivery_id: int
    message_ids: tuple[int, ...]
    methods: tuple[str, ...]
    article_version: int


@_retried_while_unreachable
def mark_sent_many(factory: sessionmaker[Session], records: list[SentRecord]) -> None:
    """:func:`mark_sent` for many rows in one transaction (one executemany).

    Until this commits the rows stay in `sending`: a crash in between leaves
    them to the stuck path (retried once as possible duplicates), exactly as a
    crash between one send and its record does.
    """
    if not records:
        return
    sent_at = utcnow()
    with write_session(factory) as session:
        record_sent(session, [record.delivery_id for record in records], sent_at)
        session.execute(
            update(Delivery),
            [
                {
                    "id": record.delivery_id,
                    "state": DeliveryState.SENT,
                    "message_ids": list(record.message_ids),
                    "methods": list(record.methods),
                    "article_version": record.article_version,
                    "sent_at": sent_at,
                    "last_error": None,
                }
                for record in records
            ],
        )
