"""The editors' buttons (`ed:` callback data) and the questions that carry them.

Data formats, all within Telegram's 64 bytes:

- ``ed:rp:<id>``                     offer to republish (under /find results)
- ``ed:rpy:<id>:<gen>[:<chat>]``     republish, confirmed; `gen` is the article's
                                     latest generation when asked, so a second
                                     tap (or an old question) republishes nothing
- ``ed:wdy:<id>``                    withdraw, confirmed
- ``ed:sp:<id>``                     split the article out of its story (under /find
                                     results; a second tap finds it alone: no change)
- ``ed:retry`` / ``ed:resume``       /status actions: retry failed, resume all
- ``ed:no``                          cancel

The presser must be an editor (the same `editor_only` guard as the commands),
whoever asked the question. Data that does not parse is answered briefly.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Container
from html import escape

from sqlalchemy.orm import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot import editor_views as views
from bot.channels import ChannelCheck, ChannelRegistry
from bot.commands.common import Deps, deps, lang
from bot.commands.editor_guard import editor_only
from bot.i18n import t
from bot.senders import TelegramSender
from config.settings import Settings
from news import editorial
from news.errors import LoaError
from news.models import Article, Source
from news.routing import chats_for
from tasks.actions import dispatch_publish, dispatch_withdrawn
from tasks.story_split import split_and_follow

log = logging.getLogger(__name__)
PATTERN = r"^ed:"
CANCEL = "ed:no"
RETRY = "ed:retry"
RESUME = "ed:resume"
MAX_CALLBACK_BYTES = 64
_OFFER = re.compile(r"ed:rp:(\d{1,10})")
_REPUBLISH = re.compile(r"ed:rpy:(\d{1,10}):(\d{1,6})(?::(\S{1,40}))?")
_WITHDRAW = re.compile(r"ed:wdy:(\d{1,10})")
_SPLIT = re.compile(r"ed:sp:(\d{1,10})")
Keyboard = list[list[InlineKeyboardButton]]


def offer_data(article_id: int) -> str:
    return f"ed:rp:{article_id}"


def republish_data(article_id: int, generation: int, chat: str | None) -> str | None:
    """The confirm button's data; None when the chat's name would not fit."""
    data = f"ed:rpy:{article_id}:{generation}" + (f":{chat}" if chat else "")
    fits = len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES
    return data if fits and _REPUBLISH.fullmatch(data) else None


def withdraw_data(article_id: int) -> str:
    return f"ed:wdy:{article_id}"


def split_data(article_id: int) -> str:
    return f"ed:sp:{article_id}"


def find_keyboard(
    language: str, found: list[editorial.FoundArticle], grouped: Container[int]
) -> Keyboard:
    """Under /find results: Republish for each live article, and Split for a grouped one."""
    keyboard = []
    for item in found:
        if item.state == "withdrawn":
            continue
        row = [
            InlineKeyboardButton(
                t(language, "ed_button_republish", id=item.id), callback_data=offer_data(item.id)
            )
        ]
        if item.id in grouped:
            label = t(language, "ed_button_split", id=item.id)
            row.append(InlineKeyboardButton(label, callback_data=split_data(item.id)))
        keyboard.append(row)
    return keyboard


def refused(language: str, exc: LoaError | str) -> str:
    """The one-line refusal: the service's own sentence, escaped."""
    return t(language, "ed_refused", reason=escape(views.short(str(exc), 500)))


def routed_chats(session: Session, article: Article, settings: Settings) -> list[str]:
    """The chats the routes send `article` to (as its announcement and republish use)."""
    source = session.get(Source, article.source_id) if article.source_id else None
    return chats_for(
        settings.effective_routes(),
        category_slug=article.category.slug if article.category else None,
        source=source.name if source else "",
        text=f"{article.title} {article.summary}",
    )


def latest_generation(info: editorial.FoundArticle) -> int:
    """The article's newest generation among its posts (0: only the automatic post)."""
    return max((p.generation for p in info.posted), default=0)


def republish_offer(d: Deps, language: str, ref: str, chat: str | None) -> tuple[str, Keyboard]:
    """The question before a republish: the article, its chats, and the confirm button."""
    try:
        info = editorial.article_info(d.factory, ref)
        with d.factory() as session:
            article = editorial.resolve_article(session, str(info.id))
            targets = [chat] if chat else routed_chats(session, article, d.settings)
    except editorial.EditorialError as exc:
        return refused(language, exc), []
    if info.state == "withdrawn":
        return refused(language, f"article #{info.id} is withdrawn"), []
    if not targets:
        return refused(language, f"no route sends article #{info.id} to any chat"), []
    data = republish_data(info.id, latest_generation(info), chat)
    if data is None:
        return refused(language, "that chat name does not fit in a button"), []
    text = t(
        language,
        "ed_republish_confirm",
        article=views.article_line(language, info.id, info.title, info.state),
        chats=views.chat_list(targets),
    )
    return text, [
        [
            InlineKeyboardButton(t(language, "ed_button_confirm_republish"), callback_data=data),
            InlineKeyboardButton(t(language, "ed_button_cancel"), callback_data=CANCEL),
        ]
    ]


