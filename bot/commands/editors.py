"""The editors' commands: thin handlers over news.editorial and tasks.actions.

Each handler parses what the editor typed, calls the one service function
that the CLI and the HTTP API call too, and shows the result (bot.editor_views
escapes it). Anything that changes what readers see (republish, withdraw)
asks first with a button (bot.commands.editor_buttons), and only the tap acts.
Slow work (a poll, a fetch, Telegram's rights checks) runs in a thread, and
those handlers do not block the bot's other updates. Every handler is
guarded by `editor_only`; missing or bad arguments get a one-line usage.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from html import escape

from sqlalchemy import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.ext.filters import BaseFilter

from bot import editor_views as views
from bot.commands import addsource
from bot.commands import editor_buttons as buttons
from bot.commands.common import NO_PREVIEW, Deps, deps, lang
from bot.commands.editor_guard import editor_only
from bot.commands.fallback import EDITOR_COMMANDS
from bot.i18n import t
from bot.publisher import preview as render_preview
from news import editorial
from news.errors import LoaError
from news.ingest import IngestResult, fetch_and_store, fetch_article
from news.models import Delivery, PauseKind
from news.pauses import paused_sources
from news.status import current_status
from news.store import transient_article
from news.stories.groups import groups_of_articles
from news.weburl import web_url
from tasks.actions import announce_stored as announce
from tasks.actions import poll_now

log = logging.getLogger(__name__)
FIND_LIMIT = 8
POLL_ERRORS_SHOWN = 3


async def reply(
    update: Update, text: str, keyboard: list[list[InlineKeyboardButton]] | None = None
) -> None:
    """Answer in the command's chat, as HTML (every value in `text` is already escaped)."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        text,
        parse_mode=ParseMode.HTML,
        link_preview_options=NO_PREVIEW,
        reply_markup=InlineKeyboardMarkup(keyboard) if keyboard else None,
    )


def args_of(context: ContextTypes.DEFAULT_TYPE) -> list[str]:
    return list(context.args or [])


@editor_only
async def republish_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/republish <article URL|id> [chat]: ask, with a button, before posting again."""
    language, args = lang(update, context), args_of(context)
    if not 1 <= len(args) <= 2:
        await reply(update, escape(t(language, "ed_usage_republish")))
        return
    chat = args[1] if len(args) == 2 else None
    text, keyboard = buttons.republish_offer(deps(context), language, args[0], chat)
    await reply(update, text, keyboard)


@editor_only
async def find_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/find <words>: articles, where each went, their story's copies; Republish and Split."""
    language, words = lang(update, context), " ".join(args_of(context))
    if not words.strip():
        await reply(update, escape(t(language, "ed_usage_find")))
        return
    found = editorial.find_articles(deps(context).factory, words, limit=FIND_LIMIT)
    query = escape(views.short(words, 100))
    if not found:
        await reply(update, t(language, "ed_find_none", query=query))
        return
    with deps(context).factory() as session:  # the story groups of two or more they are in
        groups = groups_of_articles(session, [item.id for item in found])
    lines = [f"<b>{t(language, 'ed_find_title', query=query)}</b>"]
    lines += [views.found_article(language, item, groups.get(item.id)) for item in found]
    await reply(update, "\n\n".join(lines), buttons.find_keyboard(language, found, groups))


@editor_only
async def post_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/post <URL>: fetch, extract, store, then announce like a poll would."""
    language, args, d = lang(update, context), args_of(context), deps(context)
    if len(args) != 1:
        await reply(update, escape(t(language, "ed_usage_post")))
        return
    try:
        stored = await asyncio.to_thread(fetch_and_store, d.settings, d.factory, args[0])
        chats = await asyncio.to_thread(announce_stored, d, stored)
        info = editorial.article_info(d.factory, str(stored.article_id))
    except LoaError as exc:  # HostNotAllowed, a fetch that failed, not an article
        await reply(update, buttons.refused(language, exc))
        return
    lines = [
        t(
            language,
            "ed_post_stored",
            article=views.article_line(language, info.id, info.title, info.state),
            outcome=t(language, f"ed_outcome_{stored.outcome}"),
        )
    ]
    if chats:
        lines.append(t(language, "ed_post_planned", count=len(chats), chats=public(chats)))
    else:
        lines.append(t(language, "ed_post_nothing"))
    await reply(update, "\n".join(lines))


def announce_stored(d: Deps, stored: IngestResult) -> list[str]:
    """Plan and enqueue a stored article's deliveries; fix posts if it changed. Their chats."""
    planned = announce(d.settings, d.factory, stored.article_id, stored.outcome).planned
    ids = [p.delivery_id for p in planned]
    with d.factory() as session:
        return list(session.scalars(select(Delivery.chat_id).where(Delivery.id.in_(ids))))


