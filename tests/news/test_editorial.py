"""The editors' service layer (news.editorial): every action, with good and bad input.

Real parts only: the database of the `factory` fixture (SQLite or PostgreSQL),
a real Redis for the limiter, the bundled Bot API emulator behind the
publisher, the corrector that the `fix_posts` task runs, and the feed cache.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.corrections import Corrector, stale_deliveries
from bot.limiter import Limits, TelegramLimiter
from bot.publisher import PAUSE_RECHECK_SECONDS, Publisher, PublishStatus
from bot.senders import TelegramSender
from config.loader import load_settings
from config.settings import RouteRule, Settings
from feeds.cache import rebuild_all
from news import editorial, ledger
from news.db import make_engine, make_session_factory, utcnow
from news.editorial import ArticleNotFound, EditorialError
from news.models import (
    Article,
    ArticleStatus,
    Channel,
    ChannelStatus,
    Delivery,
    DeliveryState,
    Event,
    EventKind,
    PauseKind,
    RenderedFeed,
)
from news.pauses import paused_sources
from news.reconcile import find_due_work
from news.store import upsert_article
from telegram_emulator import Emulator
from tests.helpers import extracted, store_article

TOKEN = "123456:" + "A" * 35
CONFIG = """
sources:
  - name: portal
    url: http://127.0.0.1:9/
  - name: other
    url: http://127.0.0.1:9/other/
channels:
  - chat: "@tin_tuc"
  - chat: "@tuyen_giao"
  - chat: "@extra"
routes:
  - channel: "@tin_tuc"
  - channel: "@tuyen_giao"
    categories: ["Công tác tuyên giáo"]
