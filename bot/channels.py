"""Channels as Telegram knows them: numeric ids, rights, and failures.

A channel configured as ``@name`` is resolved once with ``getChat`` and its
numeric id kept in the database (names can be changed by their owners; ids
cannot). A group that migrates to a supergroup gets its new id recorded. A
chat Telegram refuses (bot blocked, kicked, no rights, chat not found) is
marked failed, an event tells the editors, and no more sends are attempted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from bot.classify import Verdict, classify
from bot.errors import ChannelUnusable, DeliveryError
from bot.render import BotRequest
from bot.senders import Sender
from news.db import utcnow, write_session
from news.events import record_event
from news.models import Channel, ChannelStatus, EventKind

log = logging.getLogger(__name__)


#: Failures that say nothing about a chat's rights: Telegram down, throttled, token refused.
_NOT_ABOUT_THE_CHAT = (Verdict.RETRY, Verdict.RATE_LIMITED, Verdict.TOKEN_REJECTED)


@dataclass(frozen=True)
class ChannelCheck:
    """What a start-up check found for one configured chat."""

    configured: str
    chat_id: str | None
    title: str | None
    can_post: bool
    can_edit: bool
    problem: str | None
    #: Telegram could not answer now (down, 429, token refused): nothing was
    #: concluded about the chat, the check is worth repeating later.
    retry: bool = False


@dataclass(frozen=True)
class BotRights:
    """What the bot may do in a chat, read from getChat + getChatMember answers."""

    can_post: bool
    can_edit: bool
    can_delete: bool
    #: why Loa cannot work as intended there (None: all is well)
    problem: str | None


def bot_rights(chat: dict[str, Any], member: dict[str, Any]) -> BotRights:
    """The bot's rights from Telegram's answers (`loa channels`, `loa doctor`, start-up).

    In a channel the bot must be an administrator allowed to post and edit
    (corrections) and, to withdraw posts, delete; in a group a plain member
    may post and edit or delete its own messages.
    """
    admin = member.get("status") in ("administrator", "creator")
    is_channel = chat.get("type") == "channel"
    can_post = admin and (not is_channel or bool(member.get("can_post_messages", True)))
    can_edit = admin and (not is_channel or bool(member.get("can_edit_messages", True)))
    can_delete = admin and (not is_channel or bool(member.get("can_delete_messages", True)))
    if not can_post and not is_channel and member.get("status") == "member":
        can_post = can_delete = True  # plain group members may post (and delete their own)
    problem = None if can_post else "the bot is not an administrator allowed to post"
    if can_post and not can_edit and is_channel:
        problem = "the bot may post but not edit: corrections cannot be applied"
    return BotRights(can_post, can_edit, can_delete, problem)


class ChannelRegistry:
    """Maps configured chats to numeric ids and remembers which ones failed."""

    def __init__(self, factory: sessionmaker[Session], sender: Sender):
        self.factory = factory
        self.sender = sender

    def _row(self, session: Session, configured: str) -> Channel:
        row = session.scalar(select(Channel).where(Channel.configured == configured))
        if row is None:
            row = Channel(configured=configured, status=ChannelStatus.UNKNOWN)
            session.add(row)
            session.flush()
        return row

    def target(self, configured: str) -> str:
        """The chat id to send to; raises ChannelUnusable for a failed channel.

        Called for every message, so the common case (a known channel) is a
        read; the row is written only the first time a chat is seen.
        """
        with self.factory() as session:
            row = session.scalar(select(Channel).where(Channel.configured == configured))
            known = row is not None
            if row is not None and row.status == ChannelStatus.FAILED:
                raise ChannelUnusable(row.last_error or "channel failed", chat_id=configured)
            if row is not None and row.chat_id:
                return row.chat_id
        if not known:
            with write_session(self.factory) as session:
                self._row(session, configured)
        if not configured.startswith("@") or getattr(self.sender, "dry_run", False):
            return configured
        chat = self.sender.send(BotRequest("getChat", {"chat_id": configured}), key="getChat")
        with write_session(self.factory) as session:
            row = self._row(session, configured)
            row.chat_id = str(chat["id"])
            row.title = chat.get("title")
            return row.chat_id

    def targets(self, chats: list[str]) -> dict[str, str]:
        """:meth:`target` for many chats at once: one read, one write for chats not seen yet.

        A fan-out asks once per batch instead of once per message. Chats left
        out of the answer (failed channels, @names not resolved yet) go through
        :meth:`target`, which raises or resolves them one by one.
        """
        wanted = list(dict.fromkeys(chats))
        if not wanted:
            return {}
        dry_run = bool(getattr(self.sender, "dry_run", False))
        with self.factory() as session:
            rows = session.execute(
                select(Channel.configured, Channel.status, Channel.chat_id).where(
                    Channel.configured.in_(wanted)
                )
            ).all()
        known = {configured for configured, _, _ in rows}
        found: dict[str, str] = {}
        for configured, status, chat_id in rows:
            if status == ChannelStatus.FAILED:
                continue
            if chat_id:
                found[configured] = chat_id
            elif not configured.startswith("@") or dry_run:
                found[configured] = configured
        new = [chat for chat in wanted if chat not in known and not chat.startswith("@")]
        if new:
            with write_session(self.factory) as session:
                session.execute(
                    _insert_ignoring_conflicts(session),
                    [{"configured": chat, "status": ChannelStatus.UNKNOWN} for chat in new],
                )
            found.update({chat: chat for chat in new})
        return found

    def mark_failed(self, configured: str, reason: str) -> None:
        """Stop sending to `configured` and tell the editors why."""
        with write_session(self.factory) as session:
            row = self._row(session, configured)
            if row.status == ChannelStatus.FAILED:
                return
            row.status = ChannelStatus.FAILED
            row.last_error = reason[:2000]
            record_event(session, EventKind.CHANNEL_FAILED, f"channel {configured}: {reason}")
        log.error("channel %s failed: %s", configured, reason)

    def migrate(self, configured: str, new_chat_id: int) -> None:
        """Record the supergroup id a group moved to."""
        with write_session(self.factory) as session:
            self._row(session, configured).chat_id = str(new_chat_id)
        log.warning("chat %s migrated to %s", configured, new_chat_id)

    def check(self, configured: str) -> ChannelCheck:
        """Resolve the chat and ask Telegram whether the bot may post and edit there."""
        try:
            chat = self.sender.send(BotRequest("getChat", {"chat_id": configured}), key="getChat")
            me = self.sender.send(BotRequest("getMe", {}), key="getMe")
            member = self.sender.send(
                BotRequest("getChatMember", {"chat_id": chat["id"], "user_id": me["id"]}),
                key="getChatMember",
            )
        except DeliveryError as exc:
            if classify(exc) in _NOT_ABOUT_THE_CHAT:
                log.warning("channel %s not checked: %s", configured, exc)
                return ChannelCheck(configured, None, None, False, False, str(exc), retry=True)
            result = ChannelCheck(configured, None, None, False, False, str(exc))
        else:
            rights = bot_rights(chat, member)
            result = ChannelCheck(
                configured,
                str(chat["id"]),
                chat.get("title"),
                rights.can_post,
                rights.can_edit,
                rights.problem,
            )
        with write_session(self.factory) as session:
            row = self._row(session, configured)
            row.chat_id = result.chat_id or row.chat_id
            row.title = result.title or row.title
            row.can_post, row.can_edit = result.can_post, result.can_edit
            row.checked_at = utcnow()
            if result.can_post:
                if row.status == ChannelStatus.FAILED:
                    recovered = f"channel {configured} works again"
                    record_event(session, EventKind.CHANNEL_RECOVERED, recovered)
                row.status, row.last_error = ChannelStatus.OK, result.problem
        if not result.can_post:
            self.mark_failed(configured, result.problem or "the bot may not post here")
        return result

    def check_all(self, chats: list[str]) -> list[ChannelCheck]:
        """Check every chat; a check Telegram could not answer has `retry` set."""
        return [self.check(chat) for chat in chats]


def _insert_ignoring_conflicts(session: Session) -> Insert:
    """INSERT … ON CONFLICT (configured) DO NOTHING: another worker may add the row first."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return insert(Channel).on_conflict_do_nothing(index_elements=["configured"])
