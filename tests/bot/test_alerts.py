"""Editors' alerts end to end: real polls, channel checks, the ledger and the emulator.

An alert is sent once per change of state, to the editors' chat or to each
editor privately, through the shared limiter; a failing source gives two
alerts (unhealthy, recovered), never one per failed poll.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts import AlertSender
from bot.channels import ChannelRegistry
from bot.i18n import t
from bot.limiter import Limits, TelegramLimiter
from bot.publisher import Publisher
from bot.senders import TelegramSender
from config.loader import load_settings
from config.settings import Settings, SourceConfig
from news import ledger
from news.alerts import ALERTED, check_backlog, plan_alerts
from news.db import utcnow, write_session
from news.errors import FetchError
from news.events import record_event
from news.extract import reader_for
from news.fetch import Fetcher, make_session
from news.models import AlertDelivery, Channel, Delivery, DeliveryState, Event, EventKind
from news.poll import poll_source
from news.reading import SourceReading
from telegram_emulator import Emulator
from tests.bot.running_bot import TOKEN
from tests.helpers import extracted, store_article
from tests.sites.slug_portal import SlugPortal

EDITOR_A = 5001
EDITOR_B = 5002
GROUP = -100555


def editor_settings(emulator: Emulator, tmp_path: Path, **extra: str) -> Settings:
    environ = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": emulator.base_url,
        "LOA_DATA_DIR": str(tmp_path / "data"),
        "LOA_EDITORS": f"{EDITOR_A},{EDITOR_B}",
        **extra,
    }
    return load_settings(None, environ=environ)


def make_publisher(
    factory: sessionmaker[Session], sender: TelegramSender, settings: Settings, r: redis.Redis
) -> Publisher:
    limiter = TelegramLimiter(r, Limits(), prefix=f"loa:test:{uuid.uuid4().hex}")
    return Publisher(factory, sender, settings, limiter=limiter)


@pytest.fixture
def emulator(telegram_emulator: Emulator) -> Emulator:
    telegram_emulator.set_limits(enabled=False)
    for editor in (EDITOR_A, EDITOR_B):
        telegram_emulator.create_user(editor, f"Editor {editor}", language_code="en")
    telegram_emulator.create_chat("supergroup", chat_id=GROUP, title="Newsroom")
    return telegram_emulator


@pytest.fixture
def privately(
    emulator: Emulator,
    tmp_path: Path,
    factory: sessionmaker[Session],
    sender: TelegramSender,
    redis_client: redis.Redis,
) -> AlertSender:
    """Alerts to each editor privately (no editors' chat)."""
    settings = editor_settings(emulator, tmp_path)
    return AlertSender(make_publisher(factory, sender, settings, redis_client))


@pytest.fixture
def in_group(
    emulator: Emulator,
    tmp_path: Path,
    factory: sessionmaker[Session],
    sender: TelegramSender,
    redis_client: redis.Redis,
) -> AlertSender:
    """Alerts to the editors' group (newsroom language: Vietnamese)."""
    settings = editor_settings(emulator, tmp_path, LOA_EDITORS_CHAT=str(GROUP))
    return AlertSender(make_publisher(factory, sender, settings, redis_client))


def texts(emulator: Emulator, chat: int) -> list[str]:
    return [m.text or "" for m in emulator.sent(chat)]


def test_two_failing_polls_then_a_recovery_make_exactly_two_alerts_per_editor(
    emulator: Emulator,
    privately: AlertSender,
    factory: sessionmaker[Session],
    slug_portal: SlugPortal,
) -> None:
    source = SourceConfig(
        name="slug", url=slug_portal.listing_url, profile="news-modern", unhealthy_after=2
    )
    reading = SourceReading(
        source,
        Fetcher(make_session(retries=0)),
        reader_for("news-modern"),
        tz=privately.settings.tz,
    )
    slug_portal.server.set_status(slug_portal.listing_url, 503)
    for _ in range(2):
        with pytest.raises(FetchError):
            poll_source(factory, reading)
        privately.run()
        privately.run()  # the reconciler runs it every minute: nothing more is sent
    slug_portal.server.set_status(slug_portal.listing_url, None)
    poll_source(factory, reading)
    poll_source(factory, reading)  # healthy polls after the recovery tell nobody anything
    for _ in range(2):
        privately.run()

    for editor in (EDITOR_A, EDITOR_B):
        got = texts(emulator, editor)
        assert len(got) == 2, got
        assert got[0].startswith("⚠️ Nguồn tin gặp sự cố")  # newsroom language: vi
        assert "source slug failed 2 times in a row" in got[0] and "503" in got[0]
        assert got[1].startswith("✅ Nguồn tin hoạt động trở lại")
    with factory() as session:
        events = list(session.scalars(select(Event).order_by(Event.id)))
        assert [e.kind for e in events] == [EventKind.SOURCE_UNHEALTHY, EventKind.SOURCE_RECOVERED]
        assert all(e.notified_at is not None for e in events)
        rows = list(session.scalars(select(AlertDelivery)))
        assert len(rows) == 4 and {r.state for r in rows} == {DeliveryState.SENT}


def test_a_channel_failing_then_recovering_alerts_the_editors_chat_once_each(
    emulator: Emulator, in_group: AlertSender, factory: sessionmaker[Session]
) -> None:
    emulator.create_chat("channel", chat_id=-100777, username="tin_tuc", bot_status="member")
    registry = ChannelRegistry(factory, in_group.publisher.sender)
    for _ in range(2):  # checked twice while broken: one failure
        assert registry.check("@tin_tuc").problem is not None
        in_group.run()
    emulator.set_bot_rights("@tin_tuc", status="administrator")
    for _ in range(2):
        assert registry.check("@tin_tuc").problem is None
        in_group.run()
    got = texts(emulator, GROUP)
    assert len(got) == 2, got
    assert got[0].startswith("⚠️ Không đăng được vào kênh") and "@tin_tuc" in got[0]
    assert got[1].startswith("✅ Kênh đăng được trở lại")
    assert texts(emulator, EDITOR_A) == [] and texts(emulator, EDITOR_B) == []


def test_the_backlog_alerts_once_when_it_passes_the_threshold_and_once_when_it_clears(
    emulator: Emulator, in_group: AlertSender, factory: sessionmaker[Session]
) -> None:
    article_id = store_article(factory, extracted(1)).article_id
    assert article_id is not None
    with write_session(factory) as session:
        ids = ledger.plan_deliveries(session, article_id, [f"@c{i}" for i in range(5)])
    assert check_backlog(factory, 4) is EventKind.BACKLOG_HIGH
    assert check_backlog(factory, 4) is None  # still high: said once
    in_group.run()
    with write_session(factory) as session:  # three sent: 2 wait, not yet half the threshold
        session.execute(
            update(Delivery).where(Delivery.id.in_(ids[:3])).values(state=DeliveryState.SENT)
        )
    assert check_backlog(factory, 4) is EventKind.BACKLOG_CLEARED
    assert check_backlog(factory, 4) is None
    in_group.run()
    got = texts(emulator, GROUP)
    assert len(got) == 2, got
    assert "⚠️ Nhiều tin đang chờ gửi" in got[0] and "5 deliveries are waiting" in got[0]
    assert "✅ Hàng chờ gửi đã giảm" in got[1]


def test_a_delivery_claimed_again_after_a_crash_alerts_a_possible_duplicate(
    emulator: Emulator, privately: AlertSender, factory: sessionmaker[Session]
) -> None:
    article_id = store_article(factory, extracted(1)).article_id
    assert article_id is not None
    with write_session(factory) as session:
        [delivery_id] = ledger.plan_deliveries(session, article_id, ["@tin_tuc"])
    assert ledger.claim(factory, delivery_id) is not None  # … and the worker dies
    later = utcnow() + timedelta(hours=1)
    again = ledger.claim(factory, delivery_id, now=later)
    assert again is not None and again.possible_duplicate
    privately.run()
    for editor in (EDITOR_A, EDITOR_B):
        [text] = texts(emulator, editor)
        assert text.startswith("⚠️ Có thể đã gửi trùng") and "@tin_tuc" in text


def test_alerts_escape_what_they_quote_and_a_blocked_editor_does_not_stop_the_others(
    emulator: Emulator, privately: AlertSender, factory: sessionmaker[Session]
) -> None:
    emulator.block_user(EDITOR_A)
    with write_session(factory) as session:
        record_event(session, EventKind.CHANNEL_FAILED, "channel <b>@x</b> & co: kicked")
    outcome = privately.run()
    assert (outcome.sent, outcome.failed) == (1, 1)
    [text] = texts(emulator, EDITOR_B)
    assert "channel <b>@x</b> & co: kicked" in text  # shown literally, not as markup
    assert texts(emulator, EDITOR_A) == []
    assert privately.run().sent == 0  # the failed row is not retried on every run
    emulator.block_user(EDITOR_A, blocked=False)  # a person, not a channel: works again
    with write_session(factory) as session:
        record_event(session, EventKind.BACKLOG_HIGH, "later")
    assert privately.run().sent == 2
    with factory() as session:
        assert all(e.notified_at is not None for e in session.scalars(select(Event)))
        assert session.scalars(select(Channel)).all() == []  # no editor became a "channel"


def test_old_events_and_events_nobody_can_hear_are_closed_without_alerts(
    emulator: Emulator, privately: AlertSender, factory: sessionmaker[Session]
) -> None:
    with write_session(factory) as session:
        record_event(session, EventKind.SOURCE_UNHEALTHY, "long ago")
    with write_session(factory) as session:
        session.execute(update(Event).values(created_at=utcnow() - timedelta(days=3)))
        record_event(session, EventKind.ARTICLE_FLAGGED, "not an alert kind")
        record_event(session, EventKind.BACKLOG_HIGH, "nobody listens")
    assert plan_alerts(factory, [], now=utcnow()) == []  # no editors configured
    privately.run()
    assert texts(emulator, EDITOR_A) == [] and texts(emulator, EDITOR_B) == []
    with factory() as session:
        notified = {e.kind: e.notified_at is not None for e in session.scalars(select(Event))}
    assert notified == {
        EventKind.SOURCE_UNHEALTHY: True,
        EventKind.ARTICLE_FLAGGED: False,  # stays for `loa status`; never an alert
        EventKind.BACKLOG_HIGH: True,
    }


def test_every_alerted_kind_has_a_headline_in_both_languages() -> None:
    for kind in ALERTED:
        assert t("vi", f"alert_{kind.value}") != t("en", f"alert_{kind.value}")
