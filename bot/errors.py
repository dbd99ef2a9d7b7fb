"""Delivery errors: a message Loa could not deliver to a Telegram chat.

They extend the tree drawn in :mod:`news.errors` (everything derives from
:class:`~news.errors.LoaError`) with the branch only ``bot/`` raises, since
``news`` never talks to Telegram. Each carries the chat id; what to do about
one is decided by :func:`bot.classify.classify` from its code and description::

    LoaError                         news.errors
    └── DeliveryError                a Bot API request for a chat failed
        ├── TelegramApiError         Telegram answered with an error (code, description,
        │                            retry_after, migrate_to_chat_id)
        ├── TelegramNetworkError     Telegram could not be reached (timeout, connection)
        ├── ChannelUnusable          Telegram refused this chat before (blocked, kicked, no
        │                            rights, not found): no sends until an editor fixes it
        └── OutboxUnwritable         dry run: the outbox file could not be written (disk
                                     full, permissions): retried until it can, never failed
"""

from __future__ import annotations

from news.errors import LoaError

__all__ = [
    "ChannelUnusable",
    "DeliveryError",
    "OutboxUnwritable",
    "TelegramApiError",
    "TelegramNetworkError",
]


class DeliveryError(LoaError):
    """A Bot API request for a chat failed; carries the chat id."""

    def __init__(self, message: str, *, chat_id: str | int | None = None):
        self.chat_id = chat_id
        suffix = f" (chat {chat_id})" if chat_id is not None else ""
        super().__init__(f"{message}{suffix}")


class TelegramApiError(DeliveryError):
    """Telegram refused the request; what to do depends on code and description."""

    def __init__(
        self,
        description: str,
        *,
        chat_id: str | int | None = None,
        error_code: int | None = None,
        retry_after: float | None = None,
        migrate_to_chat_id: int | None = None,
    ):
        self.description = description
        self.error_code = error_code
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id
        code = f"{error_code} " if error_code else ""
        super().__init__(f"Telegram {code}{description}", chat_id=chat_id)


class TelegramNetworkError(DeliveryError):
    """Telegram could not be reached or did not answer in time: retry later."""


class ChannelUnusable(DeliveryError):
    """Telegram refused this chat before; sends are not attempted until it is fixed."""


class OutboxUnwritable(DeliveryError):
    """The dry-run outbox could not write a message (disk full, permissions).

    Nothing was "sent": the row goes back to pending and is tried again with
    backoff for as long as it takes, never failed for it (an operator frees
    the space; the message must not be lost meanwhile).
    """
