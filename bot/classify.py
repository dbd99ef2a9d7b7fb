"""What a Telegram error means for a delivery, decided by code AND description.

Telegram's status codes are too coarse: "chat not found" is a 400 like "can't
parse entities", yet one means the channel is unusable and the other that our
text needs a plain-text fallback. The description decides.
"""

from __future__ import annotations

import enum

from bot.errors import DeliveryError, TelegramApiError, TelegramNetworkError


class Verdict(enum.StrEnum):
    """The publisher's next step for a failed request."""

    RATE_LIMITED = "rate_limited"  # wait retry_after for this chat, then retry
    RETRY = "retry"  # transient (5xx, timeout): retry with backoff
    CHAT_UNUSABLE = "chat_unusable"  # 403 / chat not found: stop, alert editors
    BAD_CONTENT = "bad_content"  # too long / can't parse: fall back to plain text once
    MIGRATED = "migrated"  # group became a supergroup: update the id and retry
    NOT_MODIFIED = "not_modified"  # an edit that changed nothing: success
    MESSAGE_GONE = "message_gone"  # message to edit/delete not found
    TOO_OLD_TO_DELETE = "too_old_to_delete"  # deletion after 48 h: edit instead
    TOKEN_REJECTED = "token_rejected"  # 401/404 for the bot itself: wait for a fixed token
    FAILED = "failed"  # anything else: record and stop


_UNUSABLE = (
    "chat not found",
    "bot was blocked",
    "bot was kicked",
    "not enough rights",
    "need administrator rights",
    "bot is not a member",
    "user is deactivated",
    "have no rights to send",
    "chat_write_forbidden",
)
_BAD_CONTENT = (
    "can't parse entities",
    "message is too long",
    "caption is too long",
    "text is empty",
)
_GONE = ("message to edit not found", "message to delete not found", "message_id_invalid")


def classify(error: DeliveryError) -> Verdict:
    """The verdict for `error` (see :class:`Verdict`)."""
    if isinstance(error, TelegramNetworkError):
        return Verdict.RETRY
    if not isinstance(error, TelegramApiError):
        return Verdict.FAILED
    text = error.description.lower()
    code = error.error_code or 0
    if code == 429 or error.retry_after is not None:
        return Verdict.RATE_LIMITED
    if code == 401:  # the token, not the chat or the message: nothing is lost, wait
        return Verdict.TOKEN_REJECTED
    if error.migrate_to_chat_id is not None or "upgraded to a supergroup" in text:
        return Verdict.MIGRATED
    if "message is not modified" in text:
        return Verdict.NOT_MODIFIED
    if any(marker in text for marker in _GONE):
        return Verdict.MESSAGE_GONE
    if "can't be deleted" in text:
        return Verdict.TOO_OLD_TO_DELETE
    if any(marker in text for marker in _BAD_CONTENT):
        return Verdict.BAD_CONTENT
    if code == 403 or any(marker in text for marker in _UNUSABLE):
        return Verdict.CHAT_UNUSABLE
    if code >= 500 or code == 0:
        return Verdict.RETRY
    return Verdict.FAILED
