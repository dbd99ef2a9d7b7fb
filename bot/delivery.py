"""The one path every Bot API message takes: a limiter turn, the send, a verdict.

Channel posts, corrections, and (coming) subscriber and editor messages all
send through :meth:`Courier.send`, so Telegram's failure policy lives here
once: stop at a chat Telegram refused, wait out a 429 for that chat (and tell
the shared limiter), follow a group that migrated, back off on transient
errors, and never send without a turn from the shared limiter. The courier
writes no ledger row; it returns a :class:`Sent` whose status says what the
caller's row becomes (sent, due again after `retry_in`, or failed with
`error`), and the caller records it in its own terms.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from typing import Any

from bot.channels import ChannelRegistry
from bot.classify import Verdict, classify
from bot.errors import ChannelUnusable, DeliveryError, OutboxUnwritable, TelegramApiError
from bot.limiter import TelegramLimiter
from bot.render import BotRequest
from bot.senders import Sender
from news.readers import is_reader_chat
from news.subscriptions import mark_blocked
from ops.metrics import record_telegram_429

log = logging.getLogger(__name__)
#: Longest a worker waits in-process for a rate-limit turn; longer waits go
#: back to the caller (deferred) so it can record when to try again.
MAX_INLINE_WAIT = 5.0
MAX_BACKOFF = 600.0
#: A rejected token waits for an operator, not for a backoff schedule to run out:
#: the message stays due and is tried again this often, never failed for it.
TOKEN_WAIT = 300.0


class SendStatus(enum.StrEnum):
    """What became of one request, in the terms a ledger row needs."""

    SENT = "sent"  # Telegram accepted it; `Sent.result` holds its answer
    UNCHANGED = "unchanged"  # an edit that changed nothing: as good as sent
    GONE = "gone"  # the message to edit or delete no longer exists
    DEFERRED = "deferred"  # no rate-limit turn soon enough: nothing sent, try after retry_in
    RETRY = "retry"  # 429, migration or a transient failure: try again after retry_in
    FAILED = "failed"  # permanent for this request; `verdict` and `error` say why


@dataclass(frozen=True)
class Sent:
    """The outcome of :meth:`Courier.send`."""

    status: SendStatus
    verdict: Verdict | None = None
    error: str | None = None
    retry_in: float | None = None
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def message_id(self) -> int:
        return int(self.result.get("message_id", 0))


def backoff(attempt: int, base: float = 5.0) -> float:
    """Seconds before retry number `attempt` after a transient failure (10 s, 20 s, … 10 min)."""
    return min(base * 2.0**attempt, MAX_BACKOFF)


#: Verdicts a caller recovers from itself (plain text, mark instead of delete): not errors.
_EXPECTED = (Verdict.BAD_CONTENT, Verdict.TOO_OLD_TO_DELETE)


class Courier:
    """Sends one request to a configured chat within the shared limits; see the module doc."""

    def __init__(
        self,
        sender: Sender,
        channels: ChannelRegistry,
        limiter: TelegramLimiter | None,
        *,
        max_attempts: int,
        backoff_base: float = 5.0,
    ):
        self.sender = sender
        self.channels = channels
        self.limiter = limiter
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base

    def send(
        self,
        chat: str,
        request: BotRequest,
        *,
        key: str,
        attempt: int = 1,
        reader: bool | None = None,
        target: str | None = None,
    ) -> Sent:
        """Send `request` to configured `chat` (its `chat_id` is replaced by the resolved id).

        `attempt` counts the caller's tries of this job: a transient failure at
        `max_attempts` is final. `key` names the message (the outbox file, logs).
        A fan-out that looked up many chats at once passes what it found:
        `reader` (is it a reader's chat) and `target` (the resolved id);
        otherwise each is looked up here.
        """
        if reader is None:
            reader = is_reader_chat(self.channels.factory, chat)
        try:
            if target is None:
                target = chat if reader else self.channels.target(chat)
        except ChannelUnusable as exc:
            return Sent(SendStatus.FAILED, Verdict.CHAT_UNUSABLE, f"channel unusable: {exc}")
        except DeliveryError as exc:  # resolving @name failed
            return self._verdict(chat, exc, key, attempt)
        if self.limiter is not None:
            # Limits are kept per configured chat, the name that never changes
            # (an @name resolved later, a group that migrated): one bucket per chat.
            waited = self.limiter.wait_turn(chat, max_wait=MAX_INLINE_WAIT)
            if waited < 0:
                return Sent(
                    SendStatus.DEFERRED, error="waiting for a rate-limit turn", retry_in=-waited
                )
        params = {**request.params, "chat_id": target}
        try:
            result = self.sender.send(BotRequest(request.method, params), key=key)
        except DeliveryError as exc:
            return self._verdict(chat, exc, key, attempt, reader=reader)
        return Sent(SendStatus.SENT, result=result)

    def _verdict(
        self, chat: str, exc: DeliveryError, key: str, attempt: int, *, reader: bool = False
    ) -> Sent:
        """Decide what a failed request means (see bot.classify) and act on the chat."""
        verdict = classify(exc)
        reason = str(exc)
        if isinstance(exc, OutboxUnwritable):  # waits for space, however long: never failed
            wait = backoff(attempt, self.backoff_base)
            log.error("%s not written, retrying in %.0fs: %s", key, wait, reason)
            return Sent(SendStatus.RETRY, Verdict.RETRY, reason, retry_in=wait)
        if verdict is Verdict.NOT_MODIFIED:
            return Sent(SendStatus.UNCHANGED, verdict)
        if verdict is Verdict.MESSAGE_GONE:
            return Sent(SendStatus.GONE, verdict, reason)
        if verdict is Verdict.RATE_LIMITED:
            record_telegram_429()
            wait = float(getattr(exc, "retry_after", None) or 1.0)
            if self.limiter is not None:
                self.limiter.note_429(chat, wait)
            return Sent(SendStatus.RETRY, verdict, reason, retry_in=wait)
        if verdict is Verdict.MIGRATED and isinstance(exc, TelegramApiError):
            if exc.migrate_to_chat_id is not None:
                self.channels.migrate(chat, exc.migrate_to_chat_id)
                return Sent(SendStatus.RETRY, verdict, reason, retry_in=0)
        if verdict is Verdict.TOKEN_REJECTED:
            log.error("%s waits %.0fs for a valid token: %s", key, TOKEN_WAIT, reason)
            return Sent(SendStatus.RETRY, verdict, reason, retry_in=TOKEN_WAIT)
        if verdict is Verdict.CHAT_UNUSABLE and reader:
            # A reader who blocked the bot: unsubscribed and counted, never retried.
            mark_blocked(self.channels.factory, chat)
            log.info("%s: reader %s blocked the bot; unsubscribed", key, chat)
            return Sent(SendStatus.FAILED, verdict, f"reader blocked the bot: {reason}")
        if verdict is Verdict.CHAT_UNUSABLE:
            self.channels.mark_failed(chat, reason)
        if verdict is Verdict.RETRY and attempt < self.max_attempts:
            wait = backoff(attempt, self.backoff_base)
            log.warning("%s will retry in %.0fs: %s", key, wait, reason)
            return Sent(SendStatus.RETRY, verdict, reason, retry_in=wait)
        if verdict in _EXPECTED:
            log.info("%s refused (%s): %s", key, verdict, reason)
        else:
            log.error("%s failed: %s", key, reason)
        return Sent(SendStatus.FAILED, verdict, reason)
