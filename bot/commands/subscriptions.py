"""/subscribe, /unsubscribe, /mysubs, their buttons, and the `?start=cat_<slug>` deep link.

Every action is on the subscriptions of the user who sent the update (its
`from` id), never on ids carried in button data, so a forged button can at
most act on the presser's own subscriptions. New articles then reach the
reader through the delivery ledger (news.announce), like channel posts.

Button data: `sub:c:<category id>` and `sub:a` (subscribe, after a deep link
or a suggestion), `uns:<subscription id>` (remove, from /mysubs).
"""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.commands.common import deps, lang
from bot.i18n import t
from news.reader_queries import CategoryInfo, categories_with_counts, match_category
from news.subscriptions import (
    MAX_SUBSCRIPTIONS,
    SubscribeResult,
    SubscriptionError,
    SubscriptionInfo,
    find_subscription,
    remove_subscription,
    subscribe,
    subscriptions_of,
)
from news.text import slugify

MAX_ECHO = 100
_SUB_DATA = re.compile(r"sub:(?:c:(\d{1,9})|(a))")
_UNSUB_DATA = re.compile(r"uns:(\d{1,12})")
_DEEP_LINK = re.compile(r"cat_([a-z0-9-]{1,60})|(all)")


def label(language: str, sub: SubscriptionInfo) -> str:
    """How a subscription is named to its reader."""
    if sub.category is not None:
        return sub.category
    if sub.keywords is not None:
        return t(language, "label_keywords", words=sub.keywords)
    return t(language, "label_all")


def _echo(text: str) -> str:
    return text if len(text) <= MAX_ECHO else text[:MAX_ECHO] + "…"


#: What a reader types to follow everything rather than a keyword ("all" is not news).
EVERYTHING_WORDS = frozenset({"all", "everything", "tat-ca", "tat-ca-tin", "moi-tin"})


def _subscribe_row(category: CategoryInfo) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(category.name, callback_data=f"sub:c:{category.id}")]


def _confirmation(language: str, result: SubscribeResult) -> str:
    name = label(language, result.subscription)
    return t(language, "sub_done" if result.created else "sub_already", label=name)


async def _in_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Subscriptions arrive in private: in a group, point the reader at the private chat."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return False
    message = update.effective_message
    if message is not None:
        link = f"https://t.me/{context.bot.username}"
        await message.reply_text(t(lang(update, context), "sub_private_only", link=link))
    return True


async def subscribe_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Follow a category (matched as in /latest) or, failing that, the words as keywords."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or await _in_group(update, context):
        return
    language, d = lang(update, context), deps(context)
    query = " ".join(context.args or []).strip()
    categories = categories_with_counts(d.factory)
    if not query:
        rows = [_subscribe_row(c) for c in categories[:30]]
        rows.append([InlineKeyboardButton(t(language, "label_all"), callback_data="sub:a")])
        await message.reply_text(t(language, "sub_hint"), reply_markup=InlineKeyboardMarkup(rows))
        return
    match = match_category(categories, query)
    try:
        if slugify(query) in EVERYTHING_WORDS:  # "/subscribe all", "/subscribe tất cả"
            result = subscribe(d.factory, user.id, language=language)
        elif match.found is not None:
            result = subscribe(d.factory, user.id, category_id=match.found.id, language=language)
        else:
            result = subscribe(d.factory, user.id, keywords=query, language=language)
    except SubscriptionError as exc:
        await message.reply_text(_refusal(language, exc))
        return
    text = _confirmation(language, result)
    markup = None
    if match.found is None and match.suggestions:
        text += "\n" + t(language, "sub_did_you_mean")
        markup = InlineKeyboardMarkup([_subscribe_row(c) for c in match.suggestions])
    await message.reply_text(text, reply_markup=markup)


def _refusal(language: str, exc: SubscriptionError) -> str:
    if exc.reason == "too_many":
        return t(language, "sub_too_many", max=MAX_SUBSCRIPTIONS)
    if exc.reason == "no_category":
        return t(language, "stale_button")
    return t(language, "sub_bad_keywords")


async def unsubscribe_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop following what the words name; with no words, show /mysubs."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or await _in_group(update, context):
        return
    query = " ".join(context.args or []).strip()
    if not query:
        await mysubs(update, context)
        return
    language, d = lang(update, context), deps(context)
    found = find_subscription(subscriptions_of(d.factory, user.id), query)
    if found is None:
        await message.reply_text(t(language, "unsub_unknown", query=_echo(query)))
        return
    remove_subscription(d.factory, user.id, found.id)
    await message.reply_text(t(language, "unsub_done", label=label(language, found)))


def _mysubs_view(
    language: str, subs: list[SubscriptionInfo]
) -> tuple[str, InlineKeyboardMarkup | None]:
    if not subs:
        return t(language, "mysubs_empty"), None
    rows = [
        [InlineKeyboardButton(f"✖ {label(language, s)}", callback_data=f"uns:{s.id}")] for s in subs
    ]
    return t(language, "mysubs_title"), InlineKeyboardMarkup(rows)


async def mysubs(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The reader's subscriptions, each with a button that removes it."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or await _in_group(update, context):
        return
    language = lang(update, context)
    text, markup = _mysubs_view(language, subscriptions_of(deps(context).factory, user.id))
    await message.reply_text(text, reply_markup=markup)


async def subscription_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A subscribe (`sub:`) or remove (`uns:`) button, always on the presser's own data."""
    query = update.callback_query
    if query is None:
        return
    language, d, user_id = lang(update, context), deps(context), query.from_user.id
    data = query.data or ""
    if (found := _SUB_DATA.fullmatch(data)) is not None:
        category_id = int(found[1]) if found[1] else None
        try:
            result = subscribe(d.factory, user_id, category_id=category_id, language=language)
        except SubscriptionError as exc:
            await query.answer(_refusal(language, exc))
            return
        text = _confirmation(language, result)
        if query.message is not None:
            await query.edit_message_text(text)
        await query.answer(text[:200])
        return
    if (found := _UNSUB_DATA.fullmatch(data)) is not None:
        removed = remove_subscription(d.factory, user_id, int(found[1]))
        text, markup = _mysubs_view(language, subscriptions_of(d.factory, user_id))
        if query.message is not None and removed:
            await query.edit_message_text(text, reply_markup=markup)
        await query.answer(t(language, "unsub_tapped" if removed else "stale_button"))
        return
    await query.answer(t(language, "stale_button"))


async def offer_deep_link(update: Update, context: ContextTypes.DEFAULT_TYPE, payload: str) -> bool:
    """`/start cat_<slug>` or `/start all` (from a t.me link): ask once, subscribe on the tap.

    Returns False when the payload is not a subscription link (plain /start goes on).
    """
    found = _DEEP_LINK.fullmatch(payload)
    message = update.effective_message
    if found is None or message is None:
        return False
    language = lang(update, context)
    if found[2]:
        name, data = t(language, "label_all"), "sub:a"
    else:
        slug = found[1]
        category = next(
            (c for c in categories_with_counts(deps(context).factory) if c.slug == slug), None
        )
        if category is None:
            await message.reply_text(t(language, "no_such_category", query=slug))
            return True
        name, data = category.name, f"sub:c:{category.id}"
    button = InlineKeyboardButton(t(language, "sub_confirm_button"), callback_data=data)
    await message.reply_text(
        t(language, "sub_confirm", label=name), reply_markup=InlineKeyboardMarkup([[button]])
    )
    return True
