"""Digests and quiet hours: held alerts go out as one summary, once, even after a crash."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.bundles import BundleSender
from bot.publisher import Publisher
from config.settings import Settings
from news import bundles
from news.announce import plan_announcements
from news.models import Article, ArticleStatus, Delivery, DeliveryState, Subscriber
from news.readers import set_digest, set_quiet_hours
from news.reconcile import find_due_work, stale_articles
from news.subscriptions import subscribe
from telegram_emulator import Emulator
from tests.bot.running_bot import RunningBot, bot_with_readers
from tests.helpers import extracted, store_article

READER = 4001
#: 2026-12-01 23:00 UTC is 06:00 the next morning in Hà Nội; the digest is at 07:00 local.
NOW = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
DIGEST_DUE = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)


@pytest.fixture
def reader(telegram_emulator: Emulator, factory: sessionmaker[Session]) -> int:
    telegram_emulator.set_limits(enabled=False)
    telegram_emulator.create_user(READER, "Lan", language_code="vi")
    subscribe(factory, READER, keywords="bao chi")
    set_digest(factory, READER, "07:00")
    return READER


def held_articles(factory: sessionmaker[Session], count: int, start: int = 0) -> list[int]:
    ids = []
    for n in range(start, start + count):
        title = f"Báo chí <số {n}> & tin" if n % 2 else f"Báo chí số {n}"
        article = extracted(n, title=title, published_at=NOW - timedelta(minutes=count - n))
        ids.append(store_article(factory, article).article_id)
    assert plan_announcements(factory, ids, [], now=NOW) == []  # nothing to send now
    return ids


def rows(factory: sessionmaker[Session]) -> list[Delivery]:
    with factory() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def test_the_digest_is_one_message_at_the_readers_hour_and_only_once(
    reader: int, factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    held_articles(factory, 3)
    sender = BundleSender(publisher)
    assert sender.send_due(str(reader), now=DIGEST_DUE - timedelta(seconds=1)).batches_sent == 0
    with factory() as session:
        assert find_due_work(session, [], DIGEST_DUE - timedelta(seconds=1)).bundle_chats == []
        assert find_due_work(session, [], DIGEST_DUE).bundle_chats == [str(reader)]
        assert find_due_work(session, [], DIGEST_DUE).delivery_ids == []  # never one by one
    assert sender.send_due(str(reader), now=DIGEST_DUE).batches_sent == 1
    [message] = telegram_emulator.sent(reader)
    lines = (message.text or "").splitlines()
    assert lines[0] == "Tin tổng hợp: 3 tin"
    assert lines[1:] == [
        "• 05:59 02/12 Báo chí số 2",
        "• 05:58 02/12 Báo chí <số 1> & tin",
        "• 05:57 02/12 Báo chí số 0",
    ]
    assert sum(e["type"] == "text_link" for e in message.entities) == 3
    assert {(r.state, tuple(r.message_ids)) for r in rows(factory)} == {
        (DeliveryState.SENT, (message.message_id,))
    }
    assert sender.send_due(str(reader), now=DIGEST_DUE + timedelta(hours=1)).batches_sent == 0
    assert len(telegram_emulator.sent(reader)) == 1


def test_a_worker_killed_at_the_digest_hour_loses_nothing_and_sends_once_more_at_most(
    reader: int, factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    held_articles(factory, 2)
    # The worker claims the batch and dies before sending or recording anything.
    claimed = bundles.claim_batch(factory, str(reader), now=DIGEST_DUE)
    assert claimed is not None and len(claimed.delivery_ids) == 2
    sender = BundleSender(publisher)
    # Another worker right after: the rows are someone's, nothing is sent twice.
    assert sender.send_due(str(reader), now=DIGEST_DUE + timedelta(minutes=1)).batches_sent == 0
    # Past `stuck_after` the rows are claimed again, flagged, and sent.
    later = DIGEST_DUE + timedelta(seconds=publisher.settings.publish.stuck_after_seconds + 1)
    assert sender.send_due(str(reader), now=later).batches_sent == 1
    assert len(telegram_emulator.sent(reader)) == 1
    assert all(r.state is DeliveryState.SENT and r.possible_duplicate for r in rows(factory))


def test_rows_stuck_twice_are_given_up_not_sent_a_third_time(
    reader: int, factory: sessionmaker[Session]
) -> None:
    held_articles(factory, 1)
    stuck = timedelta(minutes=10)
    assert bundles.claim_batch(factory, str(reader), now=DIGEST_DUE) is not None
    assert bundles.claim_batch(factory, str(reader), now=DIGEST_DUE + stuck * 2) is not None
    assert bundles.claim_batch(factory, str(reader), now=DIGEST_DUE + stuck * 4) is None
    [row] = rows(factory)
    assert row.state is DeliveryState.FAILED and "stuck" in (row.last_error or "")


def test_a_long_digest_is_split_into_messages_of_twenty_headlines(
    reader: int, factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    held_articles(factory, 45)
    assert BundleSender(publisher).send_due(str(reader), now=DIGEST_DUE).batches_sent == 3
    sizes = [len((m.text or "").splitlines()) - 1 for m in telegram_emulator.sent(reader)]
    assert sizes == [20, 20, 5]
    assert {r.state for r in rows(factory)} == {DeliveryState.SENT}


def test_withdrawn_articles_are_left_out_and_digests_are_never_edited_later(
    reader: int, factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    ids = held_articles(factory, 3)
    with factory.begin() as session:
        session.execute(
            update(Article).where(Article.id == ids[0]).values(status=ArticleStatus.WITHDRAWN)
        )
    BundleSender(publisher).send_due(str(reader), now=DIGEST_DUE)
    [message] = telegram_emulator.sent(reader)
    assert (message.text or "").splitlines()[0] == "Tin tổng hợp: 2 tin"
    with factory.begin() as session:  # a correction of a listed article
        session.execute(update(Article).where(Article.id == ids[1]).values(version=2))
        assert stale_articles(session, now=DIGEST_DUE + timedelta(hours=1)) == []


def test_a_reader_who_blocked_the_bot_before_the_digest_is_unsubscribed(
    reader: int, factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    held_articles(factory, 2)
    telegram_emulator.block_user(reader)
    outcome = BundleSender(publisher).send_due(str(reader), now=DIGEST_DUE)
    assert outcome.failed and outcome.retry_in is None
    assert {r.state for r in rows(factory)} == {DeliveryState.FAILED}
    with factory() as session:
        subscriber = session.scalar(select(Subscriber))
        assert subscriber is not None and subscriber.blocked


def test_quiet_hours_then_turning_them_off_releases_what_waited(
    telegram_emulator: Emulator, factory: sessionmaker[Session], publisher: Publisher
) -> None:
    telegram_emulator.set_limits(enabled=False)
    telegram_emulator.create_user(READER, "Ann", language_code="en")
    subscribe(factory, READER, keywords="bao chi", language="en")
    set_quiet_hours(factory, READER, (22, 7))
    quiet_night = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # 00:00 in Hà Nội
    article_id = store_article(factory, extracted(1, title="Báo chí đêm")).article_id
    assert plan_announcements(factory, [article_id], [], now=quiet_night) == []
    [row] = rows(factory)
    assert row.bundle == "quiet" and row.next_attempt_at == datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    set_quiet_hours(factory, READER, None)  # the reader turns them off at once
    [row] = rows(factory)
    assert row.next_attempt_at is not None and row.next_attempt_at <= datetime.now(UTC)
    assert BundleSender(publisher).send_due(str(READER)).batches_sent == 1
    [message] = telegram_emulator.sent(READER)
    assert (message.text or "").startswith("During your quiet hours: 1 articles")


@pytest.fixture
def bot(
    telegram_emulator: Emulator, settings: Settings, factory: sessionmaker[Session]
) -> Iterator[RunningBot]:
    with bot_with_readers(telegram_emulator, settings, factory, {READER: "vi"}) as running:
        yield running


def test_digest_and_quiet_commands(bot: RunningBot, factory: sessionmaker[Session]) -> None:
    assert bot.ask(READER, "/digest daily 7:30").text == (
        "Bạn sẽ nhận một bản tin tổng hợp mỗi ngày lúc 07:30 (Asia/Ho_Chi_Minh)."
    )
    assert "Cách dùng: /digest" in (bot.ask(READER, "/digest daily 25:00").text or "")
    assert "Cách dùng: /digest" in (bot.ask(READER, "/digest").text or "")
    assert "Đã tắt bản tin" in (bot.ask(READER, "/digest off").text or "")
    assert "22:00–07:00" in (bot.ask(READER, "/quiet 22-7").text or "")
    assert "Cách dùng: /quiet" in (bot.ask(READER, "/quiet 7-7").text or "")
    assert "Cách dùng: /quiet" in (bot.ask(READER, "/quiet " + "9" * 20_000).text or "")
    with factory() as session:
        subscriber = session.scalar(select(Subscriber))
        assert subscriber is not None
        assert (subscriber.digest_at, subscriber.quiet_from, subscriber.quiet_to) == (None, 22, 7)
    assert "Đã tắt giờ yên lặng" in (bot.ask(READER, "/quiet off").text or "")
    assert bot.ask(READER, "/tz +7").text == "Múi giờ của bạn: Etc/GMT-7."
    assert "Cách dùng: /tz" in (bot.ask(READER, "/tz Mars/Olympus").text or "")
    assert bot.ask(READER, "/tz asia/bangkok").text == "Múi giờ của bạn: Asia/Bangkok."
    assert "(Asia/Bangkok)" in (bot.ask(READER, "/digest 06:00").text or "")
    assert bot.ask(READER, "/tz off").text == "Múi giờ của bạn: Asia/Ho_Chi_Minh."