def public(chats: Sequence[str]) -> str:
    """Channels and groups by name; readers' private chats only counted."""
    named = [c for c in chats if not c.isdigit()]
    readers = len(chats) - len(named)
    return views.chat_list(named) + (f" (+{readers})" if readers else "")


@editor_only
async def preview_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/preview <URL|id> [chat]: the exact post, sent here as the chat would see it."""
    language, args, d = lang(update, context), args_of(context), deps(context)
    if not 1 <= len(args) <= 2:
        await reply(update, escape(t(language, "ed_usage_preview")))
        return
    assert update.effective_chat is not None
    try:
        with d.factory() as session:
            article = editorial.resolve_article(session, args[0])
            routed = buttons.routed_chats(session, article, d.settings)
            chat = args[1] if len(args) == 2 else (routed[0] if routed else "@preview")
            requests = render_preview(article, d.settings, chat)
            head = views.article_line(
                language, article.id, article.title, editorial.article_state(article)
            )
    except editorial.ArticleNotFound as exc:
        if web_url(args[0]) is None:
            await reply(update, buttons.refused(language, exc))
            return
        # Not stored yet: fetch and extract it (SSRF-checked), render, store nothing.
        try:
            _, found, _ = await asyncio.to_thread(fetch_article, d.settings, args[0])
        except LoaError as error:
            await reply(update, buttons.refused(language, error))
            return
        chat = args[1] if len(args) == 2 else "@preview"
        requests = render_preview(transient_article(found), d.settings, chat)
        head = f"“{escape(found.title)}” ({escape(t(language, 'ed_not_stored'))})"
    except editorial.EditorialError as exc:
        await reply(update, buttons.refused(language, exc))
        return
    await reply(update, t(language, "ed_preview_title", article=head, chat=escape(chat)))
    for request in requests:
        params = {**request.params, "chat_id": update.effective_chat.id}
        try:
            await context.bot.do_api_request(request.method, api_kwargs=params)
        except TelegramError as exc:  # the post itself would fail: say so, as the channel would
            await reply(update, buttons.refused(language, str(exc)))
            return


@editor_only
async def withdraw_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/withdraw <id>: ask, with a button, before taking the article down."""
    language, args, d = lang(update, context), args_of(context), deps(context)
    if len(args) != 1:
        await reply(update, escape(t(language, "ed_usage_withdraw")))
        return
    try:
        info = editorial.article_info(d.factory, args[0])
    except editorial.EditorialError as exc:
        await reply(update, buttons.refused(language, exc))
        return
    if info.state == "withdrawn":
        await reply(update, t(language, "ed_already_withdrawn", id=info.id))
        return
    text = t(
        language,
        "ed_withdraw_confirm",
        article=views.article_line(language, info.id, info.title, info.state),
    )
    keyboard = [
        [
            InlineKeyboardButton(
                t(language, "ed_button_confirm_withdraw"),
                callback_data=buttons.withdraw_data(info.id),
            ),
            InlineKeyboardButton(t(language, "ed_button_cancel"), callback_data=buttons.CANCEL),
        ]
    ]
    await reply(update, text, keyboard)


@editor_only
async def poll_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/poll [source]: poll now (in a thread); answer with what was found when it ends."""
    language, args, d = lang(update, context), args_of(context), deps(context)
    if len(args) > 1:
        await reply(update, escape(t(language, "ed_usage_poll")))
        return
    names = args or [source.name for source in d.settings.effective_sources()]
    if not names:
        await reply(update, t(language, "ed_no_sources"))
        return
    await reply(update, t(language, "ed_poll_started", sources=views.chat_list(names)))
    lines = []
    for name in names:
        try:
            summary = await asyncio.to_thread(poll_now, d.settings, d.factory, name)
        except LoaError as exc:
            error = escape(views.short(str(exc), 300))
            lines.append(t(language, "ed_poll_failed", source=escape(name), error=error))
            continue
        lines.append(
            t(
                language,
                "ed_poll_line",
                source=escape(summary.source or name),
                new=summary.new,
                updated=summary.updated,
                withdrawn=summary.withdrawn,
                errors=len(summary.errors),
            )
        )
        lines += [f"  • {escape(views.short(e, 300))}" for e in summary.errors[:POLL_ERRORS_SHOWN]]
    await reply(update, "\n".join(lines))


@editor_only
async def status_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/status: sources, deliveries, backlog, failing chats, duplicates, pauses; act by button."""
    language, d = lang(update, context), deps(context)
    if args_of(context):
        await reply(update, escape(t(language, "ed_usage_none", command="status")))
        return
    status = current_status(d.factory)
    pauses = editorial.active_pauses(d.factory)
    keyboard = []
    if status.deliveries.get("failed"):
        label = t(language, "ed_button_retry")
        keyboard.append([InlineKeyboardButton(label, callback_data=buttons.RETRY)])
    if pauses:
        label = t(language, "ed_button_resume")
        keyboard.append([InlineKeyboardButton(label, callback_data=buttons.RESUME)])
    await reply(update, views.status_text(language, status, pauses, d.settings.tz), keyboard)


