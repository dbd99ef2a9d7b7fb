"""Reader commands end to end: the real bot polling the emulator, on a real database."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.commands.fallback import COMMANDS
from config.settings import Settings
from news.db import make_engine, make_session_factory
from telegram_emulator import Emulator
from tests.bot.running_bot import BOT_USERNAME, RunningBot, bot_with_readers, running_bot
from tests.helpers import extracted, store_article

READER = 1001
EN_READER = 1002
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội


def buttons(record: object) -> list[tuple[str, str]]:
    markup = getattr(record, "reply_markup", None) or {}
    return (
        [(b["text"], b.get("callback_data", "")) for row in markup["inline_keyboard"] for b in row]
        if markup
        else []
    )


@pytest.fixture
def bot(
    telegram_emulator: Emulator, settings: Settings, factory: sessionmaker[Session]
) -> Iterator[RunningBot]:
    readers = {READER: "vi", EN_READER: "en-US"}
    with bot_with_readers(telegram_emulator, settings, factory, readers) as running:
        yield running


def seed(factory: sessionmaker[Session]) -> None:
    """12 articles in "Công tác tuyên giáo", 3 in "Thế giới", one minute apart."""
    for n in range(12):
        store_article(factory, extracted(n, published_at=T0 + timedelta(minutes=n)))
    for n in range(100, 103):
        store_article(
            factory,
            extracted(n, category="Thế giới", title=f"Tin <b>{n}</b> & co", published_at=T0),
        )


def test_start_welcomes_in_the_readers_language_with_category_buttons(
    bot: RunningBot, factory: sessionmaker[Session]
) -> None:
    seed(factory)
    vi = bot.ask(READER, "/start")
    assert "Xin chào" in (vi.text or "")
    labels = buttons(vi)
    assert labels[0] == ("Tất cả", "lat:0:0")
    assert [label for label, _ in labels[1:]] == ["Công tác tuyên giáo", "Thế giới"]
    en = bot.ask(EN_READER, "/start")
    assert "Hello" in (en.text or "") and buttons(en)[0][0] == "All"
    # a category button turns the welcome into that category's headlines, in place
    data = labels[2][1]
    assert bot.press(READER, vi.message_id, data)["text"] is None  # answered after the edit
    edited = bot.message(READER, vi.message_id)
    assert len(edited.edits) == 1
    assert "Tin mới nhất – Thế giới" in (edited.text or "")


def test_help_lists_exactly_the_commands_that_exist(bot: RunningBot) -> None:
    vi = bot.ask(READER, "/help").text or ""
    en = bot.ask(EN_READER, "/help").text or ""
    assert "Commands" in en
    for command in COMMANDS:
        assert f"/{command}" in vi and f"/{command}" in en
    names = {
        c["command"]
        for call in bot.emulator.calls("setMyCommands")
        for c in as_list(call["params"]["commands"])
    }
    assert names == set(COMMANDS) >= {"latest", "subscribe", "mysubs", "lang", "digest", "quiet"}
    codes = {call["params"].get("language_code") for call in bot.emulator.calls("setMyCommands")}
    assert {"vi", "en"} <= codes


def test_latest_lists_newest_first_with_local_time_and_escapes_titles(
    bot: RunningBot, factory: sessionmaker[Session]
) -> None:
    seed(factory)
    reply = bot.ask(READER, "/latest")
    lines = (reply.text or "").splitlines()
    assert lines[0] == "Tin mới nhất" and len(lines) == 6
    assert lines[1] == "• 08:11 01/12 Bài số 11"
    assert any(e["type"] == "text_link" for e in reply.entities)
    assert buttons(reply) == [
        ("◀ Cũ hơn", "lat:0:1"),
        ("Công tác tuyên giáo", "lat:1:0"),
        ("Thế giới", "lat:2:0"),
    ]
    world = bot.ask(READER, "/latest the gioi")
    assert "Tin <b>100</b> & co" in (world.text or "")  # escaped, shown literally
    assert buttons(world) == []


@pytest.mark.parametrize(
    "query", ["tuyen giao", "cong-tac", "CÔNG TÁC", "cong-tac-tuyen-giao", "tuyên giáo 3"]
)
def test_latest_finds_a_category_without_diacritics_by_name_slug_or_prefix(
    bot: RunningBot, factory: sessionmaker[Session], query: str
) -> None:
    seed(factory)
    text = bot.ask(READER, f"/latest {query}").text or ""
    assert text.startswith("Tin mới nhất – Công tác tuyên giáo")


def test_latest_count_is_clamped_and_junk_gets_a_hint(
    bot: RunningBot, factory: sessionmaker[Session]
) -> None:
    seed(factory)
    assert len((bot.ask(READER, "/latest 100").text or "").splitlines()) == 16  # 15 exist
    assert len((bot.ask(READER, "/latest tuyen giao 0").text or "").splitlines()) == 2
    assert len((bot.ask(READER, "/latest -3").text or "").splitlines()) == 2
    assert "Cách dùng" in (bot.ask(READER, "/latest !!!").text or "")
    assert len((bot.ask(EN_READER, "/latest 99999999999999").text or "").splitlines()) == 16
    assert len((bot.ask(READER, "/latest " + "9" * 20_000).text or "").splitlines()) == 16
    assert (bot.ask(READER, "/latest 2 tuyen giao").text or "").count("•") == 2
    assert "Usage" in (bot.ask(EN_READER, "/latest ?? 3").text or "")


def test_unknown_category_suggests_the_closest_as_buttons(
    bot: RunningBot, factory: sessionmaker[Session]
) -> None:
    seed(factory)
    reply = bot.ask(READER, "/latest the gioy")
    assert "Không có chuyên mục “the gioy”" in (reply.text or "")
    assert [label for label, _ in buttons(reply)] == ["Thế giới"]
    none = bot.ask(EN_READER, "/latest zzzz")
    assert "No such category" in (none.text or "") and "Usage" in (none.text or "")


def test_paging_edits_the_same_message_and_stops_at_both_ends(
    bot: RunningBot, factory: sessionmaker[Session]
) -> None:
    seed(factory)
    first = bot.ask(READER, "/latest tuyen giao")
    assert buttons(first) == [("◀ Cũ hơn", f"{first_data(first)}")]
    bot.press(READER, first.message_id, first_data(first))
    record = bot.emulator.messages(READER)[-1]
    assert record.message_id == first.message_id and len(record.edits) == 1
    assert "Bài số 6" in (record.text or "") and "Bài số 7" not in (record.text or "")
    assert [label for label, _ in buttons(record)] == ["◀ Cũ hơn", "Mới hơn ▶"]
    older = buttons(record)[0][1]
    bot.press(READER, record.message_id, older)
    last = bot.emulator.messages(READER)[-1]
    assert (last.text or "").count("•") == 2 and [b for b, _ in buttons(last)] == ["Mới hơn ▶"]
    en = bot.ask(EN_READER, "/latest 2")
    assert buttons(en)[0] == ("◀ Older", "lat:0:1:2")
    assert buttons(en)[1][1] == "lat:1:0:2"  # a category button keeps the count


def as_list(value: object) -> list[dict[str, str]]:
    """PTB sends nested values JSON-encoded in a form body."""
    decoded = json.loads(value) if isinstance(value, str) else value
    assert isinstance(decoded, list)
    return decoded


def first_data(record: object) -> str:
    return buttons(record)[0][1]


@pytest.mark.parametrize("data", ["junk", "lat:999:0", "lat:0:50", "lat:x:y", "lat:0:0:99"])
def test_stale_or_forged_buttons_get_a_short_answer(
    bot: RunningBot, factory: sessionmaker[Session], data: str
) -> None:
    seed(factory)
    message_id = bot.send_with_buttons(READER, data)
    answer = bot.press(READER, message_id, data)
    assert answer["text"] == "Nút này đã cũ, hãy gõ /latest."
    assert bot.emulator.messages(READER)[-1].edits == []


def test_categories_and_feeds_list_counts_and_links(
    bot: RunningBot, factory: sessionmaker[Session], settings: Settings
) -> None:
    seed(factory)
    reply = bot.ask(READER, "/categories")
    assert "Công tác tuyên giáo (12) – RSS" in (reply.text or "")
    urls = [e.get("url") for e in reply.entities if e["type"] == "text_link"]
    assert f"{settings.base_url}/feeds/the-gioi.rss" in urls
    feeds = bot.ask(EN_READER, "/feeds").text or ""
    for path in ("/feeds/all.rss", "/feeds/cong-tac-tuyen-giao.rss", "/feeds/opml"):
        assert settings.base_url + path in feeds


def test_every_command_on_an_empty_database(bot: RunningBot) -> None:
    assert bot.ask(READER, "/latest").text == "Chưa có tin nào."
    assert "Không có chuyên mục" in (bot.ask(READER, "/latest tuyen giao 3").text or "")
    assert bot.ask(READER, "/categories").text == "Chưa có chuyên mục nào."
    assert "/feeds/opml" in (bot.ask(READER, "/feeds").text or "")
    assert buttons(bot.ask(READER, "/start")) == [("Tất cả", "lat:0:0")]


def test_unknown_commands_and_plain_text_get_a_hint_in_private(bot: RunningBot) -> None:
    assert "/help" in (bot.ask(READER, "/nope").text or "")
    assert "/latest" in (bot.ask(EN_READER, "hello").text or "")


def test_in_groups_commands_for_other_bots_and_chatter_are_ignored(
    bot: RunningBot, factory: sessionmaker[Session]
) -> None:
    seed(factory)
    group = bot.emulator.create_chat("group", title="Nhóm")["id"]
    bot.emulator.inject_message(group, "/latest@otherbot", user_id=READER)
    bot.emulator.inject_message(group, "/nope", user_id=READER)
    bot.emulator.inject_message(group, "xin chào", user_id=READER)
    reply = bot.ask(group, f"/latest@{BOT_USERNAME} 1", user_id=READER)
    assert (reply.text or "").startswith("Tin mới nhất")
    assert len(bot.emulator.sent(group)) == 1
    channel = bot.emulator.create_chat("channel", username="loa_news")["id"]
    bot.emulator.inject_message(channel, "/latest")  # a channel post, not a reader
    assert (bot.ask(READER, "/latest 1").text or "").startswith("Tin mới nhất")
    assert bot.emulator.sent(channel) == []


def test_huge_nfd_and_zero_width_input_never_crash(
    bot: RunningBot, factory: sessionmaker[Session]
) -> None:
    seed(factory)
    nfd = unicodedata.normalize("NFD", "/latest Tuyên giáo")
    assert "Công tác tuyên giáo" in (bot.ask(READER, nfd).text or "")
    zero_width = "/latest tuy\u200ben\u200b giáo\u200b"
    assert bot.ask(READER, zero_width).text
    assert bot.ask(READER, "/latest \u202eoaig neyut\u202c").text  # right-to-left override
    assert bot.ask(READER, "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627").text
    huge = bot.ask(READER, "/latest " + "á" * 20_000)
    assert len(huge.text or "") < 400
    assert bot.ask(READER, "x" * 20_000).text
    assert bot.ask(READER, "/" + "a" * 20_000).text


def test_a_failing_handler_apologises_once(
    telegram_emulator: Emulator,
    settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A database without tables makes every query fail for real; the reader gets one apology."""
    broken = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'unmigrated.db'}"))
    telegram_emulator.set_limits(enabled=False)
    telegram_emulator.create_user(READER, "Lan", language_code="vi")
    with running_bot(telegram_emulator, settings, broken) as running:
        reply = running.ask(READER, "/categories")
        assert reply.text == "Xin lỗi, đã có lỗi. Vui lòng thử lại sau."
        message_id = running.send_with_buttons(READER, "lat:1:0")
        assert (
            running.press(READER, message_id, "lat:1:0")["text"]
            == "Xin lỗi, đã có lỗi. Vui lòng thử lại sau."
        )
    failures = [
        r
        for r in caplog.records
        if r.name == "bot.commands.fallback" and "failed" in r.getMessage()
    ]
    assert len(failures) == 2 and all("bot update" in r.getMessage() for r in failures)


def test_two_commands_at_once_both_get_their_answer(
    bot: RunningBot, factory: sessionmaker[Session], telegram_emulator: Emulator
) -> None:
    """Telegram's 1 message/s per private chat answers the second reply with a 429: the bot
    waits the retry_after and sends it again instead of dropping it."""
    seed(factory)
    telegram_emulator.set_limits(enabled=True)  # running_bot turns flood control off
    telegram_emulator.inject_message(READER, "/help")
    telegram_emulator.inject_message(READER, "/latest")
    replies = bot.wait_for(lambda: len(telegram_emulator.sent(READER)) >= 2 or None, timeout=15)
    assert replies
    texts = [m.text or "" for m in telegram_emulator.sent(READER)]
    assert any("/latest" in t for t in texts) and any("Tin mới nhất" in t for t in texts)
    throttled = [c for c in telegram_emulator.calls("sendMessage") if c["status"] == 429]
    assert throttled, "the emulator's per-chat limit never answered 429: the test proves nothing"
