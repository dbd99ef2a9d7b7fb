"""What the bot says to anything it has no command for, and when a handler fails."""

from __future__ import annotations

import logging

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from bot.commands.common import DEPS_KEY, Deps, lang
from bot.i18n import EN, VI, t

log = logging.getLogger(__name__)
COMMANDS = (
    "latest",
    "search",
    "categories",
    "subscribe",
    "unsubscribe",
    "mysubs",
    "digest",
    "quiet",
    "lang",
    "tz",
    "feeds",
    "start",
    "help",
)
#: Shown, after the readers' commands, only in editors' own chats and the editors' chat.
EDITOR_COMMANDS = (
    "status",
    "find",
    "republish",
    "post",
    "preview",
    "withdraw",
    "poll",
    "pause",
    "resume",
    "retry",
    "sources",
    "addsource",
    "channels",
)


def _addressed_elsewhere(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """True for `/cmd@otherbot`, and for any command in a group not naming this bot."""
    message = update.effective_message
    text = (message.text or "") if message else ""
    head = text.split(maxsplit=1)[0] if text.strip() else ""
    _, at, target = head.partition("@")
    if at:
        return target.lower() != (context.bot.username or "").lower()
    chat = update.effective_chat
    return chat is not None and chat.type != ChatType.PRIVATE


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Point a reader who typed an unknown command at /help (silent for other bots' ones)."""
    if update.effective_message is None or _addressed_elsewhere(update, context):
        return
    await update.effective_message.reply_text(t(lang(update, context), "unknown_command"))


async def plain_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a private message that is not a command with a one-line hint."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(t(lang(update, context), "plain_text"))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log a failed update once, with its id, and tell the reader briefly (never the trace)."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("bot update %s failed: %s", update_id, context.error, exc_info=context.error)
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(t(lang(update, context), "error"))
        elif update.effective_message is not None:
            await update.effective_message.reply_text(t(lang(update, context), "error"))
    except Exception:  # noqa: BLE001 - the apology is best effort; the error is logged above
        log.warning("bot update %s: apology not sent", update_id)


async def set_commands(application: Application) -> None:  # type: ignore[type-arg]
    """Publish the command menu in Vietnamese (default) and English at start.

    Everyone sees the readers' commands; each editor's private chat, and the
    editors' chat when there is one, also list the editors' commands (a chat
    scope wins over the default one in Telegram's lookup).
    """
    found = application.bot_data[DEPS_KEY]
    assert isinstance(found, Deps)
    settings = found.settings
    editor_chats: list[int | str] = list(dict.fromkeys(settings.editors))
    if settings.editors_chat:
        editor_chats.append(settings.editors_chat)
    for language, code in ((VI, None), (VI, "vi"), (EN, "en")):
        commands = [BotCommand(c, t(language, f"cmd_{c}")) for c in COMMANDS]
        await application.bot.set_my_commands(commands, language_code=code)
        extra = [BotCommand(c, t(language, f"cmd_{c}")) for c in EDITOR_COMMANDS]
        for chat in editor_chats:
            try:
                await application.bot.set_my_commands(
                    commands + extra, scope=BotCommandScopeChat(chat), language_code=code
                )
            except TelegramError as exc:  # an editor who never wrote to the bot: no chat yet
                log.warning("editors' command menu not set for chat %s: %s", chat, exc)
