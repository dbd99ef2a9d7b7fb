"""Errors are classified by Telegram's description, not only the status code."""

from __future__ import annotations

import pytest

from bot.classify import Verdict, classify
from bot.errors import DeliveryError, TelegramApiError, TelegramNetworkError


@pytest.mark.parametrize(
    ("code", "description", "verdict"),
    [
        (429, "Too Many Requests: retry after 5", Verdict.RATE_LIMITED),
        (400, "Bad Request: chat not found", Verdict.CHAT_UNUSABLE),
        (403, "Forbidden: bot was blocked by the user", Verdict.CHAT_UNUSABLE),
        (403, "Forbidden: bot is not a member of the channel chat", Verdict.CHAT_UNUSABLE),
        (400, "Bad Request: need administrator rights in the channel chat", Verdict.CHAT_UNUSABLE),
        (400, "Bad Request: can't parse entities: Unsupported start tag", Verdict.BAD_CONTENT),
        (400, "Bad Request: message is too long", Verdict.BAD_CONTENT),
        (400, "Bad Request: message is not modified: specified new message", Verdict.NOT_MODIFIED),
        (400, "Bad Request: message to edit not found", Verdict.MESSAGE_GONE),
        (400, "Bad Request: message can't be deleted for everyone", Verdict.TOO_OLD_TO_DELETE),
        (502, "Bad Gateway", Verdict.RETRY),
        (400, "Bad Request: something new", Verdict.FAILED),
    ],
)
def test_classification(code: int, description: str, verdict: Verdict) -> None:
    assert classify(TelegramApiError(description, chat_id="@c", error_code=code)) is verdict


def test_migration_timeouts_and_unknown_errors() -> None:
    migrated = TelegramApiError(
        "Bad Request: group chat was upgraded to a supergroup chat",
        error_code=400,
        migrate_to_chat_id=-1001,
    )
    assert classify(migrated) is Verdict.MIGRATED
    assert classify(TelegramNetworkError("timed out", chat_id=1)) is Verdict.RETRY
    assert classify(DeliveryError("odd")) is Verdict.FAILED
