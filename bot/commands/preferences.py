"""/lang, /digest, /quiet and /tz: how and when a reader hears from the bot, remembered per reader.

Times are the reader's local time (their time zone, else the newsroom's);
news.reader_schedule decides what waits, news.bundles sends what waited.
"""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.commands.common import deps, lang
from bot.i18n import LANGUAGES, t
from news.reader_schedule import parse_clock, parse_hours, parse_zone
from news.readers import set_digest, set_language, set_quiet_hours, set_timezone

_LANG_DATA = re.compile(r"lang:(vi|en)")
_OFF = {"off", "tat", "tắt", "0", "no", "khong", "không"}


def _zone(zone: str | None, default: str) -> str:
    return zone or default


async def lang_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/lang vi|en` remembers the reader's language; with no argument, offer both as buttons."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    wanted = (context.args or [""])[0].lower()[:10]
    if wanted not in LANGUAGES:
        buttons = [
            InlineKeyboardButton("Tiếng Việt", callback_data="lang:vi"),
            InlineKeyboardButton("English", callback_data="lang:en"),
        ]
        await message.reply_text(
            t(lang(update, context), "lang_hint"), reply_markup=InlineKeyboardMarkup([buttons])
        )
        return
    set_language(deps(context).factory, user.id, wanted)
    await message.reply_text(t(wanted, "lang_done"))


async def lang_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A language button: remember the choice and say so in the new language."""
    query = update.callback_query
    if query is None:
        return
    found = _LANG_DATA.fullmatch(query.data or "")
    if found is None:
        await query.answer(t(lang(update, context), "stale_button"))
        return
    set_language(deps(context).factory, query.from_user.id, found[1])
    if query.message is not None:
        await query.edit_message_text(t(found[1], "lang_done"))
    await query.answer()


async def digest_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/digest off | daily HH:MM`: subscriptions one by one, or as one message a day."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    language, d = lang(update, context), deps(context)
    args = [a.lower() for a in (context.args or [])][:3]
    if args and args[0] in _OFF:
        set_digest(d.factory, user.id, None)
        await message.reply_text(t(language, "digest_off"))
        return
    clock_text = args[1] if len(args) >= 2 and args[0] in ("daily", "hangngay") else None
    if clock_text is None and len(args) == 1:
        clock_text = args[0]  # "/digest 07:00" is understood too
    clock = parse_clock(clock_text) if clock_text else None
    if clock is None:
        await message.reply_text(t(language, "digest_hint"))
        return
    zone = set_digest(d.factory, user.id, clock)
    tz = _zone(zone, d.settings.timezone)
    await message.reply_text(t(language, "digest_on", time=clock, tz=tz))


async def quiet_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/quiet HH-HH | off`: hold alerts during those local hours, then send one summary."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    language, d = lang(update, context), deps(context)
    text = " ".join(context.args or [])[:40].strip().lower()
    if text in _OFF:
        set_quiet_hours(d.factory, user.id, None)
        await message.reply_text(t(language, "quiet_off"))
        return
    hours = parse_hours(text)
    if hours is None:
        await message.reply_text(t(language, "quiet_hint"))
        return
    zone = set_quiet_hours(d.factory, user.id, hours)
    tz = _zone(zone, d.settings.timezone)
    await message.reply_text(
        t(language, "quiet_on", start=f"{hours[0]:02d}", end=f"{hours[1]:02d}", tz=tz)
    )


async def tz_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/tz Asia/Bangkok | +7 | off`: the zone digests and quiet hours are read in."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    language, d = lang(update, context), deps(context)
    text = " ".join(context.args or [])[:64].strip()
    if text.lower() in _OFF:
        set_timezone(d.factory, user.id, None)
        await message.reply_text(t(language, "tz_done", tz=d.settings.timezone))
        return
    zone = parse_zone(text) if text else None
    if zone is None:
        await message.reply_text(t(language, "tz_hint", tz=d.settings.timezone))
        return
    set_timezone(d.factory, user.id, zone)
    await message.reply_text(t(language, "tz_done", tz=zone))
