"""What every reader command needs: its dependencies and the reader's language."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker
from telegram import CallbackQuery, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.i18n import reader_language
from config.settings import Settings
from news.readers import chosen_language

log = logging.getLogger(__name__)

DEPS_KEY = "loa.deps"
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


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


def lang(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """The reader's language: the one chosen with /lang, else from the client's `language_code`.

    Never raises: the error handler calls it too, when the database may be
    the very thing that failed.
    """
    user = update.effective_user
    if user is None:
        return reader_language(None)
    try:
        chosen = chosen_language(deps(context).factory, user.id)
    except Exception:  # noqa: BLE001 - fall back to the client's language
        log.debug("reader language lookup failed", exc_info=True)
        chosen = None
    return chosen or reader_language(user.language_code)


MESSAGE_LIMIT = 4000  # Telegram's is 4096 UTF-16 units of visible text; HTML counts more


def chunks(lines: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Lines joined into as few messages as fit Telegram's length limit.

    A long category list must not turn into "message is too long"; measuring
    the HTML (longer than the visible text) in UTF-16 units keeps each part safe.
    """
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        length = len(line.encode("utf-16-le")) // 2 + 1
        if current and size + length > limit:
            parts.append("\n".join(current))
            current, size = [], 0
        current.append(line)  # one line (a category, ≤ 200 characters) always fits
        size += length
    if current:
        parts.append("\n".join(current))
    return parts


@dataclass(frozen=True)
class Rendered:
    """A reply's HTML text and its keyboard (None: no buttons)."""

    text: str
    markup: InlineKeyboardMarkup | None


async def show_in_place(query: CallbackQuery, rendered: Rendered | None, *, stale: str) -> None:
    """Edit a paging button's message to `rendered`; a stale or forged button gets `stale`.

    Pressing the same page twice changes nothing, which Telegram reports as
    "message is not modified": that is not an error here.
    """
    if rendered is None or query.message is None:
        await query.answer(stale)
        return
    try:
        await query.edit_message_text(
            rendered.text,
            parse_mode="HTML",
            reply_markup=rendered.markup,
            link_preview_options=NO_PREVIEW,
        )
    except BadRequest as exc:
        if "not modified" not in str(exc):
            raise
    await query.answer()
