"""/search and inline mode end to end: the real bot polling the emulator, on a real database."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from telegram_emulator import Emulator
from tests.bot.running_bot import BOT_USERNAME, RunningBot, running_bot
from tests.helpers import extracted, store_article

READER = 2001
EN_READER = 2002
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội
STALE = "Nút này đã cũ, hãy tìm lại bằng /search."


@pytest.fixture
def bot(
    telegram_emulator: Emulator, settings: Settings, factory: sessionmaker[Session]
) -> Iterator[RunningBot]:
    telegram_emulator.set_limits(enabled=False)
    telegram_emulator.create_user(READER, "Lan", language_code="vi")
    telegram_emulator.create_user(EN_READER, "Ann", language_code="en-US")
    with running_bot(telegram_emulator, settings, factory) as running:
        yield running


def seed(factory: sessionmaker[Session], count: int = 12) -> None:
    """`count` "Đảng bộ" articles a minute apart (the last the newest), and two others."""
    for n in range(count):
        title = f"Đại hội Đảng bộ xã số {n}"
        store_article(factory, extracted(n, title=title, published_at=T0 + timedelta(minutes=n)))
    store_article(
        factory,
        extracted(
            100, title="Tin <b>đặc biệt</b> & co", summary="Lead <i>x</i> & y", published_at=T0
        ),
    )
    store_article(factory, extracted(101, title="Giá lúa tăng", published_at=T0))


def buttons(record: object) -> list[tuple[str, str]]:
    markup = getattr(record, "reply_markup", None) or {}
    return (
        [(b["text"], b.get("callback_data", "")) for row in markup["inline_keyboard"] for b in row]
        if markup
        else []
    )


def inline(bot: RunningBot, query: str, offset: str = "", user_id: int = READER) -> dict[str, Any]:
    """Type `@bot query` and return the bot's answerInlineQuery call."""
    before = len(bot.emulator.answers())
    bot.emulator.inject_inline_query(query, user_id=user_id, offset=offset)
    answers = bot.wait_for(lambda: bot.emulator.answers()[before:])
    answer: dict[str, Any] = answers[0]
    assert answer["type"] == "inline_query"
    return answer


def test_search_without_diacritics_lists_links_with_local_time(
    bot: RunningBot, factory: sessionmaker[Session]
) -> None:
    seed(factory)
    reply = bot.ask(READER, "/search dang bo")
    lines = (reply.text or "").splitlines()
    assert lines[0] == "Tìm “dang bo”: 12 bài – trang 1/3"
    assert lines[1] == "• 08:11 01/12 Đại hội Đảng bộ xã số 11"
    assert len(lines) == 6
    links = [e for e in reply.entities if e["type"] == "text_link"]
    assert links[0]["url"] == "http://portal.test/tin-tuc/bai-11-11.html"
    assert buttons(reply) == [("◀ Cũ hơn", "srch:1:dang bo")]
    en = bot.ask(EN_READER, "/search ĐẢNG")
    assert (en.text or "").startswith("Search “dang”: 12 found – page 1/3")
    assert buttons(en) == [("◀ Older", "srch:1:dang")]


def test_titles_are_escaped(bot: RunningBot, factory: sessionmaker[Session]) -> None:
    seed(factory)
    reply = bot.ask(READER, "/search dac biet")
    assert "• 08:00 01/12 Tin <b>đặc biệt</b> & co" in (reply.text or "")  # shown literally
    assert not any(e["type"] == "bold" and e["offset"] > 0 for e in reply.entities)
    assert buttons(reply) == []


def test_paging_edits_the_same_message_and_stops_at_both_ends(
    bot: RunningBot, factory: sessionmaker[Session]
) -> None:
    seed(factory)
    first = bot.ask(READER, "/search dang")
    assert bot.press(READER, first.message_id, "srch:1:dang")["text"] is None
    second = bot.emulator.messages(READER)[-1]
    assert second.message_id == first.message_id and len(second.edits) == 1
    assert "trang 2/3" in (second.text or "") and "Đảng bộ xã số 6" in (second.text or "")
    assert buttons(second) == [("◀ Cũ hơn", "srch:2:dang"), ("Mới hơn ▶", "srch:0:dang")]
    bot.press(READER, second.message_id, "srch:2:dang")
    last = bot.emulator.messages(READER)[-1]
    assert (last.text or "").count("•") == 2 and buttons(last) == [("Mới hơn ▶", "srch:1:dang")]
    bot.press(READER, last.message_id, "srch:1:dang")
    assert "trang 2/3" in (bot.emulator.messages(READER)[-1].text or "")


def test_no_words_get_a_hint_and_no_results_echo_the_query_escaped(
    bot: RunningBot, factory: sessionmaker[Session]
) -> None:
    seed(factory)
    assert "Cách dùng: /search" in (bot.ask(READER, "/search").text or "")
    assert "Cách dùng: /search" in (bot.ask(READER, "/search 🙂 !!! \u200b").text or "")
    assert "Usage: /search" in (bot.ask(EN_READER, "/search").text or "")
    none = bot.ask(READER, "/search <zzz> & qqq")
    assert none.text == "Không tìm thấy bài nào cho “<zzz> & qqq”."
    long = bot.ask(EN_READER, "/search " + "khongco " * 3_000)
    assert (long.text or "").startswith("No articles found for “khongco")
    assert len(long.text or "") < 160


