"""setMyCommands at start: Telegram's menu lists every command, in Vietnamese and English.

Read back from the emulator's per-scope record (scope type and language code),
so the check follows `COMMANDS` as commands are added, not a list written here.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.commands.fallback import COMMANDS
from bot.i18n import t
from config.settings import Settings
from telegram_emulator import Emulator
from tests.bot.running_bot import BOT_ID, running_bot


@pytest.mark.parametrize(("scope", "language"), [("default::", "vi"), ("default::vi", "vi"),
                                                  ("default::en", "en")])  # fmt: skip
def test_the_menu_lists_every_command_with_a_description_in_each_language(
    telegram_emulator: Emulator,
    settings: Settings,
    factory: sessionmaker[Session],
    scope: str,
    language: str,
) -> None:
    with running_bot(telegram_emulator, settings, factory):
        menus = telegram_emulator.bot(BOT_ID).commands
    menu = menus[scope]
    assert [c["command"] for c in menu] == list(COMMANDS)
    for entry in menu:
        description = entry["description"]
        assert description.strip() and len(description) <= 256, entry
        assert description == t(language, f"cmd_{entry['command']}")
    assert set(menus) == {"default::", "default::vi", "default::en"}


def test_the_two_languages_are_really_translated(
    telegram_emulator: Emulator, settings: Settings, factory: sessionmaker[Session]
) -> None:
    with running_bot(telegram_emulator, settings, factory):
        menus = telegram_emulator.bot(BOT_ID).commands
    vi = [c["description"] for c in menus["default::vi"]]
    en = [c["description"] for c in menus["default::en"]]
    assert len(vi) == len(en) == len(COMMANDS)
    assert sum(a != b for a, b in zip(vi, en, strict=True)) >= len(COMMANDS) - 1
