"""Editors' commands through the real bot and the Bot API emulator.

An editor and a non-editor call every editor command with good, missing and
bad arguments; republish and withdraw act only on a confirmation tap by an
editor; pauses survive a restart of the bot; the menu shows editor commands
only in editors' chats.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.commands.fallback import COMMANDS, EDITOR_COMMANDS
from bot.i18n import t
from bot.publisher import Publisher
from config.loader import load_settings
from config.settings import Settings
from news.announce import plan_announcements
from news.ledger import mark_failed, mark_sent
from news.models import Article, ArticleStatus, Delivery, DeliveryState, Pause
from telegram_emulator import Emulator
from telegram_emulator.models import MessageRecord
from tests.bot.running_bot import BOT_ID, TOKEN, RunningBot, running_bot
from tests.bot.test_reader_commands import buttons
from tests.helpers import extracted, store_article
from tests.sites.slug_portal import SlugPortal

EDITOR = 6001  # English client
EDITOR_VI = 6002
READER = 6003  # not an editor (Vietnamese)
READER_EN = 6004  # not an editor (English)
GROUP = -100666
CHANNEL = "@tin_tuc"


@pytest.fixture
def settings(telegram_emulator: Emulator, tmp_path: Path, slug_portal: SlugPortal) -> Settings:
    return load_settings(
        None,
        environ={
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": telegram_emulator.base_url,
            "LOA_DATA_DIR": str(tmp_path / "data"),
            "LOA_EDITORS": f"{EDITOR},{EDITOR_VI}",
            "LOA_EDITORS_CHAT": str(GROUP),
        },
        overrides={
            "sources": [
                {
                    "name": "slug",
                    "url": slug_portal.listing_url,
                    "profile": "news-modern",
                    "announce_first_poll": 1,
                }
            ],
            "channels": [{"chat": CHANNEL}, {"chat": "@no_rights"}],
            "routes": [{"channel": CHANNEL}],
        },  # fmt: skip
    )


@pytest.fixture
def bot(
    telegram_emulator: Emulator, settings: Settings, factory: sessionmaker[Session]
) -> Iterator[RunningBot]:
    emulator = telegram_emulator
    emulator.set_limits(enabled=False)
    for user, code in ((EDITOR, "en"), (EDITOR_VI, "vi"), (READER, "vi"), (READER_EN, "en")):
        emulator.create_user(user, f"User {user}", language_code=code)
    emulator.create_chat("supergroup", chat_id=GROUP, title="Newsroom")
    emulator.create_chat("channel", chat_id=-100777, username="tin_tuc", title="Tin tức")
    emulator.create_chat("channel", chat_id=-100778, username="no_rights", bot_status="member")
    with running_bot(emulator, settings, factory) as running:
        yield running


def said(bot: RunningBot, chat: int, text: str, count: int, user: int | None = None) -> list[str]:
    """Write `text` and return the bot's next `count` messages' text."""
    before = len(bot.emulator.sent(chat))
    bot.emulator.inject_message(chat, text, user_id=user)
    got = bot.wait_for(
        lambda: (
            bot.emulator.sent(chat)[before : before + count]
            if len(bot.emulator.sent(chat)) >= before + count
            else None
        ),
        timeout=20,
    )
    return [m.text or "" for m in got]


def press_as(bot: RunningBot, chat: int, message_id: int, data: str, user: int) -> dict[str, Any]:
    """A user (in a group: any member) presses a button; the bot's answerCallbackQuery."""
    before = len(bot.emulator.answers())
    bot.emulator.inject_callback_query(chat, message_id, data, user_id=user)
    answer: dict[str, Any] = bot.wait_for(lambda: bot.emulator.answers()[before:])[0]
    return answer


def article(factory: sessionmaker[Session], n: int = 1, **fields: object) -> int:
    article_id = store_article(factory, extracted(n, **fields)).article_id  # type: ignore[arg-type]
    assert article_id is not None
    return article_id


def rows(factory: sessionmaker[Session], article_id: int) -> list[Delivery]:
    with factory() as session:
        query = select(Delivery).where(Delivery.article_id == article_id).order_by(Delivery.id)
        return list(session.scalars(query))


def post_now(factory: sessionmaker[Session], publisher: Publisher, article_id: int) -> None:
    """Publish every pending row of the article, as a worker would."""
    for row in rows(factory, article_id):
        if row.state == DeliveryState.PENDING:
            publisher.publish(row.id)


