"""/addsource <URL>: propose a new source from any page of a site, add it on a tap.

The same proposal as ``loa add-source`` (news.discovery.propose), run in a
thread so the bot keeps answering. The reply shows what was found and the
YAML, with two buttons; only the confirm tap writes, to the running config
file (settings.config_file) through config.yaml_append, and ``loa run``
restarts its worker, beat and bot when that file changes.

Button data is small (``as:y:<id>`` / ``as:n:<id>``): the proposal waits in
``bot_data`` under a short random id for `PENDING_TTL` seconds. A confirm is
idempotent: the first tap takes the proposal out under a lock, and a second
tap, or the same update delivered twice, finds it gone and is told "already
added". Editors only, for the command and the buttons alike.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from dataclasses import dataclass, field
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot import editor_views as views
from bot.commands.common import NO_PREVIEW, deps, lang
from bot.commands.editor_guard import editor_only
from bot.i18n import t
from news.discovery.entries import best_score, proposed_yaml, write_proposal
from news.discovery.model import Proposal
from news.discovery.propose import propose_source
from news.errors import LoaError

PATTERN = r"^as:"
PENDING_KEY = "loa.addsource"
#: seconds a proposal waits for its confirm tap
PENDING_TTL = 3600.0
#: attempts listed in a refusal, and characters of YAML in a reply (Telegram's 4096 limit)
ATTEMPTS_SHOWN = 12
YAML_CHARS = 2500
_DATA = re.compile(r"as:([yn]):([0-9a-f]{8})")


@dataclass
class Pending:
    """The proposals waiting for a tap, and the ids already settled (for "already added")."""

    proposals: dict[str, tuple[Proposal, float]] = field(default_factory=dict)
    settled: dict[str, tuple[str, float]] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def expire(self, now: float) -> None:
        for table in (self.proposals, self.settled):
            for key in [k for k, (_, at) in table.items() if now - at > PENDING_TTL]:
                del table[key]


def pending(context: ContextTypes.DEFAULT_TYPE) -> Pending:
    """The bot's waiting proposals (one store per application)."""
    store = context.bot_data.get(PENDING_KEY)
    if not isinstance(store, Pending):
        store = context.bot_data[PENDING_KEY] = Pending()
    return store


@editor_only
async def addsource_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/addsource <URL>: find what to watch there and offer to add it to the config."""
    message = update.effective_message
    assert message is not None
    language, args, d = lang(update, context), list(context.args or []), deps(context)
    if len(args) != 1:
        await message.reply_text(t(language, "as_usage"))
        return
    url = args[0]
    working = await message.reply_text(
        t(language, "as_searching", url=views.short(url, 300)), link_preview_options=NO_PREVIEW
    )
    try:
        proposal = await asyncio.to_thread(propose_source, url, d.settings)
    except LoaError as exc:  # HostNotAllowed: a URL Loa may not fetch at all
        await _show(working, t(language, "ed_refused", reason=escape(views.short(str(exc), 500))))
        return
    if not proposal.ok:
        await _show(working, _nothing(language, proposal))
        return
    text = _summary(language, proposal)
    if d.settings.config_file is None:
        await _show(working, text + "\n\n" + escape(t(language, "as_no_config")))
        return
    key = secrets.token_hex(4)
    store = pending(context)
    now = time.monotonic()
    store.expire(now)
    store.proposals[key] = (proposal, now)
    keyboard = [
        [
            InlineKeyboardButton(t(language, "as_button_add"), callback_data=f"as:y:{key}"),
            InlineKeyboardButton(t(language, "as_button_cancel"), callback_data=f"as:n:{key}"),
        ]
    ]
    await _show(working, text, InlineKeyboardMarkup(keyboard))


@editor_only
async def addsource_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The confirm or cancel tap under a proposal."""
    query = update.callback_query
    assert query is not None
    language, d = lang(update, context), deps(context)
    match = _DATA.fullmatch(query.data or "")
    if match is None:
        await query.answer(t(language, "ed_stale"))
        return
    confirm, key = match[1] == "y", match[2]
    store = pending(context)
    async with store.lock:  # one tap at a time: the second sees the first's outcome
        store.expire(time.monotonic())
        entry = store.proposals.pop(key, None)
        if entry is None:
            done = store.settled.get(key)
            already = done is not None and done[0] == "added"
            await query.answer(t(language, "as_already_added" if already else "as_stale"))
            return
        proposal = entry[0]
        if not confirm:
            store.settled[key] = ("cancelled", time.monotonic())
            await query.answer()
            await _settle(update, escape(t(language, "as_cancelled")))
            return
        path = d.settings.config_file
        if path is None:
            await query.answer()
            await _settle(update, escape(t(language, "as_no_config")))
            return
        try:
            await asyncio.to_thread(write_proposal, proposal, path)
        except LoaError as exc:  # a duplicate name or URL, a file that would not load
            store.proposals[key] = entry  # fix the file or cancel: the question stays
            await query.answer()
            reason = escape(views.short(str(exc), 500))
            await _reply(update, t(language, "as_not_written", reason=reason))
            return
        store.settled[key] = ("added", time.monotonic())
    assert proposal.source is not None
    await query.answer()
    name = escape(str(proposal.source["name"]))
    await _settle(update, t(language, "as_added", name=name, file=escape(str(path))))


def _summary(language: str, proposal: Proposal) -> str:
    """Kind, address, method and score, articles and the YAML, all escaped."""
    chosen = proposal.chosen
    assert chosen is not None and proposal.source is not None
    best = best_score(proposal, chosen.url)
    score = next(
        (s.score for s in proposal.scores.get(chosen.url, ()) if s.method == proposal.method),
        best.score if best else 0.0,
    )
    yaml = proposed_yaml(proposal)
    if len(yaml) > YAML_CHARS:
        yaml = yaml[:YAML_CHARS] + "…"
    return t(
        language,
        "as_proposal",
        kind=escape(chosen.kind),
        url=escape(views.short(chosen.url, 300)),
        method=escape(proposal.method or "zero-config"),
        score=f"{score:.2f}",
        articles=len(chosen.article_urls),
        yaml=escape(yaml),
    )


def _nothing(language: str, proposal: Proposal) -> str:
    lines = [
        f"• {escape(views.short(a.what, 150))}: {escape(views.short(a.outcome, 150))}"
        for a in proposal.attempts[:ATTEMPTS_SHOWN]
    ]
    if len(proposal.attempts) > ATTEMPTS_SHOWN:
        lines.append(f"… (+{len(proposal.attempts) - ATTEMPTS_SHOWN})")
    url = escape(views.short(proposal.url, 300))
    return t(language, "as_nothing", url=url, attempts="\n".join(lines))


async def _show(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Turn the "looking…" message into the result."""
    await message.edit_text(
        text, parse_mode=ParseMode.HTML, reply_markup=markup, link_preview_options=NO_PREVIEW
    )


async def _settle(update: Update, text: str) -> None:
    """Replace the question with its outcome, dropping the buttons."""
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_text(
            text, parse_mode=ParseMode.HTML, reply_markup=None, link_preview_options=NO_PREVIEW
        )
    except BadRequest as exc:
        if "not modified" not in str(exc):
            raise


async def _reply(update: Update, text: str) -> None:
    message = update.effective_message
    assert message is not None
    await message.reply_text(text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW)
