"""What every reader command needs: its dependencies and the reader's language."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker
from telegram import Update
from telegram.ext import ContextTypes

from bot.i18n import reader_language
from config.settings import Settings

DEPS_KEY = "loa.deps"


@dataclass(frozen=True)
class Deps:
    """The database and settings the handlers use, kept in `bot_data` by `bot.app`."""

    settings: Settings
    factory: sessionmaker[Session]


def deps(context: ContextTypes.DEFAULT_TYPE) -> Deps:
    """The handlers' dependencies (set once when the application is built)."""
    value = context.bot_data[DEPS_KEY]
    assert isinstance(value, Deps)
    return value


def lang(update: Update) -> str:
    """The reader's language, from the Telegram client's `language_code`."""
    user = update.effective_user
    return reader_language(user.language_code if user else None)
