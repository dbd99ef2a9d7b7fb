"""Posts and corrections share one path: the shared limiter, the send, a recorded verdict.

Against the Bot API emulator over HTTP and a real Redis. The emulator enforces
Telegram's limits with real 429s (edits counted too, `count_edits=True`), so a
sender that skips the shared limiter shows up as a 429 in its call log.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.corrections import Corrector, stale_deliveries
from bot.limiter import Limits, TelegramLimiter
from bot.publisher import Publisher
from bot.senders import TelegramSender
from config.settings import ChannelConfig, Settings
from news import ledger
from news.db import utcnow
from news.models import Article, Channel, ChannelStatus, Delivery
from news.reconcile import stale_articles
from news.store import upsert_article
from telegram_emulator import Emulator
from tests.helpers import extracted, store_article

COUNTED = ("sendMessage", "sendPhoto", "editMessageText", "editMessageCaption")


def plan(factory: sessionmaker[Session], article_id: int, chats: list[str]) -> int:
    with factory.begin() as session:
        (delivery_id,) = ledger.plan_deliveries(session, article_id, chats)
        return delivery_id


def posted(factory: sessionmaker[Session], publisher: Publisher, n: int, chat: str) -> int:
    """Store article `n`, post it to `chat`, return the delivery id."""
    delivery_id = plan(factory, store_article(factory, extracted(n)).article_id, [chat])
    assert publisher.publish(delivery_id).status == "sent"
    return delivery_id


def correct(factory: sessionmaker[Session], n: int, title: str) -> int:
    """The source corrects article `n`'s title; returns the article id."""
    with factory.begin() as session:
        return upsert_article(session, replace(extracted(n), title=title), source=None).article_id


def limited(
    factory: sessionmaker[Session],
    sender: TelegramSender,
    settings: Settings,
    redis_client: redis.Redis,
    *,
    per_minute: int,
    **channel: str,
) -> Publisher:
    """A publisher whose shared limiter allows `per_minute` messages per channel."""
    limiter = TelegramLimiter(
        redis_client, Limits(group_per_minute=per_minute), prefix=f"loa:test:{uuid.uuid4().hex}"
    )
    if channel:
        settings = settings.model_copy(update={"channels": [ChannelConfig(**channel)]})
    return Publisher(factory, sender, settings, limiter=limiter)


def reconciler_sees(factory: sessionmaker[Session], now: datetime | None = None) -> list[int]:
    """Articles the reconciler would hand to fix_posts at `now`."""
    with factory() as session:
        return stale_articles(session, now=now or utcnow())


def counted_calls(emulator: Emulator) -> list[dict[str, object]]:
    return [c for c in emulator.calls() if c["method"] in COUNTED]


@pytest.mark.parametrize("kind", ["kicked", "chat_not_found"])
def test_correction_to_an_unusable_channel_is_recorded_and_not_retried(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator, kind: str
) -> None:
    channel = telegram_emulator.create_chat("channel", chat_id=-1001000000001)
    first = posted(factory, publisher, 1, "-1001000000001")
    telegram_emulator.add_fault(kind, chat_id=channel["id"])
    second = plan(factory, store_article(factory, extracted(2)).article_id, ["-1001000000001"])
    assert publisher.publish(second).status == "failed"  # the channel is now marked failed
    article_id = correct(factory, 1, "Bản đã sửa")
    assert reconciler_sees(factory) == [article_id]
    calls_before = len(telegram_emulator.calls())

    outcome = Corrector(publisher).fix(first)

    assert outcome.status == "failed" and outcome.error
    assert len(telegram_emulator.calls()) == calls_before  # a failed channel is not tried
    with factory() as session:
        row = session.get_one(Delivery, first)
        assert row.last_error is not None and row.last_error.startswith("correction failed")
        assert stale_deliveries(session, article_id) == []
    assert reconciler_sees(factory) == []  # nothing for the reconciler to repeat
    assert Corrector(publisher).fix(first).status == "skipped"


def test_a_note_refused_by_the_channel_is_recorded(
    factory: sessionmaker[Session],
    sender: TelegramSender,
    settings: Settings,
    redis_client: redis.Redis,
    telegram_emulator: Emulator,
) -> None:
    telegram_emulator.create_chat("channel", username="ghi_chu")
    publisher = limited(
        factory, sender, settings, redis_client, per_minute=20,
        chat="@ghi_chu", on_update="edit_and_note",
    )  # fmt: skip
    delivery_id = posted(factory, publisher, 1, "@ghi_chu")
    article_id = correct(factory, 1, "Bản đã sửa")
    telegram_emulator.add_fault("kicked", chat_id="@ghi_chu", methods=["sendMessage"])

    outcome = Corrector(publisher).fix(delivery_id)

    assert outcome.status == "failed"
    (message,) = telegram_emulator.messages("@ghi_chu")
    assert message.text is not None and message.text.startswith("Bản đã sửa")  # the edit landed
    with factory() as session:
        assert session.scalars(select(Channel)).one().status is ChannelStatus.FAILED
        assert session.get_one(Delivery, delivery_id).last_error is not None
        assert stale_deliveries(session, article_id) == []
    assert reconciler_sees(factory) == []


