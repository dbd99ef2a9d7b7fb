"""Incoming updates and who is reading them (getUpdates poller or webhook).

Updates live in one log with global, increasing ``update_id``. An update targets one bot or
every bot (``bot_id=None``), so a test can inject before its bot has made its first call.
Each bot confirms its own position with ``offset``, as on Telegram. A poller "generation"
per bot lets a newer getUpdates (or setWebhook) terminate the older long poll with 409.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Webhook:
    """A bot's webhook settings and delivery status, as getWebhookInfo reports them."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class _Entry:
    update_id: int
    bot_id: int | None
    payload: dict[str, Any]


@dataclass
class UpdateLog:
    """Every injected update plus per-bot confirmation and poller bookkeeping."""

    entries: list[_Entry] = field(default_factory=list)
    next_id: int = 1
    confirmed: dict[int, int] = field(default_factory=dict)  # bot id -> last confirmed id
    generation: dict[int, int] = field(default_factory=dict)
    terminated_by: dict[int, str] = field(default_factory=dict)
    allowed: dict[int, list[str]] = field(default_factory=dict)

    def add(self, bot_id: int | None, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """Append an update of one kind (message, callback_query, ...); returns it."""
        update = {"update_id": self.next_id, kind: body}
        self.entries.append(_Entry(self.next_id, bot_id, update))
        self.next_id += 1
        return update

    def confirm(self, bot_id: int, offset: int) -> None:
        """Apply getUpdates' offset: positive confirms ids below it, negative keeps the tail."""
        mine = [e.update_id for e in self.entries if e.bot_id in (None, bot_id)]
        if offset > 0:
            self.confirmed[bot_id] = max(self.confirmed.get(bot_id, 0), offset - 1)
        elif offset < 0:
            tail = mine[offset:]
            if tail:
                self.confirmed[bot_id] = max(self.confirmed.get(bot_id, 0), tail[0] - 1)

    def pending(self, bot_id: int, limit: int = 100) -> list[dict[str, Any]]:
        """Unconfirmed updates for a bot, filtered by its allowed_updates."""
        after = self.confirmed.get(bot_id, 0)
        allowed = self.allowed.get(bot_id)
        result = []
        for entry in self.entries:
            if entry.update_id <= after or entry.bot_id not in (None, bot_id):
                continue
            kind = next(k for k in entry.payload if k != "update_id")
            if allowed and kind not in allowed:
                continue
            result.append(entry.payload)
            if len(result) >= limit:
                break
        return result

    def drop_pending(self, bot_id: int) -> None:
        """deleteWebhook/setWebhook with drop_pending_updates=True."""
        self.confirmed[bot_id] = self.next_id - 1

    def new_poll(self, bot_id: int, reason: str) -> int:
        """Start a new getUpdates (or webhook change); any older poll must give up."""
        self.generation[bot_id] = self.generation.get(bot_id, 0) + 1
        self.terminated_by[bot_id] = reason
        return self.generation[bot_id]

    def current(self, bot_id: int, generation: int) -> bool:
        return self.generation.get(bot_id, 0) == generation
