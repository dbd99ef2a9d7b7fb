"""Held alerts (digest, quiet hours) claimed a chat at a time, to go out as one message.

Each held alert is a ledger row like any other (one per article and chat), so
"never lost, never twice" holds the same way: a batch is claimed by moving its
rows to `sending` in one transaction, and they are marked sent together with
the message that carried them. A worker that dies at the digest hour leaves
the rows in `sending`; after `stuck_after` they are claimed again once, flagged
as possible duplicates, exactly like single messages (news.ledger.claim).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from news.db import utcnow, write_session
from news.events import record_event
from news.ledger import DEFAULT_STUCK_AFTER, claimable_state
from news.models import Delivery, DeliveryState, EventKind

#: Headlines per summary message: 20 lines of a title (cut at 150 characters)
#: and a time stay under Telegram's 4096 characters, so one batch is one message.
BATCH_SIZE = 20


@dataclass(frozen=True)
class HeldBatch:
    """Held rows of one chat, now in `sending` and owned by the caller."""

    chat_id: str
    bundle: str
    delivery_ids: tuple[int, ...]
    article_ids: tuple[int, ...]
    attempts: int
    possible_duplicate: bool


def chats_with_due_bundles(
    session: Session,
    *,
    now: datetime | None = None,
    stuck_after: timedelta = DEFAULT_STUCK_AFTER,
    limit: int = 500,
) -> list[str]:
    """Chats with held rows due now (the reconciler enqueues one bundle send per chat)."""
    now = now or utcnow()
    query = (
        select(Delivery.chat_id)
        .where(Delivery.bundle.is_not(None), claimable_state(now, stuck_after))
        .group_by(Delivery.chat_id)
        .order_by(Delivery.chat_id)
        .limit(limit)
    )
    return list(session.scalars(query))


def claim_batch(
    factory: sessionmaker[Session],
    chat_id: str,
    *,
    now: datetime | None = None,
    stuck_after: timedelta = DEFAULT_STUCK_AFTER,
) -> HeldBatch | None:
    """Move up to BATCH_SIZE due held rows of `chat_id` to `sending`; None when none is due.

    Rows stuck in `sending` once are retried and flagged possible duplicates;
    rows stuck twice are failed, as news.ledger.claim does for single messages.
    """
    now = now or utcnow()
    with write_session(factory) as session:
        rows = list(
            session.scalars(
                select(Delivery)
                .where(
                    Delivery.chat_id == chat_id,
                    Delivery.bundle.is_not(None),
                    claimable_state(now, stuck_after),
                )
                .order_by(Delivery.id)
                .limit(BATCH_SIZE)
                .with_for_update(skip_locked=True)
            )
        )
        taken: list[Delivery] = []
        retried = 0
        for row in rows:
            if row.state == DeliveryState.SENDING:
                if row.possible_duplicate:
                    row.state = DeliveryState.FAILED
                    row.last_error = "stuck in sending twice; not retried again"
                    continue
                row.possible_duplicate = True
                retried += 1
            row.state = DeliveryState.SENDING
            row.claimed_at = now
            row.attempts += 1
            taken.append(row)
        if not taken:
            return None
        if retried:
            record_event(
                session,
                EventKind.POSSIBLE_DUPLICATE,
                f"a summary of {retried} held alerts to {chat_id} was retried after a crash: "
                "the reader may get it twice",
            )
        return HeldBatch(
            chat_id,
            str(taken[0].bundle),
            tuple(r.id for r in taken),
            tuple(r.article_id for r in taken),
            max(r.attempts for r in taken),
            any(r.possible_duplicate for r in taken),
        )


def mark_batch_sent(
    factory: sessionmaker[Session], batch: HeldBatch, message_id: int, versions: dict[int, int]
) -> None:
    """Record the summary message on every row it carried."""
    with write_session(factory) as session:
        for row in session.scalars(select(Delivery).where(Delivery.id.in_(batch.delivery_ids))):
            row.state = DeliveryState.SENT
            row.message_ids = [message_id]
            row.methods = ["sendMessage"]
            # A summary lists headlines: later corrections do not edit it.
            row.article_version = versions.get(row.article_id, row.article_version)
            row.sent_at = utcnow()
            row.last_error = None


def mark_batch_retry(
    factory: sessionmaker[Session], batch: HeldBatch, reason: str, *, not_before: datetime
) -> None:
    """Hand the rows back as pending, due again at `not_before`."""
    with write_session(factory) as session:
        for row in session.scalars(select(Delivery).where(Delivery.id.in_(batch.delivery_ids))):
            row.state = DeliveryState.PENDING
            row.last_error = reason[:2000]
            row.next_attempt_at = not_before


def mark_batch_failed(factory: sessionmaker[Session], batch: HeldBatch, reason: str) -> None:
    """Give the rows up for good (the reader blocked the bot, or Telegram refused)."""
    with write_session(factory) as session:
        for row in session.scalars(select(Delivery).where(Delivery.id.in_(batch.delivery_ids))):
            row.state = DeliveryState.FAILED
            row.last_error = reason[:2000]


def release_held(
    factory: sessionmaker[Session], chat_id: str, *, now: datetime | None = None
) -> int:
    """Make a chat's pending held rows due now (the reader turned the digest or quiet hours off)."""
    now = now or utcnow()
    with write_session(factory) as session:
        rows = list(
            session.scalars(
                select(Delivery).where(
                    Delivery.chat_id == chat_id,
                    Delivery.bundle.is_not(None),
                    Delivery.state == DeliveryState.PENDING,
                )
            )
        )
        for row in rows:
            row.next_attempt_at = now
        return len(rows)
