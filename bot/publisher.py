"""Publish ledger rows: claim, render, respect the limits, send, record.

Idempotent by construction: only the caller that claims a row sends it, and a
row already `sent` is never claimed again. A multi-message post (photo + text)
records each message as it goes, so a retry never re-sends the part that got
through. Every failure ends in a row state and a reason; nothing is dropped
silently. The Celery tasks, the reconciler and editors' commands all come
through :class:`Publisher`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import ChannelRegistry
from bot.classify import Verdict
from bot.delivery import Courier, SendStatus, Sent
from bot.limiter import TelegramLimiter
from bot.render import BotRequest, RenderOptions, plain_text_fallback, render_post
from bot.senders import Sender
from config.settings import Settings
from news import ledger, log_context
from news.db import utcnow, write_session
from news.models import Article, Delivery, DeliveryState
from news.pauses import is_chat_paused
from news.readers import reader_language

#: How often a paused chat's rows are looked at again (they stay pending meanwhile).
PAUSE_RECHECK_SECONDS = 60.0


class PublishStatus(enum.StrEnum):
    """What one :meth:`Publisher.publish` call did to its ledger row."""

    SENT = "sent"
    RETRY = "retry"  # a failure worth another try, due after retry_in
    DEFERRED = "deferred"  # no rate-limit turn soon enough; due after retry_in
    FAILED = "failed"  # given up; the row keeps the reason
    SKIPPED = "skipped"  # not due, already sent, or another worker has it


@dataclass(frozen=True)
class PublishOutcome:
    """What happened to a delivery; `retry_in` says when to try again (retry/deferred)."""

    delivery_id: int
    status: PublishStatus
    message_ids: tuple[int, ...] = ()
    error: str | None = None
    retry_in: float | None = None


def render_options(
    settings: Settings, chat: str, factory: sessionmaker[Session] | None = None
) -> RenderOptions:
    """The rendering options configured for `chat`; a reader's chat speaks the reader's language."""
    cfg = settings.channel_options(chat)
    language = reader_language(factory, chat) if factory is not None else None
    options: dict[str, Any] = {
        "tz": settings.tz,
        "language": language or cfg.language,
        "send_mode": cfg.send_mode,
        "long_caption": cfg.long_caption,
        "read_more": cfg.read_more,
    }
    if cfg.template:
        options["template"] = cfg.template
    return RenderOptions(**options)


class Publisher:
    """Sends ledger rows through the one delivery path (:class:`bot.delivery.Courier`)."""

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
        self.courier = Courier(
            sender,
            self.channels,
            limiter,
            max_attempts=settings.publish.max_attempts,
            backoff_base=settings.publish.retry_backoff_seconds,
        )

    def publish(self, delivery_id: int, *, now: datetime | None = None) -> PublishOutcome:
        """Send delivery `delivery_id` if it is due and unclaimed; record what happened."""
        if self._chat_paused(delivery_id):
            return self._defer_paused(delivery_id, now or utcnow())
        stuck_after = timedelta(seconds=self.settings.publish.stuck_after_seconds)
        claimed = ledger.claim(self.factory, delivery_id, now=now, stuck_after=stuck_after)
        if claimed is None:
            return PublishOutcome(delivery_id, PublishStatus.SKIPPED)
        # Every line logged about this send, here or in the task, names its article and chat.
        log_context.bind(article_id=claimed.article_id, chat_id=claimed.chat_id)
        with self.factory() as session:
            article = session.get_one(Article, claimed.article_id)
            requests = render_post(
                article,
                chat_id=claimed.chat_id,
                opts=render_options(self.settings, claimed.chat_id, self.factory),
            )
            version = article.version
        if claimed.plain_text:
            requests = [plain_text_fallback(r) for r in requests]
        ids, methods = list(claimed.message_ids), list(claimed.methods)
        for index, request in enumerate(requests[len(ids) :], start=len(ids)):
            key = f"delivery-{claimed.id}-g{claimed.generation}" + (f"-m{index}" if index else "")
            sent = self.courier.send(claimed.chat_id, request, key=key, attempt=claimed.attempts)
            if sent.status is not SendStatus.SENT:
                return self._record(claimed, sent, ids, methods)
            ids.append(sent.message_id)
            methods.append(request.method)
            if len(requests) > 1:
                ledger.mark_progress(self.factory, claimed.id, ids, methods)
        ledger.mark_sent(self.factory, claimed.id, ids, methods=methods, article_version=version)
        return PublishOutcome(claimed.id, PublishStatus.SENT, tuple(ids))

    def _chat_paused(self, delivery_id: int) -> bool:
        """Whether an editor paused the chat of `delivery_id` (or everything)."""
        with self.factory() as session:
            chat = session.scalar(select(Delivery.chat_id).where(Delivery.id == delivery_id))
            return chat is not None and is_chat_paused(session, chat)

    def _defer_paused(self, delivery_id: int, now: datetime) -> PublishOutcome:
        """Leave a paused chat's due row pending, due again in PAUSE_RECHECK_SECONDS.

        Only the caller that moves the row's due time forward reports DEFERRED
        (and so re-enqueues it); a duplicate task or the reconciler sees it not
        due and stops, so waiting rows do not multiply their tasks.
        """
        later = now + timedelta(seconds=PAUSE_RECHECK_SECONDS)
        with write_session(self.factory) as session:
            moved = session.execute(
                update(Delivery)
                .where(
                    Delivery.id == delivery_id,
                    Delivery.state == DeliveryState.PENDING,
                    Delivery.bundle.is_(None),  # held rows are news.bundles' to send
                    or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
                )
                .values(next_attempt_at=later, last_error="chat paused by an editor")
                .returning(Delivery.id)
            ).first()
        if moved is None:
            return PublishOutcome(delivery_id, PublishStatus.SKIPPED)
        return PublishOutcome(
            delivery_id,
            PublishStatus.DEFERRED,
            error="chat paused by an editor",
            retry_in=PAUSE_RECHECK_SECONDS,
        )

    def _record(
        self, claimed: ledger.ClaimedDelivery, sent: Sent, ids: list[int], methods: list[str]
    ) -> PublishOutcome:
        """Write what an unsent message means for the row (the courier decided it)."""
        reason = sent.error or str(sent.status)
        plain_text_next = sent.verdict is Verdict.BAD_CONTENT and not claimed.plain_text
        ledger.mark_progress(
            self.factory, claimed.id, ids, methods, plain_text=True if plain_text_next else None
        )
        if plain_text_next:
            self._retry(claimed.id, f"{reason}; retrying once as plain text", 0)
            return PublishOutcome(claimed.id, PublishStatus.RETRY, error=reason, retry_in=0)
        if sent.status in (SendStatus.RETRY, SendStatus.DEFERRED):
            wait = sent.retry_in or 0.0
            # Telegram asking Loa to wait (a 429, no rate-limit turn yet) is not a
            # failed try: only transient failures count against max_attempts.
            waiting = sent.status is SendStatus.DEFERRED or sent.verdict is Verdict.RATE_LIMITED
            self._retry(claimed.id, reason, wait, refund_attempt=waiting)
            status = PublishStatus(sent.status.value)
            return PublishOutcome(claimed.id, status, error=sent.error, retry_in=wait)
        ledger.mark_failed(self.factory, claimed.id, reason)
        return PublishOutcome(claimed.id, PublishStatus.FAILED, error=reason)

    def _retry(
        self, delivery_id: int, reason: str, seconds: float, *, refund_attempt: bool = False
    ) -> None:
        not_before = utcnow() + timedelta(seconds=max(seconds, 0))
        ledger.mark_retry(
            self.factory, delivery_id, reason, not_before=not_before, refund_attempt=refund_attempt
        )


def preview(article: Article, settings: Settings, chat: str) -> list[BotRequest]:
    """What would be sent to `chat` for `article` (for `loa preview`)."""
    return render_post(article, chat_id=chat, opts=render_options(settings, chat))