"""


@pytest.fixture
def settings(tmp_path: Path, telegram_emulator: Emulator) -> Settings:
    path = tmp_path / "loa.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return load_settings(
        path,
        environ={
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": telegram_emulator.base_url,
            "LOA_DATA_DIR": str(tmp_path / "data"),
        },
    )


@pytest.fixture
def publisher(
    factory: sessionmaker[Session],
    settings: Settings,
    telegram_emulator: Emulator,
    redis_client: redis.Redis,
) -> Iterator[Publisher]:
    sender = TelegramSender(TOKEN, base_url=telegram_emulator.base_url)
    limiter = TelegramLimiter(redis_client, Limits(), prefix=f"loa:test:{uuid.uuid4().hex}")
    yield Publisher(factory, sender, settings, limiter=limiter)
    sender.close()


def _plan(factory: sessionmaker[Session], article_id: int, chats: list[str]) -> list[int]:
    with factory.begin() as session:
        return ledger.plan_deliveries(session, article_id, chats)


# -- resolve_article, article_info, find_articles ------------------------------------


def test_an_article_is_found_by_id_hash_id_and_any_of_its_urls(
    factory: sessionmaker[Session],
) -> None:
    article_id = store_article(factory, extracted(1)).article_id
    with factory.begin() as session:
        article = session.get_one(Article, article_id)
        article.listed_url = "http://portal.test/danh-muc/bai-1.html"
        article.canonical_url = "https://portal.test/bai-1-canonical.html"
    refs = [
        str(article_id),
        f"#{article_id}",
        f"  {article_id} ",
        "http://portal.test/tin-tuc/bai-1-1.html",
        "https://portal.test/bai-1-canonical.html",
        "http://portal.test/danh-muc/bai-1.html",
        "http://portal.test/tin-tuc/bai-1-1.html?utm_source=zalo",  # tracking dropped
    ]
    with factory() as session:
        for ref in refs:
            assert editorial.resolve_article(session, ref).id == article_id, ref


@pytest.mark.parametrize(
    ("ref", "says"),
    [
        ("", "which article"),
        ("   ", "which article"),
        ("999", "no article #999"),
        ("#99999999999", "no article #99999999999"),  # past a 32-bit id: not an error 500
        ("tin tức", "neither an article id nor a URL"),
        ("ftp://portal.test/x", "neither an article id nor a URL"),
        ("http://portal.test/khong-co.html", "no article at http://portal.test/khong-co.html"),
        ("http://" + "a" * 5000, "neither an article id nor a URL"),
        ("12\x00", "neither an article id nor a URL"),
    ],
)
def test_bad_references_say_what_was_looked_for(
    factory: sessionmaker[Session], ref: str, says: str
) -> None:
    with factory() as session, pytest.raises(ArticleNotFound, match=says):
        editorial.resolve_article(session, ref)


def test_find_shows_state_version_and_where_each_article_was_posted(
    factory: sessionmaker[Session],
) -> None:
    fresh = store_article(factory, extracted(1, title="Hội nghị tuyên giáo toàn tỉnh")).article_id
    original = extracted(2, title="Tuyên giáo: bản đầu")
    fixed = store_article(factory, original).article_id
    with factory.begin() as session:
        upsert_article(session, replace(original, title="Tuyên giáo: bản sửa"), source=None)
    gone = store_article(factory, extracted(3, title="Tuyên giáo bị gỡ")).article_id
    editorial.withdraw(factory, str(gone), by="test")
    store_article(factory, extracted(4, title="Giá vàng hôm nay"))
    (posted,) = _plan(factory, fresh, ["@tin_tuc"])
    ledger.mark_sent(factory, posted, [77])
    _plan(factory, fresh, ["555001", "555002"])  # two readers' alerts, one sent
    with factory.begin() as session:
        row = session.scalars(select(Delivery).where(Delivery.chat_id == "555001")).one()
        row.state = DeliveryState.SENT

    found = editorial.find_articles(factory, "tuyen giao")
    by_id = {item.id: item for item in found}
    assert set(by_id) == {fresh, fixed, gone}
    assert [item.id for item in found][-1] == gone  # withdrawn ones after the live ones
    assert by_id[fresh].state == "new" and by_id[fresh].version == 1
    assert by_id[fixed].state == "corrected" and by_id[fixed].version == 2
    assert by_id[fixed].title == "Tuyên giáo: bản sửa"
    assert by_id[gone].state == "withdrawn"
    assert by_id[fresh].posted == (editorial.PostedTo("@tin_tuc", "sent", 0, (77,)),)
    assert by_id[fresh].readers == 1  # readers are counted, not listed
    assert by_id[fresh].source == "portal"
    assert editorial.find_articles(factory, "gia vang")[0].title == "Giá vàng hôm nay"
    # an id or a URL finds that one article, withdrawn or not
    assert [a.id for a in editorial.find_articles(factory, f"#{gone}")] == [gone]
    url = "http://portal.test/tin-tuc/bai-2-2.html"
    assert [a.id for a in editorial.find_articles(factory, url)] == [fixed]
    assert editorial.article_info(factory, str(fixed)).state == "corrected"
    with pytest.raises(ArticleNotFound):
        editorial.article_info(factory, "424242")


@pytest.mark.parametrize(
    "words",
    ["", "   ", "khong co gi", '" OR 1=1 --', "*", "\u200b", "http://x.test/none", "9" * 40],
)
def test_find_never_raises_on_junk(factory: sessionmaker[Session], words: str) -> None:
    store_article(factory, extracted(1))
    assert editorial.find_articles(factory, words) == []


def test_find_respects_the_limit(factory: sessionmaker[Session]) -> None:
    for n in range(1, 8):
        store_article(factory, extracted(n, title=f"Tin tuyên giáo số {n}"))
    assert len(editorial.find_articles(factory, "tuyen giao", limit=3)) == 3


# -- republish ----------------------------------------------------------------------


def test_republish_makes_a_new_generation_sent_once_per_chat(
    factory: sessionmaker[Session],
    settings: Settings,
    publisher: Publisher,
    telegram_emulator: Emulator,
) -> None:
    news = telegram_emulator.create_chat("channel", username="tin_tuc")
    party = telegram_emulator.create_chat("channel", username="tuyen_giao")
    article_id = store_article(factory, extracted(5, title="Bài đăng lại")).article_id
    routes = settings.effective_routes()
    for delivery_id in _plan(factory, article_id, ["@tin_tuc", "@tuyen_giao"]):
        assert publisher.publish(delivery_id).status is PublishStatus.SENT

    first = editorial.republish(factory, f"#{article_id}", routes)
    assert first.generation == 1
    assert first.chats == ("@tin_tuc", "@tuyen_giao") and len(first.delivery_ids) == 2
    for delivery_id in first.delivery_ids:
        assert publisher.publish(delivery_id).status is PublishStatus.SENT
        assert publisher.publish(delivery_id).status is PublishStatus.SKIPPED  # once only
    second = editorial.republish(factory, str(article_id), routes, chat="@tuyen_giao")
    assert second.generation == 2 and second.chats == ("@tuyen_giao",)
    for delivery_id in second.delivery_ids + second.delivery_ids:
        publisher.publish(delivery_id)

    assert len(telegram_emulator.messages(news["id"])) == 2  # automatic + generation 1
    assert len(telegram_emulator.messages(party["id"])) == 3  # automatic + 1 + 2
    posted = editorial.article_info(factory, str(article_id)).posted
    assert [(p.chat, p.generation, p.state) for p in posted] == [
        ("@tin_tuc", 0, "sent"),
        ("@tuyen_giao", 0, "sent"),
        ("@tin_tuc", 1, "sent"),
        ("@tuyen_giao", 1, "sent"),
        ("@tuyen_giao", 2, "sent"),
    ]


def test_republish_to_a_configured_channel_no_route_names(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    article_id = store_article(factory, extracted(6)).article_id
    routes = settings.effective_routes()
    channels = [c.chat for c in settings.effective_channels()]
    with pytest.raises(EditorialError, match="no route or configured channel names @extra"):
        editorial.republish(factory, str(article_id), routes, chat="@extra")
    result = editorial.republish(factory, str(article_id), routes, chat="@extra", channels=channels)
    assert result.chats == ("@extra",) and result.generation == 1


def test_republish_refusals_say_why(factory: sessionmaker[Session], settings: Settings) -> None:
    routes = settings.effective_routes()
    article_id = store_article(factory, extracted(7)).article_id
    with pytest.raises(EditorialError, match="no route or configured channel names @nobody"):
        editorial.republish(factory, str(article_id), routes, chat="@nobody")
    with pytest.raises(EditorialError, match=f"no route sends article #{article_id}"):
        editorial.republish(factory, str(article_id), [])
    with pytest.raises(ArticleNotFound):
        editorial.republish(factory, "31337", routes)
    editorial.withdraw(factory, str(article_id), by="test")
    with pytest.raises(EditorialError, match="withdrawn; it cannot be republished"):
        editorial.republish(factory, str(article_id), routes)
    with factory() as session:  # nothing was planned by the refusals
        assert session.scalars(select(Delivery)).all() == []


def test_republish_to_a_templated_route_chat(factory: sessionmaker[Session]) -> None:
    article_id = store_article(factory, extracted(8)).article_id
    routes = [RouteRule(channel="@loa_{category_slug}")]
    routed = editorial.republish(factory, str(article_id), routes)
    assert routed.chats == ("@loa_cong_tac_tuyen_giao",)
    other = editorial.republish(factory, str(article_id), routes, chat="@loa_xa_hoi")
    assert other.chats == ("@loa_xa_hoi",) and other.generation == 2
    with pytest.raises(EditorialError):
        editorial.republish(factory, str(article_id), routes, chat="@elsewhere")


# -- withdraw ------------------------------------------------------------------------


def test_withdraw_takes_the_posts_down_and_the_feeds_drop_it(
    factory: sessionmaker[Session],
    settings: Settings,
    publisher: Publisher,
    telegram_emulator: Emulator,
) -> None:
    news = telegram_emulator.create_chat("channel", username="tin_tuc")
    article_id = store_article(factory, extracted(9, title="Tin sẽ bị gỡ")).article_id
    other_id = store_article(factory, extracted(10, title="Tin ở lại")).article_id
    (posted,) = _plan(factory, article_id, ["@tin_tuc"])
    publisher.publish(posted)
    (unsent,) = _plan(factory, article_id, ["@tuyen_giao"])
    rebuild_all(factory, settings)
    assert _in_feeds(factory, "Tin sẽ bị gỡ")

    assert editorial.withdraw(factory, f"#{article_id}", by="editor 42") == article_id
    with factory() as session:
        article = session.get_one(Article, article_id)
        assert article.status is ArticleStatus.WITHDRAWN and article.withdrawn_at is not None
        (event,) = session.scalars(select(Event)).all()
        assert event.kind is EventKind.ARTICLE_WITHDRAWN and event.article_id == article_id
        assert "editor 42" in event.message
        cancelled = session.get_one(Delivery, unsent)
        assert cancelled.state is DeliveryState.FAILED  # never posted after all
        assert cancelled.last_error == "article withdrawn by editor 42"
        stale = stale_deliveries(session, article_id)
    assert stale == [posted]
    for delivery_id in stale:  # what the fix_posts task does
        assert Corrector(publisher).fix(delivery_id).status == "deleted"
    assert telegram_emulator.messages(news["id"], include_deleted=False) == []
    rebuild_all(factory, settings)
    assert not _in_feeds(factory, "Tin sẽ bị gỡ") and _in_feeds(factory, "Tin ở lại")

    assert editorial.withdraw(factory, str(article_id), by="again") == article_id  # no-op
    with factory() as session:
        assert len(session.scalars(select(Event)).all()) == 1
    assert editorial.retry_failed(factory) == []  # a withdrawn article's rows stay failed
    with pytest.raises(ArticleNotFound):
        editorial.withdraw(factory, "http://portal.test/none.html", by="x")
    assert other_id


def _in_feeds(factory: sessionmaker[Session], title: str) -> bool:
    with factory() as session:
        bodies = session.scalars(select(RenderedFeed.body)).all()
    assert bodies
    return any(title.encode("utf-8") in body for body in bodies)


def test_withdraw_closes_a_half_sent_post_so_its_part_is_taken_down(
    factory: sessionmaker[Session],
) -> None:
    article_id = store_article(factory, extracted(11)).article_id
    (row_id,) = _plan(factory, article_id, ["@tin_tuc"])
    ledger.mark_progress(factory, row_id, [5], ["sendPhoto"])  # photo out, text retrying
    editorial.withdraw(factory, str(article_id), by="test")
    with factory() as session:
        row = session.get_one(Delivery, row_id)
        assert row.state is DeliveryState.SENT and row.message_ids == [5]
        assert stale_deliveries(session, article_id) == [row_id]


# -- retry_failed --------------------------------------------------------------------


def test_retry_puts_failed_rows_back_due_now(factory: sessionmaker[Session]) -> None:
    article_id = store_article(factory, extracted(12)).article_id
    first, second, sent = _plan(factory, article_id, ["@tin_tuc", "@tuyen_giao", "@extra"])
    for row_id in (first, second):
        ledger.mark_failed(factory, row_id, "chat not found")
    ledger.mark_sent(factory, sent, [1])
    with factory.begin() as session:
        session.add(Channel(configured="@tin_tuc", chat_id="-1001", status=ChannelStatus.FAILED))
        session.get_one(Delivery, first).attempts = 6

    assert editorial.retry_failed(factory, chat="-1001") == [first]  # by its numeric id too
    with factory() as session:
        row = session.get_one(Delivery, first)
        assert row.state is DeliveryState.PENDING and row.attempts == 0
        assert row.next_attempt_at is not None and row.next_attempt_at <= utcnow()
        assert session.get_one(Delivery, second).state is DeliveryState.FAILED
        channel = session.scalars(select(Channel)).one()
        assert channel.status is ChannelStatus.UNKNOWN  # given another chance
        assert first in ledger.due_delivery_ids(session)
    assert editorial.retry_failed(factory) == [second]
    assert editorial.retry_failed(factory) == []
    assert editorial.retry_failed(factory, chat="@nobody") == []


# -- pauses --------------------------------------------------------------------------


def test_pause_and_resume_say_whether_anything_changed(factory: sessionmaker[Session]) -> None:
    assert editorial.pause(factory, PauseKind.SOURCE, "portal", by=42) is True
    assert editorial.pause(factory, PauseKind.SOURCE, " portal ") is False  # already
    assert editorial.pause(factory, "chat", "@tin_tuc") is True
    assert editorial.pause(factory, PauseKind.ALL) is True
    assert [(p.kind, p.name, p.created_by) for p in editorial.active_pauses(factory)] == [
        (PauseKind.SOURCE, "portal", 42),
        (PauseKind.CHAT, "@tin_tuc", None),
        (PauseKind.ALL, "", None),
    ]
    assert [p.label for p in editorial.active_pauses(factory)] == [
        "source portal",
        "chat @tin_tuc",
        "all",
    ]
    assert editorial.resume(factory, PauseKind.ALL) is True
    assert editorial.resume(factory, PauseKind.ALL) is False
    assert editorial.resume(factory, PauseKind.SOURCE, "portal") is True
    assert editorial.resume(factory, PauseKind.SOURCE, "nosuch") is False
    assert [p.label for p in editorial.active_pauses(factory)] == ["chat @tin_tuc"]


@pytest.mark.parametrize(
    ("kind", "name", "says"),
    [
        ("source", "", "which source"),
        ("chat", "   ", "which chat"),
        ("all", "portal", "takes no name"),
        ("everything", "", "say source NAME, chat CHAT or all"),
        ("source", "a b", "is not a source name"),
        ("chat", "x" * 300, "is not a chat name"),
        ("chat", "@a\x00", "is not a chat name"),
        ("chat", "tin_tuc", "is not a chat: say @name or its numeric id"),
    ],
)
def test_pause_refuses_bad_targets(
    factory: sessionmaker[Session], kind: str, name: str, says: str
) -> None:
    with pytest.raises(EditorialError, match=says):
        editorial.pause(factory, kind, name)
    with pytest.raises(EditorialError, match=says):
        editorial.resume(factory, kind, name)
    assert editorial.active_pauses(factory) == []


def test_pauses_survive_a_new_process(database_url: str) -> None:
    engine = make_engine(database_url)
    editorial.pause(make_session_factory(engine), PauseKind.SOURCE, "portal")
    editorial.pause(make_session_factory(engine), PauseKind.CHAT, "@tin_tuc")
    engine.dispose()  # "restart": a new engine and factory see the same pauses
    engine = make_engine(database_url)
    try:
        factory = make_session_factory(engine)
        with factory() as session:
            assert editorial.is_source_paused(session, "portal")
            assert not editorial.is_source_paused(session, "other")
            assert editorial.is_chat_paused(session, "@tin_tuc")
            assert not editorial.is_chat_paused(session, "@tuyen_giao")
        assert len(editorial.active_pauses(factory)) == 2
    finally:
        engine.dispose()


def test_all_pauses_every_source_and_chat_and_aliases_count(
    factory: sessionmaker[Session],
) -> None:
    with factory.begin() as session:
        session.add(Channel(configured="@tin_tuc", chat_id="-100123"))
    editorial.pause(factory, PauseKind.CHAT, "@tin_tuc")
    with factory() as session:
        assert editorial.is_chat_paused(session, "-100123")  # the same channel by id
        assert not editorial.is_chat_paused(session, "555")
        assert paused_sources(session, ["portal", "other"]) == set()
    editorial.pause(factory, PauseKind.ALL)
    with factory() as session:
        assert editorial.is_chat_paused(session, "555")
        assert editorial.is_source_paused(session, "anything")
        assert paused_sources(session, ["portal", "other"]) == {"portal", "other"}


def test_a_paused_chat_defers_its_rows_without_losing_them(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    news = telegram_emulator.create_chat("channel", username="tin_tuc")
    party = telegram_emulator.create_chat("channel", username="tuyen_giao")
    article_id = store_article(factory, extracted(13)).article_id
    held, free = _plan(factory, article_id, ["@tin_tuc", "@tuyen_giao"])
    editorial.pause(factory, PauseKind.CHAT, "@tin_tuc")

    outcome = publisher.publish(held)
    assert outcome.status is PublishStatus.DEFERRED and outcome.retry_in == PAUSE_RECHECK_SECONDS
    assert publisher.publish(held).status is PublishStatus.SKIPPED  # a duplicate task stops
    assert publisher.publish(free).status is PublishStatus.SENT
    with factory() as session:
        row = session.get_one(Delivery, held)
        assert row.state is DeliveryState.PENDING and row.attempts == 0
        assert row.last_error == "chat paused by an editor"
    assert telegram_emulator.messages(news["id"]) == []
    later = utcnow() + timedelta(seconds=PAUSE_RECHECK_SECONDS + 1)
    assert publisher.publish(held, now=later).status is PublishStatus.DEFERRED  # still paused

    assert editorial.resume(factory, PauseKind.CHAT, "@tin_tuc")
    much_later = later + timedelta(seconds=PAUSE_RECHECK_SECONDS + 1)
    assert publisher.publish(held, now=much_later).status is PublishStatus.SENT
    assert len(telegram_emulator.messages(news["id"])) == 1
    assert len(telegram_emulator.messages(party["id"])) == 1


def test_the_reconciler_does_not_poll_a_paused_source(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    sources = settings.effective_sources()
    with factory() as session:
        assert find_due_work(session, sources, utcnow()).source_names == ["portal", "other"]
    editorial.pause(factory, PauseKind.SOURCE, "portal")
    with factory() as session:
        assert find_due_work(session, sources, utcnow()).source_names == ["other"]
    editorial.pause(factory, PauseKind.ALL)
    with factory() as session:
        assert find_due_work(session, sources, utcnow()).source_names == []


def test_pause_refuses_a_source_the_config_does_not_name(factory: sessionmaker[Session]) -> None:
    known = ["portal", "other"]
    with pytest.raises(
        EditorialError, match=r"no source named 'portl' \(configured: other, portal\)"
    ):
        editorial.pause(factory, PauseKind.SOURCE, "portl", sources=known)
    assert editorial.pause(factory, PauseKind.SOURCE, "portal", sources=known)
    assert editorial.pause(factory, PauseKind.CHAT, "-1001234567890", sources=known)
