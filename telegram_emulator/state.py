"""Everything the emulated Telegram knows, behind one lock.

The Bot API handlers run on the server's event-loop thread while tests call the control
API from their own thread; a single re-entrant lock around every read-modify-write keeps
both views consistent without making the handlers async.
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from .clock import Clock, SystemClock
from .errors import chat_not_found, migrated, not_found, unauthorized
from .faults import FaultBook
from .limits import RateLimiter
from .models import Chat, MessageRecord, User
from .updates import UpdateLog, Webhook

TOKEN_RE = re.compile(r"^(\d{1,20}):[A-Za-z0-9_-]{30,64}$")


@dataclass
class Bot:
    """A bot account: its token, its user, and its Bot API-side settings."""

    token: str
    user: User
    webhook: Webhook | None = None
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass
class Settings:
    """Emulator behaviour switches (fixed at construction, changeable through the control API)."""

    auto_register_bots: bool = True
    strict_html_ampersand: bool = False
    deliver_webhooks: bool = True


@dataclass
class CallRecord:
    """One Bot API request as received, for tests that assert on traffic."""

    bot_id: int | None
    method: str
    params: dict[str, Any]
    status: int
    at: float
    #: The kind of the injected fault that answered (``retry_after``, ``timeout``…), or
    #: None: tells an injected 429 from one the emulator's own flood control sent.
    fault: str | None = None


class State:
    """The emulated Telegram: bots, users, chats, messages, updates, limits and faults."""

    def __init__(self, clock: Clock | None = None, settings: Settings | None = None) -> None:
        self.lock = threading.RLock()
        self.clock: Clock = clock or SystemClock()
        self.settings = settings or Settings()
        self.limiter = RateLimiter()
        self.reset()

    def reset(self) -> None:
        """Forget all bots, chats, messages, updates and faults; keep clock and settings."""
        with self.lock:
            self.bots: dict[int, Bot] = {}
            self.users: dict[int, User] = {}
            self.chats: dict[int, Chat] = {}
            self.messages: dict[tuple[int, int], MessageRecord] = {}
            self.order: list[MessageRecord] = []
            self.updates = UpdateLog()
            self.faults = FaultBook()
            self.limiter.reset()
            self.files: dict[str, bytes | None] = {}
            self.callback_queries: dict[str, dict[str, Any]] = {}
            self.inline_queries: dict[str, dict[str, Any]] = {}
            self.answers: list[dict[str, Any]] = []
            self.calls: list[CallRecord] = []
            self.ids = itertools.count(1)

    # --- bots -------------------------------------------------------------------------------

    def register_bot(self, token: str, username: str | None = None) -> Bot:
        """Add a bot for a well-formed token (idempotent)."""
        match = TOKEN_RE.match(token)
        if match is None:
            raise ValueError(f"malformed bot token {token!r}: expected '<digits>:<30+ chars>'")
        bot_id = int(match.group(1))
        with self.lock:
            bot = self.bots.get(bot_id)
            if bot is not None and bot.token != token:
                raise ValueError(f"bot {bot_id} is registered with a different token")
            if bot is None:
                name = username or f"emulated_{bot_id}_bot"
                user = User(id=bot_id, first_name=f"Bot {bot_id}", username=name, is_bot=True)
                bot = Bot(token=token, user=user)
                self.bots[bot_id] = bot
            return bot

    def bot_for_token(self, token: str) -> Bot:
        """The bot a token names (registered on first use when allowed).

        Like Telegram: a malformed token is 404 Not Found, a well-formed unknown one 401.
        """
        match = TOKEN_RE.match(token)
        if match is None:
            raise not_found()
        with self.lock:
            bot = self.bots.get(int(match.group(1)))
            if bot is None and self.settings.auto_register_bots:
                bot = self.register_bot(token)
            if bot is None or bot.token != token:
                raise unauthorized()
            return bot

    @staticmethod
    def new_token(bot_id: int | None = None) -> str:
        """A fresh well-formed token."""
        number = bot_id or 5_000_000_000 + secrets.randbelow(1_000_000_000)
        return f"{number}:AA{secrets.token_urlsafe(26)[:33]}"

    # --- chats ------------------------------------------------------------------------------

    def find_chat(self, ref: int | str) -> Chat | None:
        """Resolve a chat id or ``@username`` (case-insensitive) to a chat."""
        with self.lock:
            if isinstance(ref, str):
                text = ref.strip()
                if text.startswith("@"):
                    name = text[1:].lower()
                    for chat in self.chats.values():
                        if chat.username and chat.username.lower() == name:
                            return chat
                    return None
                try:
                    ref = int(text)
                except ValueError:
                    return None
            return self.chats.get(ref)

    def chat_for_request(self, ref: int | str) -> Chat:
        """The chat a Bot API call addresses: 400 unknown, 400 + migrate id for old groups."""
        chat = self.find_chat(ref)
        if chat is None:
            raise chat_not_found()
        if chat.migrated_to is not None:
            raise migrated(chat.migrated_to)
        return chat

    def require_chat(self, ref: int | str) -> Chat:
        """For the control API: the chat or a ValueError naming it."""
        chat = self.find_chat(ref)
        if chat is None:
            raise ValueError(f"no such chat: {ref!r}")
        return chat

    def new_chat_id(self, chat_type: str) -> int:
        """Ids shaped like Telegram's: users positive, groups negative, -100… for the rest."""
        with self.lock:
            while True:
                n = 1_000_000 + next(self.ids)
                candidate = {
                    "private": 10_000_000 + n,
                    "group": -(4_000_000_000 + n),
                }.get(chat_type, -(1_000_000_000_000 + 2_000_000_000 + n))
                if candidate not in self.chats:
                    return candidate

    # --- messages ---------------------------------------------------------------------------

    def add_message(self, record: MessageRecord) -> MessageRecord:
        with self.lock:
            self.messages[(record.chat_id, record.message_id)] = record
            self.order.append(record)
            return record

    def message(self, chat_id: int, message_id: int) -> MessageRecord | None:
        record = self.messages.get((chat_id, message_id))
        return None if record is None or record.deleted else record

    def next_message_id(self, chat: Chat) -> int:
        with self.lock:
            message_id = chat.next_message_id
            chat.next_message_id += 1
            return message_id

    def log_call(
        self,
        bot_id: int | None,
        method: str,
        params: dict[str, Any],
        status: int,
        fault: str | None = None,
    ) -> None:
        with self.lock:
            self.calls.append(
                CallRecord(bot_id, method, params, status, self.clock.monotonic(), fault)
            )
