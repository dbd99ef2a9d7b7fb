"""Injecting what users do: messages, edits, stickers, forwards, button presses, inline queries.

Injected updates go to the update log (getUpdates or the webhook delivers them). Messages
are also recorded like bot messages, so ``messages()`` shows a whole conversation.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from .errors import ControlError
from .models import Chat, MessageRecord, User, message_json
from .state import State

_COMMAND_RE = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


class Injection:
    """Control-API methods that create incoming updates (mixed into ``Control``)."""

    state: State

    def create_user(
        self,
        user_id: int | None = None,
        first_name: str = "Reader",
        username: str | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        """Provided by ``Control``; injection creates unknown users on the fly."""
        raise NotImplementedError

    def _user(self, user_id: int | None) -> User:
        with self.state.lock:
            if user_id is None:
                user_id = next(iter(self.state.users), None) or 777_000_001
            if user_id not in self.state.users:
                self.create_user(user_id, first_name=f"User {user_id}")
            return self.state.users[user_id]

    def inject_message(
        self,
        chat_id: int | str,
        text: str,
        user_id: int | None = None,
        bot_id: int | None = None,
        forward_from: int | str | None = None,
    ) -> dict[str, Any]:
        """A user writes in a chat; bot commands get their bot_command entities.

        ``forward_from`` (a chat id, ``@username`` or user id) makes it a forwarded
        message with a ``forward_origin`` (type channel, chat or user).
        """
        with self.state.lock:
            chat = self.state.require_chat(chat_id)
            user = self._user(chat.id if chat.type == "private" else user_id)
            record = self._new_record(chat, user, text=text, entities=command_entities(text))
            if forward_from is not None:
                record.forward_origin = self._origin(forward_from)
            return self._add_incoming(record, chat, user, bot_id)

    def inject_sticker(
        self,
        chat_id: int | str,
        user_id: int | None = None,
        emoji: str = "👍",
        bot_id: int | None = None,
    ) -> dict[str, Any]:
        """A user sends a sticker: a message with a ``sticker`` and no text."""
        with self.state.lock:
            chat = self.state.require_chat(chat_id)
            user = self._user(chat.id if chat.type == "private" else user_id)
            record = self._new_record(chat, user)
            file_id = f"sticker_{secrets.token_hex(8)}"
            record.sticker = {
                "file_id": file_id, "file_unique_id": file_id[-12:], "type": "regular",
                "width": 512, "height": 512, "is_animated": False, "is_video": False,
                "emoji": emoji,
            }  # fmt: skip
            return self._add_incoming(record, chat, user, bot_id)

    def inject_edited_message(
        self,
        chat_id: int | str,
        message_id: int,
        text: str,
        bot_id: int | None = None,
    ) -> dict[str, Any]:
        """The author edits an injected message: ``edited_message`` (``edited_channel_post``).

        The record keeps its history like a bot's edited message does.
        """
        with self.state.lock:
            chat = self.state.require_chat(chat_id)
            record = self.state.message(chat.id, message_id)
            if record is None or record.from_user_id is None:
                raise ControlError(f"no injected message {message_id} in chat {chat.id}")
            user = self.state.users.get(record.from_user_id)
            record.text, record.entities = text, command_entities(text)
            record.edit_date = int(self.state.clock.time())
            record.edited_at = self.state.clock.monotonic()
            record.snapshot("inject_edit", text)
            body = message_json(record, chat, user)
            kind = "edited_channel_post" if chat.type == "channel" else "edited_message"
            return self.state.updates.add(bot_id, kind, body)

    def _new_record(self, chat: Chat, user: User, **content: Any) -> MessageRecord:
        return MessageRecord(
            chat_id=chat.id, message_id=self.state.next_message_id(chat), method="inject",
            date=int(self.state.clock.time()), accepted_at=self.state.clock.monotonic(),
            from_user_id=user.id, **content,
        )  # fmt: skip

    def _add_incoming(
        self, record: MessageRecord, chat: Chat, user: User, bot_id: int | None
    ) -> dict[str, Any]:
        """Record an injected message and queue its update (channel_post in a channel)."""
        self.state.add_message(record)
        record.snapshot("inject", record.text)
        body = message_json(record, chat, user)
        kind = "channel_post" if chat.type == "channel" else "message"
        return self.state.updates.add(bot_id, kind, body)

    def _origin(self, ref: int | str) -> dict[str, Any]:
        """The MessageOrigin of a forward from a known chat or user."""
        date = int(self.state.clock.time()) - 60
        source = self.state.find_chat(ref)
        if source is not None and source.type != "private":
            kind = "channel" if source.type == "channel" else "chat"
            origin: dict[str, Any] = {"type": kind, "date": date, "chat": source.json()}
            if kind == "channel":
                origin["message_id"] = source.next_message_id
            else:
                origin["sender_chat"] = origin.pop("chat")
            return origin
        user_id = source.id if source is not None else ref
        user = self.state.users.get(user_id) if isinstance(user_id, int) else None
        if user is None:
            raise ControlError(f"unknown chat or user {ref!r} to forward from")
        return {"type": "user", "date": date, "sender_user": user.json()}

    def inject_command(
        self,
        chat_id: int | str,
        command: str,
        args: str = "",
        user_id: int | None = None,
        bot_id: int | None = None,
    ) -> dict[str, Any]:
        """Shorthand for inject_message(chat, "/command args")."""
        text = "/" + command.lstrip("/") + (f" {args}" if args else "")
        return self.inject_message(chat_id, text, user_id=user_id, bot_id=bot_id)

    def inject_callback_query(
        self,
        chat_id: int | str,
        message_id: int,
        data: str,
        user_id: int | None = None,
        bot_id: int | None = None,
    ) -> dict[str, Any]:
        """A user presses an inline button (its callback_data must exist on that message)."""
        with self.state.lock:
            chat = self.state.require_chat(chat_id)
            record = self.state.message(chat.id, message_id)
            if record is None:
                raise ControlError(f"no message {message_id} in chat {chat.id}")
            buttons = (record.reply_markup or {}).get("inline_keyboard", [])
            if not any(b.get("callback_data") == data for row in buttons for b in row):
                raise ControlError(f"message {message_id} has no button with data {data!r}")
            user = self._user(chat.id if chat.type == "private" else user_id)
            sender = self.state.bots.get(record.bot_id or -1)
            query_id = str(secrets.randbits(63))
            target = bot_id or record.bot_id
            self.state.callback_queries[query_id] = {"bot_id": target, "answered": False}
            body = {
                "id": query_id, "from": user.json(), "chat_instance": str(abs(chat.id)),
                "data": data,
                "message": message_json(record, chat, sender.user if sender else None),
            }  # fmt: skip
            return self.state.updates.add(target, "callback_query", body)

    def inject_inline_query(
        self, query: str, user_id: int | None = None, offset: str = "", bot_id: int | None = None
    ) -> dict[str, Any]:
        """A user types ``@bot query`` somewhere."""
        with self.state.lock:
            user = self._user(user_id)
            query_id = str(secrets.randbits(63))
            self.state.inline_queries[query_id] = {"bot_id": bot_id, "answered": False}
            body = {"id": query_id, "from": user.json(), "query": query, "offset": offset}
            return self.state.updates.add(bot_id, "inline_query", body)


def command_entities(text: str) -> list[dict[str, Any]]:
    """bot_command entities as Telegram detects them (UTF-16 offsets)."""
    entities = []
    for match in _COMMAND_RE.finditer(text):
        offset = len(text[: match.start()].encode("utf-16-le")) // 2
        length = len(match.group().encode("utf-16-le")) // 2
        entities.append({"type": "bot_command", "offset": offset, "length": length})
    return entities