@pytest.mark.parametrize(
    "text",
    [
        "/search " + "á" * 20_000,
        "/search " + unicodedata.normalize("NFD", "Đảng bộ"),
        "/search d\u200bang",
        '/search "dang" OR * NEAR(bo) -x :y',
        "/search \u202edang\u202c",
        "/search \x00",
    ],
)
def test_hostile_search_input_is_answered_never_an_apology(
    bot: RunningBot, factory: sessionmaker[Session], text: str
) -> None:
    seed(factory)
    reply = bot.ask(READER, text).text or ""
    assert reply and "Xin lỗi" not in reply


def test_a_query_too_long_for_button_data_gets_no_buttons(
    bot: RunningBot, factory: sessionmaker[Session]
) -> None:
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet"
    for n in range(7):
        store_article(factory, extracted(n, title=f"{words} {n}", published_at=T0))
    reply = bot.ask(READER, f"/search {words}")
    assert "7 bài – trang 1/2" in (reply.text or "") and buttons(reply) == []
    short = bot.ask(READER, "/search alpha bravo")
    assert buttons(short) == [("◀ Cũ hơn", "srch:1:alpha bravo")]


@pytest.mark.parametrize(
    "data", ["srch:", "srch:x:dang", "srch:99:dang", "srch:0:", "srch:0:🙂", "srch:0:zzzz"]
)
def test_stale_or_forged_search_buttons_get_a_short_answer(
    bot: RunningBot, factory: sessionmaker[Session], data: str
) -> None:
    seed(factory)
    message_id = bot.send_with_buttons(READER, data)
    assert bot.press(READER, message_id, data)["text"] == STALE
    assert bot.emulator.messages(READER)[-1].edits == []


def test_a_forged_button_with_fts_syntax_is_folded_not_parsed(
    bot: RunningBot, factory: sessionmaker[Session]
) -> None:
    seed(factory)
    data = 'srch:0:"dang" OR NEAR(*'
    message_id = bot.send_with_buttons(READER, data)
    assert bot.press(READER, message_id, data)["text"] == STALE  # "dang or near" matches nothing


def test_search_in_a_group_answers_only_when_addressed(
    bot: RunningBot, factory: sessionmaker[Session]
) -> None:
    seed(factory)
    group = bot.emulator.create_chat("group", title="Nhóm")["id"]
    bot.emulator.inject_message(group, "/search@otherbot dang", user_id=READER)
    reply = bot.ask(group, f"/search@{BOT_USERNAME} gia lua", user_id=READER)
    assert "Giá lúa tăng" in (reply.text or "")
    assert len(bot.emulator.sent(group)) == 1


def test_inline_query_offers_matching_articles_escaped(
    bot: RunningBot, factory: sessionmaker[Session]
) -> None:
    seed(factory)
    answer = inline(bot, "đặc biệt")
    assert answer["cache_time"] is not None and answer["cache_time"] <= 60
    (result,) = answer["results"]
    assert result["type"] == "article"
    assert result["title"] == "Tin <b>đặc biệt</b> & co"
    assert result["description"] == "Lead <i>x</i> & y"
    assert result["url"] == "http://portal.test/tin-tuc/bai-100-100.html"
    content = result["input_message_content"]
    assert content["parse_mode"] == "HTML"
    assert content["message_text"] == (
        '<b><a href="http://portal.test/tin-tuc/bai-100-100.html">'
        "Tin &lt;b&gt;đặc biệt&lt;/b&gt; &amp; co</a></b>\n"
        "Lead &lt;i&gt;x&lt;/i&gt; &amp; y"
    )
    assert answer["next_offset"] in (None, "")


def test_inline_results_page_by_next_offset_and_prefix_follows_typing(
    bot: RunningBot, factory: sessionmaker[Session]
) -> None:
    seed(factory, count=25)
    first = inline(bot, "dang b")  # "b…" as the reader is still typing "bộ"
    assert len(first["results"]) == 20 and first["next_offset"] == "1"
    assert first["results"][0]["title"] == "Đại hội Đảng bộ xã số 24"
    second = inline(bot, "dang b", offset=first["next_offset"])
    assert [r["title"] for r in second["results"]] == [
        f"Đại hội Đảng bộ xã số {n}" for n in (4, 3, 2, 1, 0)
    ]
    assert second["next_offset"] in (None, "")
    ids = [r["id"] for r in first["results"] + second["results"]]
    assert len(set(ids)) == 25
    assert inline(bot, "dang b", offset="junk")["results"][0] == first["results"][0]
    assert inline(bot, "dang b", offset="999")["results"] == []
    assert inline(bot, "khong co gi")["results"] == []


def test_an_empty_inline_query_offers_the_latest(
    bot: RunningBot, factory: sessionmaker[Session]
) -> None:
    seed(factory, count=3)
    answer = inline(bot, "", user_id=EN_READER)
    titles = [r["title"] for r in answer["results"]]
    assert titles[0] == "Đại hội Đảng bộ xã số 2" and len(titles) == 5
    assert inline(bot, "   🙂 ")["results"] == answer["results"]


def test_inline_on_an_empty_database(bot: RunningBot) -> None:
    assert inline(bot, "")["results"] == []
    assert inline(bot, "dang")["results"] == []
    assert "Không tìm thấy" in (bot.ask(READER, "/search dang").text or "")