async def _pause_or_resume(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, pausing: bool
) -> None:
    language, args, d = lang(update, context), args_of(context), deps(context)
    usage = escape(t(language, "ed_usage_pause" if pausing else "ed_usage_resume"))
    if not 1 <= len(args) <= 2:
        await reply(update, usage)
        return
    kind, name = args[0].lower(), (args[1:] or [""])[0]
    configured = {s.name for s in d.settings.effective_sources()}
    if kind == PauseKind.SOURCE and name and name not in configured and pausing:
        await reply(update, t(language, "ed_unknown_source", name=escape(name[:100])))
        return
    try:
        if pausing:
            user = update.effective_user
            changed = editorial.pause(d.factory, kind, name, by=user.id if user else None)
        else:
            changed = editorial.resume(d.factory, kind, name)
    except editorial.EditorialError as exc:
        await reply(update, buttons.refused(language, exc) + "\n" + usage)
        return
    what = escape(views.pause_label(language, kind, name))
    key = ("ed_paused" if changed else "ed_already_paused") if pausing else (
        "ed_resumed" if changed else "ed_not_paused"
    )  # fmt: skip
    await reply(update, t(language, key, what=what))


@editor_only
async def pause_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/pause source NAME | chat CHAT | all: kept in the database until /resume."""
    await _pause_or_resume(update, context, pausing=True)


@editor_only
async def resume_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/resume source NAME | chat CHAT | all."""
    await _pause_or_resume(update, context, pausing=False)


@editor_only
async def retry_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/retry [chat]: failed deliveries back to pending, and enqueued."""
    language, args = lang(update, context), args_of(context)
    if len(args) > 1:
        await reply(update, escape(t(language, "ed_usage_retry")))
        return
    chat = args[0] if args else None
    count = await asyncio.to_thread(buttons.retry_now, deps(context), chat)
    await reply(update, t(language, "ed_retried", count=count))


@editor_only
async def sources_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/sources: the configured sources with their health and pauses."""
    language, d = lang(update, context), deps(context)
    if args_of(context):
        await reply(update, escape(t(language, "ed_usage_none", command="sources")))
        return
    configured = d.settings.effective_sources()
    health = current_status(d.factory).sources
    with d.factory() as session:
        paused = paused_sources(session, [s.name for s in configured])
    text = views.sources_text(language, configured, health, paused, d.settings.tz)
    await reply(update, text)


@editor_only
async def channels_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/channels: ask Telegram about each configured chat (like `loa channels`), in a thread."""
    language, d = lang(update, context), deps(context)
    if args_of(context):
        await reply(update, escape(t(language, "ed_usage_none", command="channels")))
        return
    chats = [channel.chat for channel in d.settings.effective_channels()]
    if not chats:
        await reply(update, t(language, "ed_no_channels"))
        return
    await reply(update, t(language, "ed_channels_checking", count=len(chats)))
    checks = await asyncio.to_thread(buttons.check_channels, d, chats)
    with d.factory() as session:
        paused = {chat for chat in chats if editorial.is_chat_paused(session, chat)}
    await reply(update, views.channels_text(language, checks, paused))


HANDLERS = {
    "status": status_command,
    "find": find_command,
    "republish": republish_command,
    "post": post_command,
    "preview": preview_command,
    "withdraw": withdraw_command,
    "poll": poll_command,
    "pause": pause_command,
    "resume": resume_command,
    "retry": retry_command,
    "sources": sources_command,
    "addsource": addsource.addsource_command,
    "channels": channels_command,
}
#: Slow ones run beside the bot's other updates instead of holding them up.
CONCURRENT = {"post", "poll", "channels", "addsource"}
assert tuple(HANDLERS) == EDITOR_COMMANDS, "the menu (fallback.EDITOR_COMMANDS) lists these"


def handlers(messages: BaseFilter) -> list[BaseHandler]:  # type: ignore[type-arg]
    """The editors' command handlers (on new `messages`) and their buttons' handler."""
    found: list[BaseHandler] = [  # type: ignore[type-arg]
        CommandHandler(name, handler, filters=messages, block=name not in CONCURRENT)
        for name, handler in HANDLERS.items()
    ]
    found.append(CallbackQueryHandler(buttons.button, pattern=buttons.PATTERN))
    found.append(CallbackQueryHandler(addsource.addsource_button, pattern=addsource.PATTERN))
    return found
