"""Who may run editor commands: the Telegram user ids in `settings.editors`.

Every editor command and every `ed:` button goes through :func:`editor_only`,
so the check is written once. The chat does not matter (an editor may act
from the editors' group or in private); the person does. Anyone else is told
"not permitted" in their language, and the attempt is logged with their id.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.commands.common import deps, lang
from bot.i18n import t

log = logging.getLogger(__name__)

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def is_editor(context: ContextTypes.DEFAULT_TYPE, user_id: int | None) -> bool:
    """True when `user_id` is listed in `editors`."""
    return user_id is not None and user_id in deps(context).settings.editors


def editor_only(handler: Handler) -> Handler:
    """Run `handler` for editors only; refuse (and log) anyone else."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        if is_editor(context, user.id if user else None):
            await handler(update, context)
            return
        query = update.callback_query
        what = f"button {query.data!r}" if query is not None else _command(update)
        log.warning("user %s is not an editor: %s refused", user.id if user else None, what)
        text = t(lang(update, context), "not_permitted")
        if query is not None:
            await query.answer(text)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(text)

    return guarded


def _command(update: Update) -> str:
    """The command word of the message, for the log (never the arguments)."""
    message = update.effective_message
    words = (message.text or "").split(maxsplit=1) if message else []
    return words[0][:64] if words else "a command"
