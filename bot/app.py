"""The Telegram bot application, wired in one place.

Handlers live in `bot.commands` (one module per concern) and are thin: they
call queries in `news/` and render with escaping. This module only wires them.
"""

from __future__ import annotations

import logging
import warnings

from sqlalchemy.orm import Session, sessionmaker
from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning

from bot.commands import (
    catalog,
    editors,
    fallback,
    inline,
    latest,
    preferences,
    search,
    start,
    subscriptions,
)
from bot.commands.common import DEPS_KEY, Deps
from bot.identity import record_username
from config.settings import Settings
from news.errors import ConfigError

log = logging.getLogger(__name__)
#: how many times a reply Telegram answered with 429 is sent again (after retry_after)
REPLY_RETRIES = 3


def build_application(settings: Settings, factory: sessionmaker[Session]) -> Application:  # type: ignore[type-arg]
    """The PTB Application with Loa's handlers and error handler, on the caller's database."""
    assert settings.telegram_bot_token is not None
    # /preview sends the rendered Bot API requests as they are (do_api_request);
    # PTB's advice to use its typed methods would only convert back and forth.
    warnings.filterwarnings("ignore", "Please use", PTBUserWarning)
    # PTB's own AIORateLimiter reads RetryAfter.retry_after, which PTB 22.2+ warns about
    # (it becomes a timedelta in PTB 23, where this limiter is updated with it)
    warnings.filterwarnings(
        "ignore", r"Deprecated since version v22\.2: .* `retry_after`", PTBDeprecationWarning
    )
    application = (
        Application.builder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_base_url)
        .post_init(_on_start)
        # A reader who types two commands at once meets Telegram's per-chat limit: the
        # second reply gets a 429. PTB's limiter waits the answer's retry_after and sends
        # it again (a few times) instead of dropping the reply. Posts and alerts keep the
        # shared Redis limiter (bot.limiter); these are the bot's own replies.
        .rate_limiter(AIORateLimiter(max_retries=REPLY_RETRIES))
        .build()
    )
    application.bot_data[DEPS_KEY] = Deps(settings, factory)
    # New messages only: an edited "/latest" or a channel post must not answer again.
    new = filters.UpdateType.MESSAGE
    commands = {
        "start": start.start,
        "help": start.help_command,
        "latest": latest.latest,
        "categories": catalog.categories,
        "feeds": catalog.feeds,
        "search": search.search,
        "subscribe": subscriptions.subscribe_command,
        "unsubscribe": subscriptions.unsubscribe_command,
        "mysubs": subscriptions.mysubs,
        "lang": preferences.lang_command,
        "digest": preferences.digest_command,
        "quiet": preferences.quiet_command,
        "tz": preferences.tz_command,
    }
    for name, handler in commands.items():
        application.add_handler(CommandHandler(name, handler, filters=new))
    for editor_handler in editors.handlers(new):  # commands and `ed:` buttons, editors only
        application.add_handler(editor_handler)
    application.add_handler(
        CallbackQueryHandler(subscriptions.subscription_button, pattern=r"^(sub|uns):")
    )
    application.add_handler(CallbackQueryHandler(preferences.lang_button, pattern=r"^lang:"))
    application.add_handler(CallbackQueryHandler(search.page_button, pattern=search.PATTERN))
    application.add_handler(InlineQueryHandler(inline.inline_query))
    application.add_handler(CallbackQueryHandler(latest.page_button))  # also answers forged data
    application.add_handler(MessageHandler(new & filters.COMMAND, fallback.unknown_command))
    private_text = new & filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND
    application.add_handler(MessageHandler(private_text, fallback.plain_text))
    application.add_error_handler(fallback.on_error)
    return application


async def _on_start(application: Application) -> None:  # type: ignore[type-arg]
    """After getMe: publish the command menu, and record the username for the web page's links."""
    await fallback.set_commands(application)
    settings = application.bot_data[DEPS_KEY].settings
    record_username(settings.bot_username_file, application.bot.username)


def run(settings: Settings, factory: sessionmaker[Session]) -> None:
    """Run the bot until stopped: by webhook when `LOA_WEBHOOK_URL` is set, else long polling."""
    if settings.webhook_url:
        run_webhook(settings, factory)
    else:
        run_polling(settings, factory)


def run_webhook(settings: Settings, factory: sessionmaker[Session]) -> None:
    """Run the bot in webhook mode (see bot.webhook) until SIGINT/SIGTERM."""
    from telegram.error import InvalidToken

    from bot import webhook
    from bot.senders import TOKEN_REJECTED

    try:
        webhook.run_webhook(build_application(settings, factory), settings)
    except InvalidToken:
        raise ConfigError(TOKEN_REJECTED) from None


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
