"""t.me deep links to the bot, shown next to the feed links on the home page.

`https://t.me/<bot>?start=cat_<slug>` opens the bot, which offers to subscribe
to that category (`start=all`: everything). The username comes from
`LOA_BOT_USERNAME`, else from the file the bot process writes after getMe
(see bot.identity): the data directory is shared by `loa run`'s processes and
by the Compose services, so the feed server needs no Redis and no Telegram
call for it. Unknown username → no links.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from config.settings import Settings

#: Telegram's rules: a username is 5-32 of [A-Za-z0-9_]; a start parameter 1-64 of
#: [A-Za-z0-9_-]. A category slug too long for one gets no link rather than a broken one.
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")
_START = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MAX_FILE_BYTES = 100


def bot_username(settings: Settings) -> str | None:
    """The bot's username: the setting, else what the bot recorded; None when unknown."""
    if settings.telegram_bot_username:
        return settings.telegram_bot_username
    try:
        with settings.bot_username_file.open("rb") as file:
            recorded = file.read(_MAX_FILE_BYTES).decode("ascii", "replace").strip()
    except OSError:
        return None
    return recorded if _USERNAME.fullmatch(recorded) else None


def start_link(username: str, payload: str) -> str | None:
    """`https://t.me/<username>?start=<payload>`, or None when Telegram would refuse it."""
    if not _USERNAME.fullmatch(username) or not _START.fullmatch(payload):
        return None
    return f"https://t.me/{username}?start={quote(payload, safe='')}"


def category_payload(slug: str | None) -> str:
    """The start parameter subscribing to one category (None: `all`, everything).

    The bot's `/start` reads the same two forms (bot.commands.subscriptions).
    """
    return "all" if slug is None else f"cat_{slug}"
