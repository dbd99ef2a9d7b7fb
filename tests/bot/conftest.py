"""Fixtures for the bot tests: the Bot API emulator behind PTB, and a publisher on real Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from bot.limiter import Limits, TelegramLimiter
from bot.publisher import Publisher
from bot.senders import TelegramSender
from config.loader import load_settings
from config.settings import Settings
from telegram_emulator import Emulator

TOKEN = "123456:" + "A" * 35


@pytest.fixture
def settings(telegram_emulator: Emulator, tmp_path: Path) -> Settings:
    # A data directory per test: the bot records its username there at start.
    return load_settings(
        None,
        environ={
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": telegram_emulator.base_url,
            "LOA_DATA_DIR": str(tmp_path / "data"),
        },
    )


@pytest.fixture
def sender(telegram_emulator: Emulator) -> Iterator[TelegramSender]:
    telegram_sender = TelegramSender(TOKEN, base_url=telegram_emulator.base_url)
    yield telegram_sender
    telegram_sender.close()


@pytest.fixture
def publisher(
    factory: sessionmaker[Session],
    sender: TelegramSender,
    settings: Settings,
    redis_client: redis.Redis,
) -> Publisher:
    limiter = TelegramLimiter(redis_client, Limits(), prefix=f"loa:test:{uuid.uuid4().hex}")
    return Publisher(factory, sender, settings, limiter=limiter)