def edited(bot: RunningBot, chat: int, message_id: int, old: str) -> MessageRecord:
    """The message once the bot has edited it away from `old`."""
    record: MessageRecord = bot.wait_for(
        lambda: (m := bot.message(chat, message_id)).text != old and m
    )
    return record


# --- who is an editor -------------------------------------------------------------------

GOOD_ARGS = {
    "status": "", "find": "hội nghị", "republish": "1", "post": "http://127.0.0.1:1/x",
    "preview": "1", "withdraw": "1", "poll": "slug", "pause": "all", "resume": "all",
    "retry": "", "sources": "", "channels": "", "addsource": "http://127.0.0.1:1/",
}  # fmt: skip


def test_a_non_editor_is_refused_every_command_in_their_language_and_logged(
    bot: RunningBot, factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    article_id = article(factory)
    assert set(GOOD_ARGS) == set(EDITOR_COMMANDS)
    caplog.set_level(logging.WARNING, logger="bot.commands.editor_guard")
    for command, args in GOOD_ARGS.items():
        text = f"/{command} {args}".strip()
        assert bot.ask(READER, text).text == "Bạn không có quyền dùng lệnh này.", command
        assert bot.ask(READER_EN, text).text == "You are not permitted to use this command."
        # in the editors' group too: the person counts, not the chat
        [answer] = said(bot, GROUP, text, 1, user=READER)
        assert answer == "Bạn không có quyền dùng lệnh này."
    refusals = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(refusals) == 3 * len(GOOD_ARGS)
    assert all(str(READER) in r.getMessage() or str(READER_EN) in r.getMessage()
               for r in refusals)  # fmt: skip
    assert "/withdraw" in refusals[15].getMessage()
    with factory() as session:  # nothing happened
        assert session.get_one(Article, article_id).status == ArticleStatus.ACTIVE
        assert session.scalars(select(Pause)).all() == []
    assert rows(factory, article_id) == []


def test_the_menu_shows_editor_commands_only_in_editors_chats(
    bot: RunningBot, telegram_emulator: Emulator
) -> None:
    menus = telegram_emulator.bot(BOT_ID).commands
    for scope in ("default::", "default::vi", "default::en"):
        assert [c["command"] for c in menus[scope]] == list(COMMANDS)
    for chat in (EDITOR, EDITOR_VI, GROUP):
        for code, language in (("", "vi"), ("vi", "vi"), ("en", "en")):
            menu = menus[f"chat:{chat}:{code}"]
            assert [c["command"] for c in menu] == list(COMMANDS) + list(EDITOR_COMMANDS)
            assert menu[-1]["description"] == t(language, "cmd_channels")
    assert not any(f":{READER}:" in scope for scope in menus)


# --- arguments --------------------------------------------------------------------------

USAGE = {
    "/republish": "Usage: /republish",
    "/republish 1 @a extra": "Usage: /republish",
    "/find": "Usage: /find",
    "/post": "Usage: /post",
    "/post a b": "Usage: /post",
    "/preview": "Usage: /preview",
    "/withdraw": "Usage: /withdraw",
    "/withdraw 1 2": "Usage: /withdraw",
    "/poll a b": "Usage: /poll",
    "/pause": "Usage: /pause",
    "/resume": "Usage: /resume",
    "/status now": "This command takes no arguments: /status",
    "/sources x": "This command takes no arguments: /sources",
    "/channels x": "This command takes no arguments: /channels",
    "/retry a b": "Usage: /retry [chat]",
    "/republish 999": "Not done: no article #999",
    "/republish abc": "Not done: 'abc' is neither an article id nor a URL",
    "/withdraw 9999999999": "Not done: no article #9999999999",
    "/preview http://127.0.0.2:9/none": "Not done: ",  # not stored, and not a host Loa may fetch
    "/preview abc": "Not done: 'abc' is neither an article id nor a URL",
    "/pause banana": "Not done: cannot pause 'banana'",
    "/pause source nosuch": "No source called “nosuch”. See /sources.",
    "/pause all extra": "Not done: 'all' pauses everything and takes no name",
    "/resume source slug": "source slug is not paused.",
    "/find <b>zzzq</b>": "No articles found for “<b>zzzq</b>”.",
    "/post ftp://x": "Not done: url: only http(s) addresses with a host are accepted",
}


def test_missing_and_bad_arguments_get_a_one_line_answer(bot: RunningBot) -> None:
    for text, expected in USAGE.items():
        answer = bot.ask(EDITOR, text).text or ""
        assert answer.startswith(expected), (text, answer)
        if expected.startswith("Usage"):
            assert "\n" not in answer
    [first, result] = said(bot, EDITOR, "/poll nosuch", 2)
    assert first == "Polling nosuch…"
    assert result.startswith("nosuch: failed – no source named 'nosuch'")
    vi = bot.ask(EDITOR_VI, "/withdraw").text
    assert vi == "Cách dùng: /withdraw <số bài>, ví dụ /withdraw 12"


# --- republish, withdraw and their buttons ----------------------------------------------


def test_republish_asks_first_and_only_an_editors_tap_posts_again(
    bot: RunningBot, settings: Settings, factory: sessionmaker[Session], publisher: Publisher
) -> None:
    article_id = article(factory, title="Hội nghị <tổng kết> & báo chí")
    for planned in plan_announcements(factory, [article_id], settings.effective_routes()):
        publisher.publish(planned.delivery_id)
    assert len(bot.emulator.sent(-100777)) == 1

    [question] = said(bot, GROUP, f"/republish {article_id}", 1, user=EDITOR)
    assert question == (
        f"Republish #{article_id} “Hội nghị <tổng kết> & báo chí” (new)\nto: {CHANNEL}?"
    )
    message = bot.emulator.sent(GROUP)[-1]
    data = f"ed:rpy:{article_id}:0"
    assert buttons(message) == [("✅ Republish", data), ("Cancel", "ed:no")]
    assert len(rows(factory, article_id)) == 1  # asking changed nothing

    answer = press_as(bot, GROUP, message.message_id, data, user=READER)
    assert answer["text"] == "Bạn không có quyền dùng lệnh này."
    assert len(rows(factory, article_id)) == 1

    press_as(bot, GROUP, message.message_id, data, user=EDITOR_VI)  # another editor may confirm
    done = edited(bot, GROUP, message.message_id, question)
    assert done.text == f"Đã đăng lại #{article_id} (lần 1) tới: {CHANNEL}."
    assert buttons(done) == []
    again = [r for r in rows(factory, article_id) if r.generation == 1]
    assert [(r.chat_id, r.state) for r in again] == [(CHANNEL, DeliveryState.PENDING)]
    post_now(factory, publisher, article_id)
    assert len(bot.emulator.sent(-100777)) == 2

    # the same question tapped again (an old message, a forged copy): nothing more
    stale = bot.send_with_buttons(EDITOR, data)
    bot.press(EDITOR, stale, data)
    assert edited(bot, EDITOR, stale, "buttons").text == t("en", "ed_already_republished")
    assert len(rows(factory, article_id)) == 2
    # one chat only, named by the editor
    [one] = said(bot, EDITOR, f"/republish {article_id} {CHANNEL}", 1)
    assert one.endswith(f"to: {CHANNEL}?")
    assert buttons(bot.emulator.sent(EDITOR)[-1])[0][1] == f"ed:rpy:{article_id}:1:{CHANNEL}"


def test_find_shows_ids_states_and_posts_with_a_republish_button_each(
    bot: RunningBot, factory: sessionmaker[Session], publisher: Publisher
) -> None:
    first = article(factory, 1, title="Hội nghị tuyên giáo toàn tỉnh")
    second = article(factory, 2, title="Hội nghị báo chí cuối năm")
    with factory() as session:
        session.add(Delivery(article_id=first, chat_id=CHANNEL, state=DeliveryState.SENT,
                             message_ids=[7], methods=["sendMessage"]))  # fmt: skip
        session.commit()
    reply = bot.ask(EDITOR, "/find hoi nghi")
    text = reply.text or ""
    assert text.startswith("Results for “hoi nghi”:")
    assert f"#{first} “Hội nghị tuyên giáo toàn tỉnh” (new)\nposted: {CHANNEL} (sent)" in text
    assert f"#{second} “Hội nghị báo chí cuối năm” (new)\nnot posted to any chat" in text
    labels = dict(buttons(reply))
    assert labels[f"🔁 Republish #{first}"] == f"ed:rp:{first}"
    bot.press(EDITOR, reply.message_id, f"ed:rp:{first}")
    question = bot.wait_for(lambda: bot.emulator.sent(EDITOR)[-1].text.startswith("Republish")
                            and bot.emulator.sent(EDITOR)[-1])  # fmt: skip
    assert buttons(question)[0] == ("✅ Republish", f"ed:rpy:{first}:0")
    by_id = bot.ask(EDITOR, f"/find {second}").text or ""
    assert f"#{second}" in by_id and f"#{first}" not in by_id


def test_withdraw_asks_then_takes_the_article_down_once(
    bot: RunningBot, factory: sessionmaker[Session]
) -> None:
    article_id = article(factory)
    question = bot.ask(EDITOR, f"/withdraw #{article_id}")
    assert (question.text or "").startswith(f"Withdraw #{article_id} “")
    assert buttons(question) == [("🗑 Withdraw", f"ed:wdy:{article_id}"), ("Cancel", "ed:no")]
    cancel = bot.ask(EDITOR, f"/withdraw {article_id}")
    asked = cancel.text or ""
    bot.press(EDITOR, cancel.message_id, "ed:no")
    assert edited(bot, EDITOR, cancel.message_id, asked).text == "Cancelled."
    with factory() as session:
        assert session.get_one(Article, article_id).status == ArticleStatus.ACTIVE
    asked = question.text or ""
    bot.press(EDITOR, question.message_id, f"ed:wdy:{article_id}")
    done = edited(bot, EDITOR, question.message_id, asked)
    assert done.text == f"Withdrew #{article_id}; its posts are being deleted or marked."
    with factory() as session:
        assert session.get_one(Article, article_id).status == ArticleStatus.WITHDRAWN
    assert bot.ask(EDITOR, f"/withdraw {article_id}").text == (
        f"Article #{article_id} is withdrawn already."
    )
    assert "(withdrawn)" in (bot.ask(EDITOR, f"/find {article_id}").text or "")
    assert (bot.ask(EDITOR, f"/republish {article_id}").text or "").endswith("is withdrawn")


def test_forged_editor_buttons_do_nothing(bot: RunningBot, factory: sessionmaker[Session]) -> None:
    article_id = article(factory)
    forged = bot.send_with_buttons(READER, f"ed:wdy:{article_id}", "ed:retry")
    assert bot.press(READER, forged, f"ed:wdy:{article_id}")["text"] == t("vi", "not_permitted")
    assert bot.press(READER, forged, "ed:retry")["text"] == t("vi", "not_permitted")
    with factory() as session:
        assert session.get_one(Article, article_id).status == ArticleStatus.ACTIVE
    junk = bot.send_with_buttons(EDITOR, "ed:rpy:x", "ed:wdy:1:2", "ed:" + "9" * 60)
    for data in ("ed:rpy:x", "ed:wdy:1:2", "ed:" + "9" * 60):
        assert bot.press(EDITOR, junk, data)["text"] == "This button is out of date."


# --- post, preview, poll ----------------------------------------------------------------


def test_preview_sends_the_exact_post_here(
    bot: RunningBot, settings: Settings, factory: sessionmaker[Session], publisher: Publisher
) -> None:
    article_id = article(factory, title="Tin <b>đậm</b> & rõ")
    for planned in plan_announcements(factory, [article_id], settings.effective_routes()):
        publisher.publish(planned.delivery_id)
    [posted] = bot.emulator.sent(-100777)
    texts = said(bot, EDITOR, f"/preview {article_id}", 2)
    assert texts[0] == f"Preview of #{article_id} “Tin <b>đậm</b> & rõ” (new) for {CHANNEL}:"
    shown = bot.emulator.sent(EDITOR)[-1]
    assert (shown.method, shown.text, shown.caption, shown.entities, shown.reply_markup) == (
        posted.method,
        posted.text,
        posted.caption,
        posted.entities,
        posted.reply_markup,
    )
    assert len(bot.emulator.sent(-100777)) == 1  # nothing went to the channel


def test_preview_of_a_new_url_fetches_and_shows_it_without_storing(
    bot: RunningBot, factory: sessionmaker[Session], slug_portal: SlugPortal
) -> None:
    url = slug_portal.url_of(102)
    texts = said(bot, EDITOR, f"/preview {url} {CHANNEL}", 2)
    assert texts[0].startswith("Preview of “Khánh thành cầu dân sinh")
    assert texts[0].endswith(f"” (not stored yet) for {CHANNEL}:")
    assert "Khánh thành cầu dân sinh" in texts[1]
    with factory() as session:
        assert session.scalars(select(Article)).first() is None  # nothing stored
    assert bot.emulator.sent(-100777) == []  # nothing posted


def test_post_fetches_stores_and_plans_or_says_why_not(
    bot: RunningBot, factory: sessionmaker[Session], slug_portal: SlugPortal
) -> None:
    url = slug_portal.url_of(102)
    [reply] = said(bot, EDITOR, f"/post {url}", 1)
    assert reply.startswith("Stored #") and "“Khánh thành cầu dân sinh" in reply
    assert reply.endswith(f"– new.\nSending 1 messages to: {CHANNEL}")
    with factory() as session:
        stored = session.scalars(select(Article)).one()
    assert [(r.chat_id, r.state) for r in rows(factory, stored.id)] == [
        (CHANNEL, DeliveryState.PENDING)
    ]
    mark_sent(factory, rows(factory, stored.id)[0].id, [1])
    [again] = said(bot, EDITOR, f"/post {url}", 1)
    assert "– unchanged." in again and again.endswith("Nothing new to send (already sent, "
                                                      "or no chat takes it).")  # fmt: skip
    [refused] = said(bot, EDITOR, "/post http://127.0.0.2:8/x.html", 1)
    assert refused.startswith("Not done: ") and "127.0.0.2" in refused


def test_poll_answers_with_what_it_found_when_it_ends(
    bot: RunningBot, factory: sessionmaker[Session]
) -> None:
    started, result = said(bot, EDITOR, "/poll", 2)
    assert started == "Polling slug…"
    assert result == "slug: 3 new, 0 updated, 0 withdrawn, 0 errors"
    with factory() as session:
        assert len(session.scalars(select(Article)).all()) == 3
    _, again = said(bot, EDITOR, "/poll slug", 2)
    assert again == "slug: 0 new, 0 updated, 0 withdrawn, 0 errors"


# --- status, pauses, retry, sources, channels ---------------------------------------------


def test_status_shows_problems_and_its_buttons_act(
    bot: RunningBot, factory: sessionmaker[Session]
) -> None:
    article_id = article(factory)
    with factory() as session:
        session.add(Delivery(article_id=article_id, chat_id=CHANNEL, state=DeliveryState.PENDING))
        session.commit()
        delivery_id = session.scalars(select(Delivery.id)).one()
    mark_failed(factory, delivery_id, "Forbidden: bot <was> kicked")
    assert bot.ask(EDITOR, "/pause chat @tin_tuc").text == "Paused: chat @tin_tuc."
    status = bot.ask(EDITOR, "/status")
    text = status.text or ""
    assert text.startswith("Loa status\nSources:\n✅ portal – last success: never")
    assert "Deliveries in the last hour: pending 0, sending 0, sent 0, failed 1" in text
    assert "Waiting to be sent: 0" in text
    assert "Paused:\n• chat @tin_tuc (" in text and text.endswith(f", {EDITOR})")
    assert buttons(status) == [("🔁 Retry failed", "ed:retry"), ("▶ Resume all", "ed:resume")]
    answer = bot.press(EDITOR, status.message_id, "ed:retry")
    assert answer["text"] == "1 failed deliveries are pending again."
    assert rows(factory, article_id)[0].state == DeliveryState.PENDING
    assert bot.press(EDITOR, status.message_id, "ed:resume")["text"] == "Lifted 1 pauses."
    assert (bot.ask(EDITOR, "/status").text or "").endswith("Nothing is paused.")
    vi = bot.ask(EDITOR_VI, "/status").text or ""
    assert vi.startswith("Tình trạng Loa") and "Không có gì bị tạm dừng." in vi


def test_a_pause_survives_a_restart_of_the_bot(
    telegram_emulator: Emulator, settings: Settings, factory: sessionmaker[Session]
) -> None:
    telegram_emulator.set_limits(enabled=False)
    telegram_emulator.create_user(EDITOR, "Editor", language_code="en")
    with running_bot(telegram_emulator, settings, factory) as first:
        assert first.ask(EDITOR, "/pause source slug").text == "Paused: source slug."
        assert first.ask(EDITOR, "/pause source slug").text == "source slug was paused already."
    time.sleep(0.1)
    with running_bot(telegram_emulator, settings, factory) as second:
        text = second.ask(EDITOR, "/status").text or ""
        assert "Paused:\n• source slug (" in text
        sources = second.ask(EDITOR, "/sources").text or ""
        assert "slug – http://" in sources and "⏸ paused" in sources
        assert second.ask(EDITOR, "/resume source slug").text == "Resumed: source slug."
        assert "Nothing is paused." in (second.ask(EDITOR, "/status").text or "")


def test_channels_checks_the_bots_rights_like_loa_channels(bot: RunningBot) -> None:
    checking, result = said(bot, EDITOR, "/channels", 2)
    assert checking == "Checking the bot's rights in 2 chats…"
    assert result.startswith("Chats:\n✅ @tin_tuc (Tin tức): may post and edit\n⚠️ @no_rights: ")
    sources = bot.ask(EDITOR, "/sources").text or ""
    assert sources.startswith(
        "Sources:\n✅ slug – last success: never\n   slug – http://127.0.0.1:"
    )
