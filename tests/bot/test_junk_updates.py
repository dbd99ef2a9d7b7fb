"""Junk updates never crash a handler: the real bot polling the emulator.

What tests/bot/test_reader_commands.py already drives (huge and odd `/latest`
input, plain text and unknown commands in private, other bots' commands in a
group) is not repeated here; this adds every command in `COMMANDS` with huge
and odd arguments, stickers, edits, channel posts, forwards, group addressing
for every command, and failing databases end to end.

"Nothing happened" is checked with a sentinel: updates are handled in order,
so when the reply to a later `/help` is the next message in the chat, the junk
before it got no reply. And no update may reach the error handler.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.commands.fallback import COMMANDS
from bot.i18n import t
from config.settings import Settings
from news.db import make_engine, make_session_factory
from telegram_emulator import Emulator
from tests.bot.running_bot import BOT_USERNAME, RunningBot, running_bot
from tests.helpers import extracted, store_article

READER = 2001
EN_READER = 2002
APOLOGIES = {t("vi", "error"), t("en", "error")}
HUGE = "á" * 20_000
ODD = [
    unicodedata.normalize("NFD", "Tuyên giáo Đảng"),
    "tuy\u200ben\u200b gi\u200dáo\ufeff",
    "\u202eoaig neyut\u202c \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",
    "\u200b",
    "a\u0301\u0301\u0301\u0301\u0301",  # stacked combining marks
]


@pytest.fixture
def bot(
    telegram_emulator: Emulator,
    settings: Settings,
    factory: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
) -> Iterator[RunningBot]:
    telegram_emulator.set_limits(enabled=False)
    telegram_emulator.create_user(READER, "Lan", language_code="vi")
    telegram_emulator.create_user(EN_READER, "Ann", language_code="en")
    store_article(factory, extracted(1))
    caplog.set_level(logging.INFO, logger="bot")
    with running_bot(telegram_emulator, settings, factory) as running:
        yield running
    records = caplog.get_records("setup") + caplog.get_records("call")
    failures = [r.getMessage() for r in records if r.levelno >= logging.ERROR]
    assert failures == [], failures  # no junk reached the error handler


def nothing_then_help(bot: RunningBot, chat_id: int, user_id: int | None = None) -> None:
    """Assert the updates injected before this got no reply: the next message answers /help."""
    before = len(bot.emulator.sent(chat_id))
    bot.emulator.inject_message(chat_id, f"/help@{BOT_USERNAME}", user_id=user_id)
    helps = {t("vi", "help"), t("en", "help")}
    bot.wait_for(lambda: any(m.text in helps for m in bot.emulator.sent(chat_id)[before:]))
    texts = [m.text for m in bot.emulator.sent(chat_id)[before:]]
    assert len(texts) == 1 and texts[0] in helps, texts


def answered_sanely(bot: RunningBot, chat_id: int, text: str) -> str:
    """The bot's reply to `text`: one message, no apology, under Telegram's limit."""
    reply = bot.ask(chat_id, text).text or ""
    assert reply and reply not in APOLOGIES and len(reply) <= 4096, (text[:40], reply[:200])
    return reply


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_with_a_20000_character_argument(bot: RunningBot, command: str) -> None:
    answered_sanely(bot, READER, f"/{command} {HUGE}")
    answered_sanely(bot, EN_READER, f"/{command} {'x' * 20_000}")
    answered_sanely(bot, READER, f"/{command} " + " ".join(["tin"] * 5_000))


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_with_nfd_zero_width_and_rtl_arguments(bot: RunningBot, command: str) -> None:
    for odd in ODD:
        answered_sanely(bot, READER, f"/{command} {odd}")


def test_odd_plain_text_in_private_gets_the_one_line_hint(bot: RunningBot) -> None:
    hint = t("vi", "plain_text")
    for odd in [*ODD, "x" * 20_000, unicodedata.normalize("NFD", "xin chào " * 2_000)]:
        reply = answered_sanely(bot, READER, odd)
        assert reply == hint and "\n" not in reply
    assert answered_sanely(bot, EN_READER, "\u200f\u200e") == t("en", "plain_text")


def test_unknown_commands_get_the_hint_in_both_languages(bot: RunningBot) -> None:
    assert answered_sanely(bot, READER, "/" + "z" * 32) == t("vi", "unknown_command")
    assert answered_sanely(bot, EN_READER, "/nope " + HUGE) == t("en", "unknown_command")
    assert answered_sanely(bot, READER, f"/nope@{BOT_USERNAME}") == t("vi", "unknown_command")


def test_stickers_get_no_reply_and_no_error(bot: RunningBot) -> None:
    group = bot.emulator.create_chat("supergroup", title="Nhóm")["id"]
    bot.emulator.inject_sticker(READER)
    bot.emulator.inject_sticker(group, user_id=READER, emoji="🔥")
    nothing_then_help(bot, READER)
    nothing_then_help(bot, group, user_id=READER)


def test_an_edited_command_is_not_answered_again(bot: RunningBot) -> None:
    first = bot.ask(READER, "/latest")
    asked = next(m for m in bot.emulator.messages(READER) if m.from_user_id == READER)
    bot.emulator.inject_edited_message(READER, asked.message_id, "/help")
    bot.emulator.inject_edited_message(READER, asked.message_id, "x" * 20_000)
    bot.emulator.inject_edited_message(READER, asked.message_id, "/nope")
    nothing_then_help(bot, READER)
    assert first.edits == []


def test_channel_posts_and_their_edits_get_no_reply(bot: RunningBot) -> None:
    channel = bot.emulator.create_chat("channel", username="loa_junk")["id"]
    for text in ("/latest", f"/help@{BOT_USERNAME}", "tin mới", "/nope", HUGE):
        bot.emulator.inject_message(channel, text)
    post = bot.emulator.inject_message(channel, "/start")["channel_post"]["message_id"]
    bot.emulator.inject_edited_message(channel, post, "/categories")
    nothing_then_help(bot, READER)
    assert bot.emulator.sent(channel) == []


def test_forwarded_posts_are_treated_like_what_they_say(bot: RunningBot) -> None:
    channel = bot.emulator.create_chat("channel", username="loa_src")["id"]
    group = bot.emulator.create_chat("group", title="Nhóm")["id"]
    bot.emulator.inject_message(READER, "Tin hay " + HUGE, forward_from=channel)
    assert bot.wait_for(lambda: bot.emulator.sent(READER))[-1].text == t("vi", "plain_text")
    bot.emulator.inject_message(group, "Tin hay", user_id=READER, forward_from=channel)
    bot.emulator.inject_message(group, "chuyển tiếp", user_id=READER, forward_from=EN_READER)
    nothing_then_help(bot, group, user_id=READER)
    before = len(bot.emulator.sent(EN_READER))
    bot.emulator.inject_message(EN_READER, "/latest", forward_from=READER)
    reply = bot.wait_for(lambda: bot.emulator.sent(EN_READER)[before:])[0]
    assert reply.text not in APOLOGIES


@pytest.mark.parametrize("command", COMMANDS)
def test_in_a_group_only_commands_addressed_to_this_bot_are_answered(
    bot: RunningBot, command: str
) -> None:
    group = bot.emulator.create_chat("supergroup", title="Nhóm")["id"]
    bot.emulator.inject_message(group, f"/{command}@otherbot", user_id=READER)
    bot.emulator.inject_message(group, f"/{command}@otherbot {HUGE}", user_id=READER)
    bot.emulator.inject_message(group, "xin chào " + HUGE, user_id=READER)
    bot.emulator.inject_message(group, ODD[1], user_id=READER)
    nothing_then_help(bot, group, user_id=READER)
    reply = bot.ask(group, f"/{command}@{BOT_USERNAME.upper()}", user_id=EN_READER)
    assert reply.text and reply.text not in APOLOGIES


def _failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "bot.commands.fallback" and "failed" in r.msg]


@pytest.mark.parametrize("broken", ["missing directory", "unmigrated"])
def test_a_failing_database_is_logged_once_with_the_update_id_and_apologised_for(
    telegram_emulator: Emulator,
    settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    broken: str,
) -> None:
    """Unreachable (no such directory) or without tables: the reader gets one short apology."""
    path = tmp_path / ("nowhere/loa.db" if broken == "missing directory" else "empty.db")
    factory = make_session_factory(make_engine(f"sqlite:///{path}"))
    telegram_emulator.set_limits(enabled=False)
    telegram_emulator.create_user(READER, "Lan", language_code="vi")
    telegram_emulator.create_user(EN_READER, "Ann", language_code="en-GB")
    caplog.set_level(logging.INFO)
    with running_bot(telegram_emulator, settings, factory) as running:
        update_ids = []
        for chat_id, text in ((READER, "/latest"), (EN_READER, "/categories " + HUGE)):
            before = len(running.emulator.sent(chat_id))
            update_ids.append(running.emulator.inject_message(chat_id, text)["update_id"])
            running.wait_for(lambda: running.emulator.sent(chat_id)[before:])  # noqa: B023
            replies = running.emulator.sent(chat_id)[before:]
            assert replies[0].text == t("vi" if chat_id == READER else "en", "error")
        # what needs no database still works, and is not an error
        assert "/latest" in (running.ask(READER, "/help").text or "")
    failures = _failures(caplog)
    assert len(failures) == 2
    for record, update_id in zip(failures, update_ids, strict=True):
        assert re.search(rf"\bupdate {update_id}\b", record.getMessage())
        assert record.exc_info is not None  # the trace is logged, never sent
    assert len(telegram_emulator.sent(READER)) == 2 and len(telegram_emulator.sent(EN_READER)) == 1
