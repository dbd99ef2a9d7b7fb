"""Inline mode: `@bot từ khóa` in any chat offers matching articles to share.

Each result is an article: its title, its lead as the description, and a
message (an HTML link to the article with its title, and the lead) that the
reader sends to a friend. An empty query offers the latest articles. Results
come 20 at a time; `next_offset` is the next page number, and an offset that
is not one (Telegram echoes ours, but a client may send anything) means the
first page.
"""

from __future__ import annotations

import html

from telegram import InlineQueryResultArticle, InputTextMessageContent, Update
from telegram.ext import ContextTypes

from bot.commands.common import NO_PREVIEW, deps
from news.search import SearchHit, latest_hits, query_words, search_page
from news.text import summarize

PAGE_SIZE = 20
#: Seconds Telegram may reuse an answer: short, since news changes by the minute.
CACHE_SECONDS = 10
DESCRIPTION_CHARS = 200
MESSAGE_LEAD_CHARS = 600
TITLE_CHARS = 500
MAX_PAGE = 10_000


def _page(offset: str) -> int:
    """The page an inline query's offset names (0 for anything else)."""
    return int(offset) if offset.isascii() and offset.isdigit() and len(offset) <= 5 else 0


def result(hit: SearchHit) -> InlineQueryResultArticle:
    """One article as an inline result; every text escaped for the HTML message it sends."""
    title = summarize(hit.title, TITLE_CHARS) or hit.url
    link = f'<a href="{html.escape(hit.url, quote=True)}">{html.escape(title)}</a>'
    lead = summarize(hit.summary, MESSAGE_LEAD_CHARS)
    text = f"<b>{link}</b>" + (f"\n{html.escape(lead)}" if lead else "")
    return InlineQueryResultArticle(
        id=str(hit.article_id),
        title=title,
        description=summarize(hit.summary, DESCRIPTION_CHARS) or None,
        url=hit.url,
        input_message_content=InputTextMessageContent(
            text, parse_mode="HTML", link_preview_options=NO_PREVIEW
        ),
    )


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer `@bot words` with matching articles (the latest for no words), paged by offset."""
    query = update.inline_query
    if query is None:
        return
    d = deps(context)
    page = min(_page(query.offset), MAX_PAGE)
    if query_words(query.query):
        found = search_page(d.factory, query.query, page=page, size=PAGE_SIZE, tz=d.settings.tz)
    else:
        found = latest_hits(d.factory, page=page, size=PAGE_SIZE)
    more = (page + 1) * PAGE_SIZE < found.total and page < MAX_PAGE
    await query.answer(
        [result(hit) for hit in found.items],
        cache_time=CACHE_SECONDS,
        next_offset=str(page + 1) if more else "",
    )
