"""The Telegram bot application, wired in one place.

Handlers are thin: they call services in `news/` and render with escaping.
The subscriber and editor commands grow here in later issues.
"""

from __future__ import annotations

import html
import logging

from sqlalchemy.orm import Session, sessionmaker
from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

from config.settings import Settings
from news.errors import ConfigError
from news.queries import latest_headlines

log = logging.getLogger(__name__)
HELP_VI = "Xin chào! Tôi là Loa, bot tin tức.\n/latest – tin mới nhất\n/help – trợ giúp"


def build_application(settings: Settings, factory: sessionmaker[Session]) -> Application:  # type: ignore[type-arg]
    """The PTB Application with Loa's handlers and error handler, on the caller's database."""
    assert settings.telegram_bot_token is not None
    application = (
        Application.builder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_base_url)
        .build()
    )

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Greet and list the commands."""
        if update.effective_message:
            await update.effective_message.reply_text(HELP_VI)

    async def latest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Reply with the five newest headlines as links."""
        if not update.effective_message:
            return
        items = latest_headlines(factory, 5)
        if not items:
            await update.effective_message.reply_text("Chưa có tin nào.")
            return
        lines = [
            f'• <a href="{html.escape(h.url, quote=True)}">{html.escape(h.title)}</a>'
            for h in items
        ]
        await update.effective_message.reply_text("\n".join(lines), parse_mode="HTML")

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log every handler error once, without the token (the log filter redacts it)."""
        log.error("bot handler failed: %s", context.error, exc_info=context.error)

    application.add_handler(CommandHandler(["start", "help"], start))
    application.add_handler(CommandHandler("latest", latest))
    application.add_error_handler(on_error)
    return application


def run_polling(settings: Settings, factory: sessionmaker[Session]) -> None:
    """Run the bot with long polling until stopped.

    A token Telegram refuses is a configuration problem: one ConfigError
    whose text names the variable, never PTB's message (which quotes the token).
    """
    from telegram.error import InvalidToken

    from bot.senders import TOKEN_REJECTED

    try:
        build_application(settings, factory).run_polling(allowed_updates=Update.ALL_TYPES)
    except InvalidToken:
        raise ConfigError(TOKEN_REJECTED) from None
