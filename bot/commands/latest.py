"""/latest [category] [n] and its ◀ Older / Newer ▶ buttons, which edit in place.

Button data is `lat:<category id, 0 = all>:<page>[:<size>]`. Anything a button
carries may be stale or forged, so a callback that does not parse, names a
missing category or a page past the end gets a short answer, never an error.
"""

from __future__ import annotations

import html
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.commands.common import NO_PREVIEW, Deps, Rendered, deps, lang, show_in_place
from bot.i18n import t
from news.reader_queries import (
    CategoryInfo,
    categories_with_counts,
    category_by_id,
    headline_page,
    match_category,
)

DEFAULT_SIZE = 5
MAX_SIZE = 20
MAX_CATEGORY_BUTTONS = 20
MAX_QUERY_CHARS = 100  # a reader may paste 20,000 characters; we echo at most this many
_NUMBER = re.compile(r"[+-]?[0-9]+")
_DATA = re.compile(r"lat:(\d{1,9}):(\d{1,6})(?::(\d{1,2}))?")


def page_data(category_id: int | None, page: int = 0, size: int = DEFAULT_SIZE) -> str:
    """The callback data of a button opening `page` of a category (None: everything)."""
    data = f"lat:{category_id or 0}:{page}"
    return data if size == DEFAULT_SIZE else f"{data}:{size}"


def render_page(
    d: Deps, language: str, category: CategoryInfo | None, *, size: int, page: int
) -> Rendered | None:
    """The page's text and paging buttons; None when the page lies past the end."""
    result = headline_page(d.factory, category.id if category else None, size=size, page=page)
    if not result.items:
        if page > 0:
            return None
        return Rendered(html.escape(t(language, "no_articles")), None)
    title = (
        t(language, "latest_title_category", category=category.name)
        if category
        else t(language, "latest_title")
    )
    lines = [f"<b>{html.escape(title)}</b>"]
    for item in result.items:
        when = item.when.astimezone(d.settings.tz).strftime("%H:%M %d/%m")
        link = f'<a href="{html.escape(item.url, quote=True)}">{html.escape(item.title)}</a>'
        lines.append(f"• {when} {link}")
    cid = category.id if category else None
    buttons = []
    if (page + 1) * size < result.total:
        buttons.append(
            InlineKeyboardButton(t(language, "older"), callback_data=page_data(cid, page + 1, size))
        )
    if page > 0:
        buttons.append(
            InlineKeyboardButton(t(language, "newer"), callback_data=page_data(cid, page - 1, size))
        )
    rows = [buttons] if buttons else []
    if category is None:  # everything: offer the categories to narrow it down
        rows += category_rows(categories_with_counts(d.factory, counted=False), size)
    return Rendered("\n".join(lines), InlineKeyboardMarkup(rows) if rows else None)


def category_rows(
    categories: list[CategoryInfo], size: int = DEFAULT_SIZE
) -> list[list[InlineKeyboardButton]]:
    """Buttons opening each category's first page, two a row (at most 20 categories)."""
    shown = [c for c in categories if c.count][:MAX_CATEGORY_BUTTONS]
    buttons = [InlineKeyboardButton(c.name, callback_data=page_data(c.id, 0, size)) for c in shown]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def parse_args(args: list[str]) -> tuple[str, int] | None:
    """(category query, size) from the words after /latest; None for junk.

    A number first or last is the count, clamped to 1..20 (however many digits);
    the rest names a category. Words with no letter or digit at all are junk.
    """
    words = list(args)
    size = DEFAULT_SIZE
    for index in (-1, 0):
        if words and _NUMBER.fullmatch(words[index]):
            size = _clamp(words.pop(index))
            break
    query = " ".join(words)
    if words and not any(ch.isalnum() for ch in query):
        return None
    return query, size


def _clamp(number: str) -> int:
    """The count a number asks for, within 1..20; never int() on thousands of digits."""
    digits = number.lstrip("+-").lstrip("0") or "0"
    if number.startswith("-"):
        return 1
    return MAX_SIZE if len(digits) > 2 else min(max(int(digits), 1), MAX_SIZE)


async def latest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with the newest headlines of everything or of one category, with paging."""
    message = update.effective_message
    if message is None:
        return
    language, d = lang(update, context), deps(context)
    parsed = parse_args(context.args or [])
    if parsed is None:
        await message.reply_text(t(language, "latest_hint"))
        return
    query, size = parsed
    category = None
    if query:
        match = match_category(categories_with_counts(d.factory, counted=False), query)
        if match.found is None:
            await _no_such_category(update, language, query, match.suggestions, size)
            return
        category = match.found
    rendered = render_page(d, language, category, size=size, page=0)
    assert rendered is not None  # page 0 always renders
    await message.reply_text(
        rendered.text,
        parse_mode="HTML",
        reply_markup=rendered.markup,
        link_preview_options=NO_PREVIEW,
    )


async def _no_such_category(
    update: Update, language: str, query: str, suggestions: list[CategoryInfo], size: int
) -> None:
    """Say the category is unknown and offer the closest ones as buttons."""
    assert update.effective_message is not None
    shown = query if len(query) <= MAX_QUERY_CHARS else query[:MAX_QUERY_CHARS] + "…"
    text = t(language, "no_such_category", query=shown)
    markup = None
    if suggestions:
        text += "\n" + t(language, "closest")
        markup = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(c.name, callback_data=page_data(c.id, 0, size))]
                for c in suggestions
            ]
        )
    else:
        text += "\n" + t(language, "latest_hint")
    await update.effective_message.reply_text(text, reply_markup=markup)


async def page_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the page a button asks for by editing its message; answer stale buttons briefly."""
    query = update.callback_query
    if query is None:
        return
    language, d = lang(update, context), deps(context)
    found = _DATA.fullmatch(query.data or "")
    rendered = None
    if found:
        cid, page = int(found[1]), int(found[2])
        size = int(found[3]) if found[3] else DEFAULT_SIZE
        category = category_by_id(d.factory, cid) if cid else None
        if 1 <= size <= MAX_SIZE and (cid == 0 or category is not None):
            rendered = render_page(d, language, category, size=size, page=page)
    await show_in_place(query, rendered, stale=t(language, "stale_button"))
