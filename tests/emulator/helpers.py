"""Small helpers shared by the emulator tests (no fixtures here)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import Bot

from telegram_emulator import Emulator

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawq"
T = TypeVar("T")


def make_bot(emulator: Emulator, token: str = TOKEN) -> Bot:
    """A python-telegram-bot Bot pointed at the emulator."""
    return Bot(token, base_url=emulator.base_url, base_file_url=emulator.file_base_url)


def run_with_bot(emulator: Emulator, body: Callable[[Bot], Awaitable[T]], token: str = TOKEN) -> T:
    """Run an async test body with an initialised Bot inside asyncio.run."""

    async def main() -> T:
        async with make_bot(emulator, token) as bot:
            return await body(bot)

    return asyncio.run(main())
