"""The publisher against the Telegram Bot API emulator, over real HTTP.

python-telegram-bot's `Bot` talks to the emulator through `base_url`; the
limiter runs on a real Redis. Each test says what a newsroom would see.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.corrections import Corrector, stale_deliveries
from bot.publisher import Publisher
from config.settings import Settings
from news import ledger
from news.db import utcnow
from news.models import (
    Article,
    ArticleStatus,
    Channel,
    ChannelStatus,
    Delivery,
    DeliveryState,
    Event,
    EventKind,
)
from news.store import upsert_article
from telegram_emulator import Emulator
from tests.helpers import extracted, store_article


def plan(factory: sessionmaker[Session], article_id: int, chats: list[str]) -> list[int]:
    with factory.begin() as session:
        return ledger.plan_deliveries(session, article_id, chats)


def test_post_reaches_the_channel_once_with_escaped_text_and_a_button(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    channel = telegram_emulator.create_chat("channel", username="tin_tuc")
    article_id = store_article(
        factory, extracted(1, title="Giá vàng <script> & </b>", summary="Tóm tắt. " * 900)
    ).article_id
    (delivery_id,) = plan(factory, article_id, ["@tin_tuc"])
    assert publisher.publish(delivery_id).status == "sent"
    assert publisher.publish(delivery_id).status == "skipped"
    (message,) = telegram_emulator.messages(channel["id"])
    assert message.text is not None and message.text.startswith("Giá vàng <script> & </b>")
    assert {"type": "bold"}.items() <= message.entities[0].items()
    assert message.reply_markup is not None
    assert message.reply_markup["inline_keyboard"][0][0]["text"] == "Đọc tiếp"
    with factory() as session:
        row = session.get_one(Delivery, delivery_id)
        assert row.message_ids == [message.message_id]
        stored = session.scalars(select(Channel)).one()
        assert stored.chat_id == str(channel["id"])  # @name resolved once, kept


def test_429_is_waited_out_then_delivered(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    channel = telegram_emulator.create_chat("channel", username="kenh")
    telegram_emulator.add_fault("retry_after", chat_id=channel["id"], times=1, retry_after=2)
    article_id = store_article(factory, extracted(2)).article_id
    (delivery_id,) = plan(factory, article_id, ["@kenh"])
    outcome = publisher.publish(delivery_id)
    assert outcome.status == "retry" and outcome.retry_in == 2
    assert publisher.publish(delivery_id).status == "skipped"  # not due yet
    later = utcnow() + timedelta(seconds=3)
    publisher.limiter.client.delete(f"{publisher.limiter.prefix}:pause:@kenh")  # type: ignore[union-attr]
    assert publisher.publish(delivery_id, now=later).status == "sent"
    assert len(telegram_emulator.messages(channel["id"])) == 1


@pytest.mark.parametrize("kind", ["kicked", "no_rights", "chat_not_found"])
def test_unusable_channel_is_failed_and_editors_told(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator, kind: str
) -> None:
    channel = telegram_emulator.create_chat("channel", chat_id=-1001234567890)
    telegram_emulator.add_fault(kind, chat_id=channel["id"])
    first = store_article(factory, extracted(3)).article_id
    second = store_article(factory, extracted(4)).article_id
    (d1,) = plan(factory, first, ["-1001234567890"])
    (d2,) = plan(factory, second, ["-1001234567890"])
    assert publisher.publish(d1).status == "failed"
    assert publisher.publish(d2).status == "failed"  # not even attempted
    with factory() as session:
        assert session.scalars(select(Channel)).one().status is ChannelStatus.FAILED
        events = list(session.scalars(select(Event)))
        assert [e.kind for e in events] == [EventKind.CHANNEL_FAILED]
        rows = list(session.scalars(select(Delivery)))
        assert all(r.state is DeliveryState.FAILED and r.last_error for r in rows)
    assert telegram_emulator.messages(channel["id"]) == []


def test_migrated_group_gets_its_new_id(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    group = telegram_emulator.create_chat("group")
    new_id = telegram_emulator.migrate_group(group["id"])
    article_id = store_article(factory, extracted(5)).article_id
    (delivery_id,) = plan(factory, article_id, [str(group["id"])])
    outcome = publisher.publish(delivery_id)
    assert outcome.status == "retry" and outcome.retry_in == 0
    assert publisher.publish(delivery_id).status == "sent"
    assert len(telegram_emulator.messages(new_id)) == 1


def test_unparsable_text_is_sent_once_as_plain_text(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    channel = telegram_emulator.create_chat("channel", username="thuan")
    telegram_emulator.add_fault(
        "error", chat_id=channel["id"], times=1, error_code=400,
        description='Bad Request: can\'t parse entities: Unsupported start tag "x"',
    )  # fmt: skip
    article_id = store_article(factory, extracted(6, title="A & B")).article_id
    (delivery_id,) = plan(factory, article_id, ["@thuan"])
    assert publisher.publish(delivery_id).status == "retry"
    assert publisher.publish(delivery_id).status == "sent"
    (message,) = telegram_emulator.messages(channel["id"])
    assert message.parse_mode is None and message.text is not None
    assert message.text.startswith("A & B")


def test_photo_plus_text_never_resends_the_photo(
    factory: sessionmaker[Session],
    publisher: Publisher,
    settings: Settings,
    telegram_emulator: Emulator,
) -> None:
    channel = telegram_emulator.create_chat("channel", username="anh")
    publisher.settings = settings.model_copy(
        update={
            "channels": [settings.channel_options("@anh").model_copy(update={"send_mode": "photo"})]
        }
    )
    article_id = store_article(
        factory, extracted(7, summary="Câu dài về kinh tế. " * 80)
    ).article_id
    (delivery_id,) = plan(factory, article_id, ["@anh"])
    telegram_emulator.add_fault(
        "server_error", chat_id=channel["id"], times=1, methods=["sendMessage"]
    )
    assert publisher.publish(delivery_id).status == "retry"
    later = utcnow() + timedelta(minutes=5)
    assert publisher.publish(delivery_id, now=later).status == "sent"
    methods = [m.method for m in telegram_emulator.messages(channel["id"])]
    assert methods == ["sendPhoto", "sendMessage"]


def test_corrections_edit_and_withdrawals_delete(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    channel = telegram_emulator.create_chat("channel", username="sua")
    original = extracted(8, title="Bản đầu")
    article_id = store_article(factory, original).article_id
    (delivery_id,) = plan(factory, article_id, ["@sua"])
    publisher.publish(delivery_id)
    with factory.begin() as session:
        upsert_article(session, replace(original, title="Bản đã sửa"), source=None)
    corrector = Corrector(publisher)
    with factory() as session:
        assert stale_deliveries(session, article_id) == [delivery_id]
    assert corrector.fix(delivery_id).status == "edited"
    (message,) = telegram_emulator.messages(channel["id"])
    assert message.text is not None and message.text.startswith("Bản đã sửa")
    with factory() as session:
        assert stale_deliveries(session, article_id) == []
    with factory.begin() as session:
        session.get_one(Article, article_id).status = ArticleStatus.WITHDRAWN
    assert corrector.fix(delivery_id).status == "deleted"
    assert telegram_emulator.messages(channel["id"], include_deleted=False) == []
    assert corrector.fix(delivery_id).status == "skipped"


def test_status_counts_failures_and_possible_duplicates(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    from news.status import current_status

    channel = telegram_emulator.create_chat("channel", username="dem")
    telegram_emulator.add_fault("kicked", chat_id=channel["id"])
    article_id = store_article(factory, extracted(9)).article_id
    (failed_id,) = plan(factory, article_id, ["@dem"])
    publisher.publish(failed_id)
    (stuck_id,) = plan(factory, article_id, ["@other"])
    assert ledger.claim(factory, stuck_id) is not None  # a worker died holding it
    assert ledger.claim(factory, stuck_id, now=utcnow() + timedelta(hours=1)) is not None
    snapshot = current_status(factory)
    assert snapshot.deliveries["failed"] == 1 and snapshot.deliveries["sending"] == 1
    assert snapshot.possible_duplicates == 1
    assert [name for name, _ in snapshot.failed_channels] == ["@dem"]
    assert any("channel_failed" in line for line in snapshot.recent_events)


def test_withdrawal_after_48_hours_marks_the_post_instead(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    channel = telegram_emulator.create_chat("channel", username="cu")
    article_id = store_article(factory, extracted(11, title="Tin cũ")).article_id
    (delivery_id,) = plan(factory, article_id, ["@cu"])
    publisher.publish(delivery_id)
    with factory.begin() as session:
        session.get_one(Article, article_id).status = ArticleStatus.WITHDRAWN
    telegram_emulator.advance_clock(49 * 3600)
    outcome = Corrector(publisher).fix(delivery_id, now=utcnow() + timedelta(hours=49))
    assert outcome.status == "marked"
    (message,) = telegram_emulator.messages(channel["id"], include_deleted=False)
    assert message.text is not None and "Bài viết đã được gỡ bỏ" in message.text
    with factory() as session:
        assert session.get_one(Delivery, delivery_id).withdrawn_at is not None
