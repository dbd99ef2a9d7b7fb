"""Publish ledger rows: claim, render, respect the limits, send, record.

Idempotent by construction: only the caller that claims a row sends it, and a
row already `sent` is never claimed again. A multi-message post (photo + text)
records each message as it goes, so a retry never re-sends the part that got
through. Every failure ends in a row state and a reason; nothing is dropped
silently. The Celery tasks, the reconciler and editors' commands all come
through :class:`Publisher`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.channels import ChannelRegistry, ChannelUnusable
from bot.classify import Verdict, classify
from bot.limiter import TelegramLimiter
from bot.render import BotRequest, RenderOptions, plain_text_fallback, render_post
from bot.senders import Sender
from config.settings import Settings
from news import ledger
from news.db import utcnow
from news.errors import DeliveryError, TelegramApiError
from news.models import Article

log = logging.getLogger(__name__)
#: Longest a worker waits in-process for a rate-limit turn; longer waits are
#: written to the row (next_attempt_at) and picked up again later.
MAX_INLINE_WAIT = 5.0
MAX_BACKOFF = 600.0


@dataclass(frozen=True)
class PublishOutcome:
    """What happened to a delivery; `retry_in` says when to try again (retry/deferred)."""

    delivery_id: int
    status: str  # sent | retry | deferred | failed | skipped
    message_ids: tuple[int, ...] = ()
    error: str | None = None
    retry_in: float | None = None


def render_options(settings: Settings, chat: str) -> RenderOptions:
    """The rendering options configured for `chat`."""
    cfg = settings.channel_options(chat)
    options: dict[str, Any] = {
        "tz": settings.tz,
        "language": cfg.language,
        "send_mode": cfg.send_mode,
        "long_caption": cfg.long_caption,
    }
    if cfg.template:
        options["template"] = cfg.template
    return RenderOptions(**options)


class Publisher:
    """Sends ledger rows through a Sender, within the shared limits."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        sender: Sender,
        settings: Settings,
        *,
        limiter: TelegramLimiter | None = None,
    ):
        self.factory = factory
        self.sender = sender
        self.settings = settings
        self.limiter = limiter
        self.channels = ChannelRegistry(factory, sender)

    def publish(self, delivery_id: int, *, now: datetime | None = None) -> PublishOutcome:
        """Send delivery `delivery_id` if it is due and unclaimed; record what happened."""
        stuck_after = timedelta(seconds=self.settings.publish.stuck_after_seconds)
        claimed = ledger.claim(self.factory, delivery_id, now=now, stuck_after=stuck_after)
        if claimed is None:
            return PublishOutcome(delivery_id, "skipped")
        try:
            target = self.channels.target(claimed.chat_id)
        except ChannelUnusable as exc:
            ledger.mark_failed(self.factory, claimed.id, f"channel unusable: {exc}")
            return PublishOutcome(claimed.id, "failed", error=str(exc))
        except DeliveryError as exc:
            return self._failure(claimed, exc, list(claimed.message_ids), list(claimed.methods))
        with self.factory() as session:
            article = session.get_one(Article, claimed.article_id)
            requests = render_post(
                article, chat_id=target, opts=render_options(self.settings, claimed.chat_id)
            )
            version = article.version
        if claimed.plain_text:
            requests = [plain_text_fallback(r) for r in requests]
        ids, methods = list(claimed.message_ids), list(claimed.methods)
        for index, request in enumerate(requests[len(ids) :], start=len(ids)):
            waited = self._wait_turn(target)
            if waited < 0:
                ledger.mark_progress(self.factory, claimed.id, ids, methods)
                self._retry(claimed.id, "waiting for a rate-limit turn", -waited)
                return PublishOutcome(claimed.id, "deferred", retry_in=-waited)
            key = f"delivery-{claimed.id}-g{claimed.generation}" + (f"-m{index}" if index else "")
            try:
                result = self.sender.send(request, key=key)
            except DeliveryError as exc:
                return self._failure(claimed, exc, ids, methods)
            ids.append(int(result.get("message_id", 0)))
            methods.append(request.method)
            if len(requests) > 1:
                ledger.mark_progress(self.factory, claimed.id, ids, methods)
        ledger.mark_sent(self.factory, claimed.id, ids, methods=methods, article_version=version)
        return PublishOutcome(claimed.id, "sent", tuple(ids))

    def _wait_turn(self, target: str) -> float:
        if self.limiter is None:
            return 0.0
        return self.limiter.wait_turn(target, max_wait=MAX_INLINE_WAIT)

    def _retry(self, delivery_id: int, reason: str, seconds: float) -> None:
        not_before = utcnow() + timedelta(seconds=max(seconds, 0))
        ledger.mark_retry(self.factory, delivery_id, reason, not_before=not_before)

    def _failure(
        self,
        claimed: ledger.ClaimedDelivery,
        exc: DeliveryError,
        ids: list[int],
        methods: list[str],
    ) -> PublishOutcome:
        """Decide and record what a failed send means (see bot.classify)."""
        verdict = classify(exc)
        reason = str(exc)
        ledger.mark_progress(self.factory, claimed.id, ids, methods)
        if verdict is Verdict.RATE_LIMITED:
            wait = float(getattr(exc, "retry_after", None) or 1.0)
            if self.limiter is not None:
                self.limiter.note_429(claimed.chat_id, wait)
            self._retry(claimed.id, reason, wait)
            return PublishOutcome(claimed.id, "retry", error=reason, retry_in=wait)
        if verdict is Verdict.MIGRATED and isinstance(exc, TelegramApiError):
            if exc.migrate_to_chat_id is not None:
                self.channels.migrate(claimed.chat_id, exc.migrate_to_chat_id)
                self._retry(claimed.id, reason, 0)
                return PublishOutcome(claimed.id, "retry", error=reason, retry_in=0)
        if verdict is Verdict.BAD_CONTENT and not claimed.plain_text:
            ledger.mark_progress(self.factory, claimed.id, ids, methods, plain_text=True)
            self._retry(claimed.id, f"{reason}; retrying once as plain text", 0)
            return PublishOutcome(claimed.id, "retry", error=reason, retry_in=0)
        if verdict is Verdict.CHAT_UNUSABLE:
            self.channels.mark_failed(claimed.chat_id, reason)
        if verdict is Verdict.RETRY and claimed.attempts < self.settings.publish.max_attempts:
            wait = min(5.0 * 2**claimed.attempts, MAX_BACKOFF)
            self._retry(claimed.id, reason, wait)
            log.warning("delivery %s will retry in %.0fs: %s", claimed.id, wait, reason)
            return PublishOutcome(claimed.id, "retry", error=reason, retry_in=wait)
        ledger.mark_failed(self.factory, claimed.id, reason)
        log.error("delivery %s failed: %s", claimed.id, reason)
        return PublishOutcome(claimed.id, "failed", error=reason)


def preview(article: Article, settings: Settings, chat: str) -> list[BotRequest]:
    """What would be sent to `chat` for `article` (for `loa preview`)."""
    return render_post(article, chat_id=chat, opts=render_options(settings, chat))
