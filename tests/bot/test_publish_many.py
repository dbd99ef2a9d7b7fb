"""The fan-out path (Publisher.publish_many) against the emulator: the guarantees of publish().

One batch claims its rows together, renders once per article and options,
sends several at a time and records the successes together; each test checks
that a newsroom sees exactly what the one-by-one path gives it.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.publisher import Publisher, send_concurrency
from news import editorial, ledger
from news.db import utcnow, write_session
from news.models import Channel, ChannelStatus, Delivery, DeliveryState, PauseKind
from telegram_emulator import Emulator
from tests.helpers import extracted, store_article


def plan(factory: sessionmaker[Session], article_id: int, chats: list[str]) -> list[int]:
    with factory.begin() as session:
        return ledger.plan_deliveries(session, article_id, chats)


def channels(emulator: Emulator, count: int, first: int = -1001_000_000_000) -> list[str]:
    return [str(emulator.create_chat("channel", chat_id=first - n)["id"]) for n in range(count)]


def test_a_batch_sends_each_row_once_with_the_same_text_and_records_every_id(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    telegram_emulator.set_limits(enabled=False)
    chats = channels(telegram_emulator, 30)
    article_id = store_article(factory, extracted(1, title="Giá lúa <tăng> & giảm")).article_id
    ids = plan(factory, article_id, chats)
    outcomes = publisher.publish_many(ids + ids[:5])  # a duplicate enqueue changes nothing
    assert Counter(o.status for o in outcomes) == {"sent": 30}
    assert {o.status for o in publisher.publish_many(ids)} == {"skipped"}  # never twice
    sent = telegram_emulator.sent()
    assert Counter(m.chat_id for m in sent) == {int(chat): 1 for chat in chats}
    assert len({m.text for m in sent}) == 1  # rendered once, the chat id put in per send
    assert sent[0].text is not None and sent[0].text.startswith("Giá lúa <tăng> & giảm")
    by_chat = {m.chat_id: m.message_id for m in sent}
    with factory() as session:
        rows = session.scalars(select(Delivery).where(Delivery.id.in_(ids))).all()
        assert {row.state for row in rows} == {DeliveryState.SENT}
        # edits and withdrawals find their messages: each row keeps its own id
        assert {row.id: row.message_ids for row in rows} == {
            row.id: [by_chat[int(row.chat_id)]] for row in rows
        }
        assert all(row.methods == ["sendMessage"] and row.sent_at for row in rows)


def test_a_batch_keeps_429_403_and_pauses_as_the_single_path_does(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    telegram_emulator.set_limits(enabled=False)
    throttled, kicked, paused, fine = channels(telegram_emulator, 4)
    telegram_emulator.add_fault("retry_after", chat_id=int(throttled), times=1, retry_after=2)
    telegram_emulator.add_fault("kicked", chat_id=int(kicked))
    editorial.pause(factory, PauseKind.CHAT, paused)
    article_id = store_article(factory, extracted(2)).article_id
    ids = dict(
        zip(
            [throttled, kicked, paused, fine],
            plan(factory, article_id, [throttled, kicked, paused, fine]),
            strict=True,
        )
    )
    outcomes = {o.delivery_id: o for o in publisher.publish_many(list(ids.values()))}
    assert outcomes[ids[fine]].status == "sent"
    assert outcomes[ids[throttled]].status == "retry" and outcomes[ids[throttled]].retry_in == 2
    assert outcomes[ids[kicked]].status == "failed"
    assert outcomes[ids[paused]].status == "deferred"
    with factory() as session:
        failed = session.scalars(select(Channel).where(Channel.configured == kicked)).one()
        assert failed.status == ChannelStatus.FAILED
        assert session.get_one(Delivery, ids[paused]).state == DeliveryState.PENDING
    # the 429 is honoured: not due before retry_after, sent after it
    assert publisher.publish_many([ids[throttled]])[0].status == "skipped"
    publisher.limiter.client.delete(f"{publisher.limiter.prefix}:pause:{throttled}")  # type: ignore[union-attr]
    later = utcnow() + timedelta(seconds=3)
    assert publisher.publish_many([ids[throttled]], now=later)[0].status == "sent"
    assert len(telegram_emulator.messages(int(throttled))) == 1
    assert telegram_emulator.messages(int(paused)) == []


def test_rows_left_in_sending_by_a_crash_are_retried_once_as_possible_duplicates(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    telegram_emulator.set_limits(enabled=False)
    chats = channels(telegram_emulator, 3)
    article_id = store_article(factory, extracted(3)).article_id
    ids = plan(factory, article_id, chats)
    # a worker claimed the batch and died before recording anything
    assert len(ledger.claim_many(factory, ids)) == 3
    assert {o.status for o in publisher.publish_many(ids)} == {"skipped"}  # not stuck yet
    stuck = utcnow() + timedelta(seconds=publisher.settings.publish.stuck_after_seconds + 1)
    outcomes = publisher.publish_many(ids, now=stuck)
    assert Counter(o.status for o in outcomes) == {"sent": 3}
    with factory() as session:
        rows = session.scalars(select(Delivery).where(Delivery.id.in_(ids))).all()
        assert all(row.possible_duplicate and row.attempts == 2 for row in rows)


def test_claim_many_takes_only_due_unclaimed_rows_and_gives_up_rows_stuck_twice(
    factory: sessionmaker[Session], telegram_emulator: Emulator
) -> None:
    article_id = store_article(factory, extracted(4)).article_id
    ids = plan(factory, article_id, ["-1001", "-1002", "-1003", "-1004"])
    ledger.mark_sent_many(factory, [ledger.SentRecord(ids[0], (7,), ("sendMessage",), 1)])
    later = utcnow() + timedelta(hours=1)
    ledger.mark_retry(factory, ids[1], "429", not_before=later)
    with write_session(factory) as session:  # stuck once already
        row = session.get_one(Delivery, ids[3])
        row.state, row.possible_duplicate = DeliveryState.SENDING, True
        row.claimed_at = utcnow() - timedelta(hours=1)
    claimed = ledger.claim_many(factory, ids)
    assert [c.id for c in claimed] == [ids[2]] and claimed[0].attempts == 1
    assert ledger.claim_many(factory, ids) == []
    with factory() as session:
        assert session.get_one(Delivery, ids[0]).message_ids == [7]
        assert session.get_one(Delivery, ids[3]).state == DeliveryState.FAILED


def test_sends_overlap_only_where_the_budget_needs_it() -> None:
    # 30/s needs one at a time (overlap there only meets 429s); a paid 1,000/s needs 8
    assert [send_concurrency(rate) for rate in (1, 30, 99, 100, 450, 1000, 5000)] == [
        1, 1, 1, 1, 4, 8, 8,
    ]  # fmt: skip
