"""The real bot (bot.app.build_application) long-polling the emulator in a thread.

Tests inject updates into the emulator and wait for what the bot sends back,
exactly as a reader's client and Telegram would see it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker
from telegram.ext import Application

from bot.app import build_application
from config.settings import Settings
from telegram_emulator import Emulator
from telegram_emulator.models import MessageRecord

TOKEN = "123456:" + "A" * 35
BOT_ID = 123456
BOT_USERNAME = "emulated_123456_bot"


class RunningBot:
    """A handle on the polling bot: inject, then wait for the emulator's records."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def wait_for(self, what: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Poll `what` until it returns something truthy (the bot works concurrently)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = what()
            if value:
                return value
            time.sleep(0.02)
        raise AssertionError("the bot did not react in time")

    def ask(self, chat_id: int, text: str, user_id: int | None = None) -> MessageRecord:
        """Write `text` in a chat and return the bot's next message there."""
        before = len(self.emulator.sent(chat_id))
        self.emulator.inject_message(chat_id, text, user_id=user_id)
        sent = self.wait_for(lambda: self.emulator.sent(chat_id)[before:])
        record: MessageRecord = sent[0]
        return record

    def message(self, chat_id: int, message_id: int) -> MessageRecord:
        """The bot's message `message_id` in a chat as it is now (after any edits)."""
        return next(m for m in self.emulator.sent(chat_id) if m.message_id == message_id)

    def press(self, chat_id: int, message_id: int, data: str) -> dict[str, Any]:
        """Press a button and return the bot's answerCallbackQuery call."""
        before = len(self.emulator.answers())
        self.emulator.inject_callback_query(chat_id, message_id, data)
        answers = self.wait_for(lambda: self.emulator.answers()[before:])
        answer: dict[str, Any] = answers[0]
        return answer

    def send_with_buttons(self, chat_id: int, *data: str) -> int:
        """A bot message with arbitrary (e.g. forged) button data, as a tampered client sends."""
        keyboard = {"inline_keyboard": [[{"text": d, "callback_data": d} for d in data]]}
        reply = httpx.post(
            self.emulator.api_url(TOKEN, "sendMessage"),
            json={"chat_id": chat_id, "text": "buttons", "reply_markup": keyboard},
        ).json()
        return int(reply["result"]["message_id"])


@contextmanager
def running_bot(
    emulator: Emulator, settings: Settings, factory: sessionmaker[Session]
) -> Iterator[RunningBot]:
    """Build the application, poll in a background event loop, stop it cleanly after."""
    application = build_application(settings, factory)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop = asyncio.Event()

    async def main(app: Application) -> None:  # type: ignore[type-arg]
        async with app:
            if app.post_init:
                await app.post_init(app)
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0.0, timeout=1)
            started.set()
            await stop.wait()
            await app.updater.stop()
            await app.stop()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(application),))
    thread.start()
    try:
        assert started.wait(15), "the bot did not start"
        yield RunningBot(emulator)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(15)
        loop.close()


@contextmanager
def bot_with_readers(
    emulator: Emulator,
    settings: Settings,
    factory: sessionmaker[Session],
    readers: Mapping[int, str | None],
) -> Iterator[RunningBot]:
    """The running bot with Telegram's rate limits off and these readers (id → language_code)."""
    emulator.set_limits(enabled=False)
    for user_id, language in readers.items():
        emulator.create_user(user_id, f"Reader {user_id}", language_code=language)
    with running_bot(emulator, settings, factory) as running:
        yield running
