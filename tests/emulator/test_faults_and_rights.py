"""Rights, blocked users, migration and injected faults surface as PTB's exceptions."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time

import pytest
from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from telegram_emulator import Emulator

from .helpers import TOKEN, run_with_bot


def test_rights_blocking_and_unknown_chats(telegram_emulator: Emulator) -> None:
    telegram_emulator.create_chat("channel", username="gone", bot_status="left")
    telegram_emulator.create_chat(
        "channel", username="readonly", bot_status="administrator", can_post_messages=False
    )
    telegram_emulator.create_user(2002, "Bob")
    telegram_emulator.block_user(2002)

    async def body(bot: Bot) -> None:
        with pytest.raises(Forbidden, match="bot is not a member of the channel chat"):
            await bot.send_message("@gone", "x")
        with pytest.raises(BadRequest, match="Need administrator rights in the channel chat"):
            await bot.send_message("@readonly", "x")
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(2002, "x")
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(-1009999, "x")
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.get_chat("@nobody")
        telegram_emulator.block_user(2002, blocked=False)
        telegram_emulator.set_bot_rights("@gone", bot_id=bot.id)
        await bot.send_message(2002, "back")
        await bot.send_message("@gone", "rejoined")

    run_with_bot(telegram_emulator, body)


def test_migrated_group(telegram_emulator: Emulator) -> None:
    group = telegram_emulator.create_chat("group", title="Editors")
    new_id = telegram_emulator.migrate_group(group["id"])

    async def body(bot: Bot) -> None:
        with pytest.raises(ChatMigrated) as info:
            await bot.send_message(group["id"], "hi")
        assert info.value.new_chat_id == new_id
        sent = await bot.send_message(new_id, "hi")
        assert sent.chat.type == "supergroup"

    run_with_bot(telegram_emulator, body)


def test_injected_faults(telegram_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    telegram_emulator.create_chat("channel", username="c")
    telegram_emulator.add_fault("retry_after", chat_id="@c", retry_after=7, times=1)
    telegram_emulator.add_fault("kicked", chat_id="@c", times=1)
    telegram_emulator.add_fault("chat_not_found", chat_id="@c", times=1)
    telegram_emulator.add_fault("migrate", chat_id="@c", migrate_to_chat_id=-100123, times=1)
    telegram_emulator.add_fault("bad_gateway", times=1, methods=["sendMessage"])
    telegram_emulator.add_fault("server_error", times=1, methods=["sendMessage"])

    async def body(bot: Bot) -> None:
        with pytest.raises(RetryAfter) as retry:
            await bot.send_message("@c", "x")
        assert retry.value.retry_after == dtm.timedelta(seconds=7)
        with pytest.raises(Forbidden, match="(?i)kicked from the channel chat"):
            await bot.send_message("@c", "x")
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message("@c", "x")
        with pytest.raises(ChatMigrated) as moved:
            await bot.send_message("@c", "x")
        assert moved.value.new_chat_id == -100123
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message("@c", "x")
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message("@c", "x")
        assert (await bot.send_message("@c", "finally")).text == "finally"

    run_with_bot(telegram_emulator, body)
    assert [m.text for m in telegram_emulator.messages()] == ["finally"]
    assert telegram_emulator.faults() == []


def test_duration_faults_and_clear(telegram_emulator: Emulator) -> None:
    telegram_emulator.create_chat("channel", username="c")
    telegram_emulator.add_fault("blocked", duration=60, methods=["sendMessage"])

    async def body(bot: Bot) -> None:
        for _ in range(2):
            with pytest.raises(Forbidden):
                await bot.send_message("@c", "x")
        await bot.get_chat("@c")  # other methods unaffected
        telegram_emulator.advance_clock(61)
        await bot.send_message("@c", "x")
        telegram_emulator.add_fault("server_error", chat_id="@c")
        telegram_emulator.clear_faults("@c")
        await bot.send_message("@c", "y")

    run_with_bot(telegram_emulator, body)


def test_timeout_and_latency(telegram_emulator: Emulator) -> None:
    telegram_emulator.create_chat("channel", username="c")

    async def main() -> None:
        request = HTTPXRequest(read_timeout=0.3)
        async with Bot(TOKEN, base_url=telegram_emulator.base_url, request=request) as bot:
            telegram_emulator.add_fault("timeout", times=1)
            with pytest.raises(TimedOut):
                await bot.send_message("@c", "x")
            telegram_emulator.add_fault("latency", seconds=0.2, times=1)
            started = time.monotonic()
            await bot.send_message("@c", "slow")
            assert time.monotonic() - started >= 0.2

    asyncio.run(main())
    started = time.monotonic()
    telegram_emulator.stop()  # the hung request must not hold up shutdown
    assert time.monotonic() - started < 3
