"""/categories and /feeds: what there is to read, and where to subscribe by RSS."""

from __future__ import annotations

import html

from telegram import Update
from telegram.ext import ContextTypes

from bot.commands.common import NO_PREVIEW, chunks, deps, lang
from bot.i18n import t
from news.reader_queries import categories_with_counts


def _link(url: str, label: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{html.escape(label)}</a>'


async def categories(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every category with its article count and its RSS feed link."""
    message = update.effective_message
    if message is None:
        return
    language, d = lang(update, context), deps(context)
    found = categories_with_counts(d.factory)
    if not found:
        await message.reply_text(t(language, "no_categories"))
        return
    base = d.settings.base_url
    lines = [html.escape(t(language, "categories_title"))]
    lines += [
        f"• {html.escape(c.name)} ({c.count}) – {_link(f'{base}/feeds/{c.slug}.rss', 'RSS')}"
        for c in found
    ]
    for part in chunks(lines):
        await message.reply_text(part, parse_mode="HTML", link_preview_options=NO_PREVIEW)


async def feeds(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The feed addresses: everything, each category, and the OPML list of them all."""
    message = update.effective_message
    if message is None:
        return
    language, d = lang(update, context), deps(context)
    base = d.settings.base_url
    lines = [
        html.escape(t(language, "feeds_title")),
        f"• {html.escape(t(language, 'feed_all'))}: {html.escape(base + '/feeds/all.rss')}",
    ]
    lines += [
        f"• {html.escape(c.name)}: {html.escape(f'{base}/feeds/{c.slug}.rss')}"
        for c in categories_with_counts(d.factory)
    ]
    lines.append(f"• {html.escape(t(language, 'feed_opml'))}: {html.escape(base + '/feeds/opml')}")
    for part in chunks(lines):
        await message.reply_text(part, parse_mode="HTML", link_preview_options=NO_PREVIEW)
