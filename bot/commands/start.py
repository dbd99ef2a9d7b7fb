"""/start and /help: the first things a new reader sees."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.commands import subscriptions
from bot.commands.common import deps, lang
from bot.commands.latest import page_data
from bot.i18n import t
from news.reader_queries import categories_with_counts


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Welcome the reader and offer the categories as buttons, so no typing is needed."""
    message = update.effective_message
    if message is None:
        return
    payload = (context.args or [""])[0][:64]
    if payload and await subscriptions.offer_deep_link(update, context, payload):
        return
    language = lang(update, context)
    categories = categories_with_counts(deps(context).factory)
    rows = [[InlineKeyboardButton(t(language, "all_categories"), callback_data=page_data(None))]]
    rows += [[InlineKeyboardButton(c.name, callback_data=page_data(c.id))] for c in categories[:30]]
    await message.reply_text(t(language, "welcome"), reply_markup=InlineKeyboardMarkup(rows))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List every command with one line each, in the reader's language."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(t(lang(update, context), "help"))