def retry_now(d: Deps, chat: str | None = None) -> int:
    """Failed deliveries back to pending, and enqueued; how many."""
    ids = editorial.retry_failed(d.factory, chat=chat)
    dispatch_publish(ids, settings=d.settings)
    return len(ids)


def check_channels(d: Deps, chats: list[str]) -> list[ChannelCheck]:
    """Telegram's view of each chat's rights (`loa channels`), on a sender of our own."""
    assert d.settings.telegram_bot_token is not None
    sender = TelegramSender(
        d.settings.telegram_bot_token.get_secret_value(), base_url=d.settings.telegram_api_base_url
    )
    try:
        return ChannelRegistry(d.factory, sender).check_all(chats)
    finally:
        sender.close()


@editor_only
async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Act on an editor's tap: offer, republish, withdraw, split, retry, resume or cancel."""
    query = update.callback_query
    assert query is not None
    data, language, d = query.data or "", lang(update, context), deps(context)
    if data == CANCEL:
        await query.answer()
        await _settle(update, t(language, "ed_cancelled"))
    elif (match := _OFFER.fullmatch(data)) is not None:
        await query.answer()
        text, keyboard = republish_offer(d, language, match.group(1), None)
        await _send(update, text, keyboard)
    elif (match := _REPUBLISH.fullmatch(data)) is not None:
        await query.answer()
        article_id, generation, chat = int(match[1]), int(match[2]), match[3]
        await _settle(update, await _republish(d, language, article_id, generation, chat))
    elif (match := _WITHDRAW.fullmatch(data)) is not None:
        await query.answer()
        await _settle(update, await _withdraw(update, d, language, int(match[1])))
    elif (match := _SPLIT.fullmatch(data)) is not None:
        await query.answer()
        await _settle(update, await _split(update, d, language, int(match[1])))
    elif data == RETRY:
        count = await asyncio.to_thread(retry_now, d)
        await query.answer(t(language, "ed_retried", count=count))
    elif data == RESUME:
        pauses = editorial.active_pauses(d.factory)
        for pause in pauses:
            editorial.resume(d.factory, pause.kind, pause.name)
        await query.answer(t(language, "ed_resumed_all", count=len(pauses)))
    else:
        await query.answer(t(language, "ed_stale"))


async def _republish(
    d: Deps, language: str, article_id: int, generation: int, chat: str | None
) -> str:
    try:
        info = editorial.article_info(d.factory, str(article_id))
        if latest_generation(info) != generation:
            return t(language, "ed_already_republished")
        channels = [c.chat for c in d.settings.effective_channels()]
        routes = d.settings.effective_routes()
        result = editorial.republish(
            d.factory, str(article_id), routes, chat=chat, channels=channels
        )
    except editorial.EditorialError as exc:
        return refused(language, exc)
    await asyncio.to_thread(dispatch_publish, result.delivery_ids, settings=d.settings)
    log.info("article %s republished (generation %s)", article_id, result.generation)
    return t(
        language,
        "ed_republished",
        id=result.article_id,
        generation=result.generation,
        chats=views.chat_list(result.chats),
    )


async def _withdraw(update: Update, d: Deps, language: str, article_id: int) -> str:
    user = update.effective_user
    try:
        info = editorial.article_info(d.factory, str(article_id))
        if info.state == "withdrawn":
            return t(language, "ed_already_withdrawn", id=info.id)
        editorial.withdraw(d.factory, str(article_id), by=f"editor {user.id if user else '?'}")
    except editorial.EditorialError as exc:
        return refused(language, exc)
    await asyncio.to_thread(dispatch_withdrawn, article_id, settings=d.settings, factory=d.factory)
    return t(language, "ed_withdrawn", id=article_id)


async def _split(update: Update, d: Deps, language: str, article_id: int) -> str:
    """Split the article out of its story (tasks.story_split: sends, edits, feeds enqueued)."""
    user = update.effective_user

    try:
        outcome = await asyncio.to_thread(
            split_and_follow, d.settings, d.factory, article_id, by=user.id if user else None
        )
    except LoaError as exc:  # an unknown article
        return refused(language, exc)
    log.info("article %s split out of its story by %s", article_id, user.id if user else "?")
    return views.split_text(language, outcome)


async def _settle(update: Update, text: str) -> None:
    """Replace the question with the outcome, dropping its buttons (no second tap)."""
    query = update.callback_query
    assert query is not None
    await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=None)


async def _send(update: Update, text: str, keyboard: Keyboard) -> None:
    message = update.effective_message
    assert message is not None
    markup = InlineKeyboardMarkup(keyboard) if keyboard else None
    await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
