"""/search <words> and its ◀ Older / Newer ▶ buttons, which edit in place like /latest.

Paging is stateless: a button carries `srch:<page>:<folded words>`. Folded
words are short and mostly ASCII, so they fit Telegram's 64-byte limit on
callback data; a query whose button would not fit is answered with its first
page and no buttons rather than a cut (and different) query. Button data may
be stale or forged, so it is folded again before use, and a callback that does
not parse or points past the last page gets a short answer, never an error.
"""

from __future__ import annotations

import html
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.commands.common import NO_PREVIEW, Deps, Rendered, deps, lang, show_in_place
from bot.commands.latest import MAX_QUERY_CHARS
from bot.i18n import t
from news.search import MAX_RESULTS, query_words, search_page

PAGE_SIZE = 5
PREFIX = "srch:"
#: Telegram refuses callback data longer than this many bytes.
MAX_CALLBACK_BYTES = 64
#: The CallbackQueryHandler pattern that routes these buttons here (bot.app).
PATTERN = r"^srch:"
_DATA = re.compile(r"srch:(\d{1,6}):(.{1,64})", re.DOTALL)


def page_data(words: tuple[str, ...], page: int) -> str | None:
    """The callback data of a button opening `page` of a search; None if it would not fit."""
    data = f"{PREFIX}{page}:{' '.join(words)}"
    return data if len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES else None


def render_page(d: Deps, language: str, words: tuple[str, ...], page: int) -> Rendered | None:
    """The results page's text and buttons; None when it lies past the end (or nothing matches).

    Search ranks the newest 1,000 matches at most (news.search.MAX_RESULTS): "1000+".
    """
    result = search_page(d.factory, " ".join(words), page=page, size=PAGE_SIZE, tz=d.settings.tz)
    if not result.items:
        return None
    pages = -(-result.total // PAGE_SIZE)
    title = t(
        language,
        "search_title",
        query=" ".join(result.words),
        total=f"{result.total}+" if result.total >= MAX_RESULTS else result.total,
        page=page + 1,
        pages=pages,
    )
    lines = [f"<b>{html.escape(title)}</b>"]
    for item in result.items:
        when = item.when.astimezone(d.settings.tz).strftime("%H:%M %d/%m")
        link = f'<a href="{html.escape(item.url, quote=True)}">{html.escape(item.title)}</a>'
        lines.append(f"• {when} {link}")
    older = page_data(result.words, page + 1) if page + 1 < pages else None
    newer = page_data(result.words, page - 1) if page > 0 else None
    buttons = []
    if older:
        buttons.append(InlineKeyboardButton(t(language, "older"), callback_data=older))
    if newer:
        buttons.append(InlineKeyboardButton(t(language, "newer"), callback_data=newer))
    return Rendered("\n".join(lines), InlineKeyboardMarkup([buttons]) if buttons else None)


def _echo(query: str) -> str:
    """The reader's query as shown back: at most MAX_QUERY_CHARS characters, escaped."""
    shown = query if len(query) <= MAX_QUERY_CHARS else query[:MAX_QUERY_CHARS] + "…"
    return html.escape(shown)


async def search(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with the first page of articles matching every word, newest and best first."""
    message = update.effective_message
    if message is None:
        return
    language, d = lang(update, context), deps(context)
    query = " ".join(context.args or [])
    words = query_words(query)
    if not words:
        await message.reply_text(t(language, "search_hint"))
        return
    rendered = render_page(d, language, words, 0)
    if rendered is None:
        # the catalog's strings hold no HTML; only the reader's words need escaping
        await message.reply_text(t(language, "search_none", query=_echo(query)), parse_mode="HTML")
        return
    await message.reply_text(
        rendered.text,
        parse_mode="HTML",
        reply_markup=rendered.markup,
        link_preview_options=NO_PREVIEW,
    )


async def page_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the results page a button asks for by editing its message; answer stale ones briefly."""
    query = update.callback_query
    if query is None:
        return
    language, d = lang(update, context), deps(context)
    found = _DATA.fullmatch(query.data or "")
    words = query_words(found[2]) if found else ()
    rendered = render_page(d, language, words, int(found[1])) if found and words else None
    await show_in_place(query, rendered, stale=t(language, "search_stale"))
