"""Publish one ledger row: claim it, render, send, record the outcome.

Idempotent by construction: only the caller that claims the row sends, and a
row already `sent` is never claimed again. The Celery task, the reconciler and
editors' commands all come through :func:`publish_delivery`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.render import render_article
from bot.senders import Sender
from news import ledger
from news.db import utcnow
from news.errors import DeliveryError
from news.models import Article

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class PublishOutcome:
    """What happened to a delivery: sent, retry later, failed, or skipped (not ours)."""

    delivery_id: int
    status: str
    message_ids: tuple[int, ...] = ()
    error: str | None = None


def publish_delivery(
    factory: sessionmaker[Session],
    sender: Sender,
    delivery_id: int,
    *,
    tz: ZoneInfo,
    language: str = "vi",
) -> PublishOutcome:
    """Send delivery `delivery_id` if it is due and unclaimed; record what happened."""
    claimed = ledger.claim(factory, delivery_id)
    if claimed is None:
        return PublishOutcome(delivery_id, "skipped")
    with factory() as session:
        article = session.get_one(Article, claimed.article_id)
        request = render_article(article, chat_id=claimed.chat_id, tz=tz, language=language)
    key = f"delivery-{claimed.id}-g{claimed.generation}"
    try:
        result = sender.send(request, key=key)
    except DeliveryError as exc:
        if claimed.attempts >= MAX_ATTEMPTS:
            ledger.mark_failed(factory, claimed.id, str(exc))
            log.error("delivery %s failed for good: %s", claimed.id, exc)
            return PublishOutcome(claimed.id, "failed", error=str(exc))
        wait = timedelta(seconds=min(2**claimed.attempts * 5, 600))
        ledger.mark_retry(factory, claimed.id, str(exc), not_before=utcnow() + wait)
        log.warning("delivery %s will retry in %ss: %s", claimed.id, wait.seconds, exc)
        return PublishOutcome(claimed.id, "retry", error=str(exc))
    message_id = result.get("message_id")
    ids = (int(message_id),) if isinstance(message_id, int) else ()
    ledger.mark_sent(factory, claimed.id, list(ids))
    return PublishOutcome(claimed.id, "sent", ids)
