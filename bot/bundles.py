"""Send a reader's held alerts (daily digest, end of quiet hours) as one summary message.

The rows come from news.bundles, claimed together; the message goes through
the publisher's courier (the shared limiter, the 403 → unsubscribe rule), and
the rows record its outcome together. See news.bundles for the guarantees.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.delivery import SendStatus
from bot.i18n import t
from bot.publisher import Publisher
from bot.render import BotRequest
from news import bundles
from news.db import utcnow
from news.models import Article, ArticleStatus
from news.pauses import is_chat_paused
from news.reader_schedule import DIGEST
from news.readers import reader_language

log = logging.getLogger(__name__)
TITLE_CHARS = 150


@dataclass(frozen=True)
class BundleOutcome:
    """What one send_due call did: batches sent, and when to come back (None: done)."""

    batches_sent: int
    retry_in: float | None = None
    failed: bool = False


class BundleSender:
    """Sends every due held batch of a chat, one summary message per batch."""

    def __init__(self, publisher: Publisher):
        self.publisher = publisher
        self.factory = publisher.factory
        self.settings = publisher.settings
        self.courier = publisher.courier

    def send_due(self, chat_id: str, *, now: datetime | None = None) -> BundleOutcome:
        """Claim and send batches until none is due, or one must wait or failed."""
        with self.factory() as session:
            if is_chat_paused(session, chat_id):  # held on: the reconciler comes back
                return BundleOutcome(0)
        stuck_after = timedelta(seconds=self.settings.publish.stuck_after_seconds)
        sent = 0
        while True:
            batch = bundles.claim_batch(self.factory, chat_id, now=now, stuck_after=stuck_after)
            if batch is None:
                return BundleOutcome(sent)
            outcome = self._send(batch)
            if outcome is not None:
                return BundleOutcome(sent, outcome.retry_in, outcome.failed)
            sent += 1

    def _send(self, batch: bundles.HeldBatch) -> BundleOutcome | None:
        """Send one batch; None when it was recorded as sent."""
        text, versions = self.render(batch)
        if text is None:  # every article was withdrawn meanwhile: nothing to tell
            bundles.mark_batch_sent(self.factory, batch, 0, versions)
            return None
        request = BotRequest(
            "sendMessage",
            {
                "chat_id": batch.chat_id,
                "text": text,
                "parse_mode": "HTML",
                "link_preview_options": {"is_disabled": True},
            },
        )
        key = f"bundle-{batch.delivery_ids[0]}"
        result = self.courier.send(batch.chat_id, request, key=key, attempt=batch.attempts)
        if result.status is SendStatus.SENT:
            bundles.mark_batch_sent(self.factory, batch, result.message_id, versions)
            return None
        reason = result.error or str(result.status)
        if result.status in (SendStatus.RETRY, SendStatus.DEFERRED):
            wait = result.retry_in or 0.0
            not_before = utcnow() + timedelta(seconds=wait)
            bundles.mark_batch_retry(self.factory, batch, reason, not_before=not_before)
            return BundleOutcome(0, retry_in=wait)
        bundles.mark_batch_failed(self.factory, batch, reason)
        log.warning("%s failed: %s", key, reason)
        return BundleOutcome(0, failed=True)

    def render(self, batch: bundles.HeldBatch) -> tuple[str | None, dict[int, int]]:
        """The summary's HTML (None: nothing left to list) and each article's version."""
        language = reader_language(self.factory, batch.chat_id) or self.settings.language
        with self.factory() as session:
            articles = list(
                session.scalars(
                    select(Article)
                    .where(Article.id.in_(batch.article_ids))
                    .order_by(Article.published_at.desc().nulls_last(), Article.id.desc())
                )
            )
            versions = {a.id: a.version for a in articles}
            active = [a for a in articles if a.status == ArticleStatus.ACTIVE]
            if not active:
                return None, versions
            key = "digest_title" if batch.bundle == DIGEST else "quiet_title"
            lines = [f"<b>{html.escape(t(language, key, count=len(active)))}</b>"]
            for article in active:
                lines.append(self._line(article))
        return "\n".join(lines), versions

    def _line(self, article: Article) -> str:
        when = article.published_at or article.first_seen_at
        local = when.astimezone(self.settings.tz).strftime("%H:%M %d/%m")
        title = article.title
        if len(title) > TITLE_CHARS:
            title = title[: TITLE_CHARS - 1].rstrip() + "…"
        url = html.escape(article.canonical_url, quote=True)
        return f'• {local} <a href="{url}">{html.escape(title)}</a>'