def test_correction_without_a_rate_limit_turn_is_deferred_not_sent(
    factory: sessionmaker[Session],
    sender: TelegramSender,
    settings: Settings,
    redis_client: redis.Redis,
    telegram_emulator: Emulator,
) -> None:
    telegram_emulator.create_chat("channel", username="ban")
    telegram_emulator.set_limits(group_per_minute=2, count_edits=True)
    publisher = limited(factory, sender, settings, redis_client, per_minute=2)
    first = posted(factory, publisher, 1, "@ban")
    posted(factory, publisher, 2, "@ban")  # the channel's two turns this minute are used
    article_id = correct(factory, 1, "Bản đã sửa")

    outcome = Corrector(publisher).fix(first)

    assert outcome.status == "deferred"
    assert outcome.retry_in is not None and 30 < outcome.retry_in <= 61
    assert telegram_emulator.calls("editMessageText") == []  # nothing was sent
    now = utcnow()
    with factory() as session:
        row = session.get_one(Delivery, first)
        assert row.next_attempt_at is not None
        assert now + timedelta(seconds=25) < row.next_attempt_at <= now + timedelta(seconds=62)
        assert row.last_error and "rate-limit" in row.last_error
        assert stale_deliveries(session, article_id, now=now) == []  # not due yet
        due_at = row.next_attempt_at + timedelta(seconds=1)
        assert stale_deliveries(session, article_id, now=due_at) == [first]
    assert reconciler_sees(factory, now) == []
    assert reconciler_sees(factory, due_at) == [article_id]
    assert Corrector(publisher).fix(first).status == "skipped"  # a second task waits too

    # A minute later the turn is there: the edit goes out and the row is clean again.
    assert publisher.limiter is not None
    for key in redis_client.scan_iter(f"{publisher.limiter.prefix}:*"):
        redis_client.delete(key)
    telegram_emulator.advance_clock(61)
    assert Corrector(publisher).fix(first, now=due_at).status == "edited"
    with factory() as session:
        row = session.get_one(Delivery, first)
        assert row.next_attempt_at is None and row.last_error is None
    assert [c["status"] for c in counted_calls(telegram_emulator)] == [200, 200, 200]


def test_corrections_count_against_the_shared_limit(
    factory: sessionmaker[Session],
    sender: TelegramSender,
    settings: Settings,
    redis_client: redis.Redis,
    telegram_emulator: Emulator,
) -> None:
    telegram_emulator.create_chat("channel", username="dem")
    telegram_emulator.set_limits(group_per_minute=4, count_edits=True)
    publisher = limited(
        factory, sender, settings, redis_client, per_minute=4,
        chat="@dem", on_update="edit_and_note",
    )  # fmt: skip
    first = posted(factory, publisher, 1, "@dem")
    second = posted(factory, publisher, 2, "@dem")
    correct(factory, 1, "Bài 1 đã sửa")
    correct(factory, 2, "Bài 2 đã sửa")
    corrector = Corrector(publisher)

    assert corrector.fix(first).status == "edited"  # an edit and a note: turns 3 and 4
    assert corrector.fix(second).status == "deferred"

    calls = counted_calls(telegram_emulator)
    assert [c["status"] for c in calls] == [200] * 4  # Telegram never had to say 429
    assert [c["method"] for c in calls] == [
        "sendMessage", "sendMessage", "editMessageText", "sendMessage",
    ]  # fmt: skip


def test_a_429_pauses_the_chat_for_the_next_message(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    channel = telegram_emulator.create_chat("channel", username="cham")
    telegram_emulator.add_fault("retry_after", chat_id=channel["id"], times=1, retry_after=30)
    first = plan(factory, store_article(factory, extracted(1)).article_id, ["@cham"])
    assert publisher.publish(first).status == "retry"
    second = plan(factory, store_article(factory, extracted(2)).article_id, ["@cham"])

    outcome = publisher.publish(second)

    assert outcome.status == "deferred" and outcome.retry_in is not None
    assert 20 < outcome.retry_in <= 30
    assert telegram_emulator.messages(channel["id"]) == []


def test_a_transient_failure_retries_a_correction_then_gives_up_after_a_day(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    channel = telegram_emulator.create_chat("channel", username="mang")
    delivery_id = posted(factory, publisher, 1, "@mang")
    article_id = correct(factory, 1, "Bản đã sửa")
    telegram_emulator.add_fault("bad_gateway", chat_id=channel["id"], methods=["editMessageText"])
    corrector = Corrector(publisher)

    outcome = corrector.fix(delivery_id)
    assert outcome.status == "retry" and outcome.retry_in is not None and outcome.retry_in > 0
    with factory() as session:
        row = session.get_one(Delivery, delivery_id)
        assert row.next_attempt_at is not None and row.last_error
        assert "Bad Gateway" in row.last_error
        assert stale_deliveries(session, article_id) == []

    # Still failing a day after the article changed: the correction is given up, recorded.
    with factory.begin() as session:
        session.get_one(Article, article_id).updated_at = utcnow() - timedelta(hours=25)
    later = utcnow() + timedelta(minutes=20)
    assert corrector.fix(delivery_id, now=later).status == "failed"
    with factory() as session:
        row = session.get_one(Delivery, delivery_id)
        assert row.last_error and row.last_error.startswith("correction failed")
    assert reconciler_sees(factory, later) == []
