"""The control API: how tests arrange the world and look at what the bot did.

These are plain synchronous methods (``Emulator`` inherits them); ``control_http.py``
exposes the same names under ``/_emulator/<name>`` for tests that run Loa out of process.
Misuse (an unknown chat, a bad setting) raises ``ValueError``/``ControlError`` at once:
an arrangement error should fail the test, not look like a Telegram reply.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .clock import Clock
from .errors import ControlError
from .faults import Fault
from .injection import Injection
from .limits import Limits
from .models import Chat, Membership, MessageRecord, User
from .state import Bot, Settings, State


class Control(Injection):
    """Arrange chats, users, limits and faults; inject updates; read the record."""

    def __init__(self, clock: Clock | None = None, settings: Settings | None = None) -> None:
        self.state = State(clock=clock, settings=settings)

    @property
    def clock(self) -> Clock:
        return self.state.clock

    # --- world ----------------------------------------------------------------------------

    def create_bot(self, token: str | None = None, username: str | None = None) -> dict[str, Any]:
        """Register a bot (needed only with auto_register_bots=False); returns token and id."""
        bot = self.state.register_bot(token or State.new_token(), username)
        return {"token": bot.token, "id": bot.user.id, "username": bot.user.username}

    def create_user(
        self,
        user_id: int | None = None,
        first_name: str = "Reader",
        username: str | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        """A user and their private chat with the bots (same id)."""
        with self.state.lock:
            uid = user_id or self.state.new_chat_id("private")
            user = User(uid, first_name, username=username, language_code=language_code)
            self.state.users[uid] = user
            if uid not in self.state.chats:
                self.state.chats[uid] = Chat(
                    id=uid, type="private", first_name=first_name, username=username
                )
            return user.json()

    def create_chat(
        self,
        type: str = "channel",
        chat_id: int | None = None,
        username: str | None = None,
        title: str | None = None,
        bot_status: str | None = None,
        can_post_messages: bool = True,
        can_edit_messages: bool = True,
        can_delete_messages: bool = True,
    ) -> dict[str, Any]:
        """Create a channel/group/supergroup (or a private chat: see create_user).

        ``bot_status`` is every bot's default standing there: channels default to
        "administrator" with post/edit/delete rights, groups to "member".
        """
        if type == "private":
            return self.create_user(chat_id, title or "Reader", username)
        if type not in ("group", "supergroup", "channel"):
            raise ControlError(f"unknown chat type {type!r}")
        with self.state.lock:
            cid = chat_id or self.state.new_chat_id(type)
            if cid in self.state.chats:
                raise ControlError(f"chat {cid} already exists")
            name = username.lstrip("@") if username else None
            if name and self.state.find_chat("@" + name) is not None:
                raise ControlError(f"username @{name} is taken")
            chat = Chat(id=cid, type=type, title=title or name or f"{type} {cid}", username=name)
            status = bot_status or ("administrator" if type == "channel" else "member")
            chat.members[None] = Membership(
                status, can_post_messages, can_edit_messages, can_delete_messages
            )
            self.state.chats[cid] = chat
            return chat.json()

    def set_bot_rights(
        self,
        chat_id: int | str,
        status: str = "administrator",
        can_post_messages: bool = True,
        can_edit_messages: bool = True,
        can_delete_messages: bool = True,
        bot_id: int | None = None,
    ) -> None:
        """Set a bot's standing in a chat (bot_id=None: the default for every bot)."""
        if status not in ("creator", "administrator", "member", "restricted", "left", "kicked"):
            raise ControlError(f"unknown member status {status!r}")
        with self.state.lock:
            chat = self.state.require_chat(chat_id)
            chat.members[bot_id] = Membership(
                status, can_post_messages, can_edit_messages, can_delete_messages
            )

    def block_user(self, user_id: int, blocked: bool = True, bot_id: int | None = None) -> None:
        """The user blocks (or unblocks) the bot(s): sends then get 403."""
        with self.state.lock:
            chat = self.state.require_chat(user_id)
            if chat.type != "private":
                raise ControlError(f"{user_id} is not a private chat")
            if blocked:
                chat.blocked_by_user.add(bot_id)
            else:
                chat.blocked_by_user.discard(bot_id)

    def migrate_group(self, chat_id: int | str, new_chat_id: int | None = None) -> int:
        """Upgrade a group to a supergroup; the old id then answers 400 + migrate_to_chat_id."""
        with self.state.lock:
            old = self.state.require_chat(chat_id)
            if old.type != "group":
                raise ControlError(f"chat {old.id} is a {old.type}, not a group")
            if old.migrated_to is not None:
                return old.migrated_to
            new_id = new_chat_id or self.state.new_chat_id("supergroup")
            new = Chat(id=new_id, type="supergroup", title=old.title, migrated_from=old.id)
            new.members = {k: Membership(**asdict(v)) for k, v in old.members.items()}
            self.state.chats[new_id] = new
            old.migrated_to = new_id
            return new_id

    def set_limits(self, **changes: Any) -> dict[str, Any]:
        """Change rate limits, e.g. set_limits(enabled=False) or global_per_second=1000."""
        with self.state.lock:
            self.state.limiter.limits = self.state.limiter.limits.updated(**changes)
            return self.state.limiter.limits.as_dict()

    def limits(self) -> Limits:
        return self.state.limiter.limits

    def set_settings(self, **changes: Any) -> dict[str, Any]:
        """Change behaviour switches: auto_register_bots, strict_html_ampersand, ..."""
        with self.state.lock:
            for key, value in changes.items():
                if not hasattr(self.state.settings, key):
                    raise ControlError(f"unknown setting {key!r}")
                setattr(self.state.settings, key, value)
            return asdict(self.state.settings)

    def add_fault(
        self,
        kind: str,
        chat_id: int | str | None = None,
        times: int | None = None,
        duration: float | None = None,
        methods: list[str] | None = None,
        **options: Any,
    ) -> int:
        """Inject a failure (see faults.KINDS); returns its id for inspection."""
        with self.state.lock:
            if isinstance(chat_id, str):
                chat = self.state.find_chat(chat_id)
                chat_id = chat.id if chat is not None else chat_id
            fault = self.state.faults.add(
                kind, now=self.state.clock.monotonic(), chat_id=chat_id, times=times,
                duration=duration, methods=methods, **options,
            )  # fmt: skip
            return fault.id

    def clear_faults(self, chat_id: int | str | None = None) -> None:
        """Remove all faults, or those of one chat."""
        with self.state.lock:
            if isinstance(chat_id, str):
                chat = self.state.find_chat(chat_id)
                chat_id = chat.id if chat is not None else chat_id
            self.state.faults.clear(chat_id)

    def faults(self) -> list[Fault]:
        with self.state.lock:
            return self.state.faults.active()

    def advance_clock(self, seconds: float) -> None:
        """Move emulated time forward (48 h delete window, rate windows, fault durations)."""
        self.state.clock.advance(seconds)

    def reset(self) -> None:
        """Back to an empty Telegram (settings, limits and clock are kept)."""
        self.state.reset()

    # --- inspection -----------------------------------------------------------------------

    def messages(
        self, chat_id: int | str | None = None, include_deleted: bool = True
    ) -> list[MessageRecord]:
        """Accepted messages in acceptance order (bot-sent and injected), with edit history."""
        with self.state.lock:
            wanted = None if chat_id is None else self.state.require_chat(chat_id).id
            return [
                m
                for m in self.state.order
                if (wanted is None or m.chat_id == wanted) and (include_deleted or not m.deleted)
            ]

    def sent(self, chat_id: int | str | None = None) -> list[MessageRecord]:
        """Only messages the bots sent (not injected ones), deleted included."""
        return [m for m in self.messages(chat_id) if m.bot_id is not None]

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """Every Bot API request received (method, params, HTTP status)."""
        with self.state.lock:
            return [asdict(c) for c in self.state.calls if method in (None, c.method)]

    def answers(self) -> list[dict[str, Any]]:
        """answerCallbackQuery / answerInlineQuery calls, in order."""
        with self.state.lock:
            return list(self.state.answers)

    def chat(self, chat_id: int | str) -> dict[str, Any]:
        """A chat as getChat would show it (plus migration info)."""
        with self.state.lock:
            chat = self.state.require_chat(chat_id)
            data = chat.full_json()
            if chat.migrated_to is not None:
                data["migrated_to_chat_id"] = chat.migrated_to
            return data

    def bot(self, bot_id: int) -> Bot:
        with self.state.lock:
            return self.state.bots[bot_id]
