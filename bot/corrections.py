"""Corrections and withdrawals of articles already posted.

A corrected article (its version went up) gets its posted messages edited in
place: "message is not modified" counts as success, so a repeated edit is
harmless. A withdrawn article's messages are deleted while Telegram still
allows it (48 hours), or edited to say the article was withdrawn after that.
Each channel chooses with `on_update` / `on_withdraw`.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.classify import Verdict, classify
from bot.publisher import Publisher, render_options
from bot.render import BotRequest, render_edits, render_withdrawn
from news.db import utcnow, write_session
from news.errors import DeliveryError
from news.models import Article, ArticleStatus, Delivery, DeliveryState

log = logging.getLogger(__name__)
DELETE_WINDOW = timedelta(hours=48) - timedelta(minutes=5)


@dataclass(frozen=True)
class FixOutcome:
    """What an edit/withdraw pass did to one delivery."""

    delivery_id: int
    status: str  # edited | unchanged | deleted | marked | skipped | failed | retry
    error: str | None = None
    retry_in: float | None = None


def stale_deliveries(session: Session, article_id: int) -> list[int]:
    """Sent deliveries of `article_id` that show an older version or a withdrawn article."""
    article = session.get_one(Article, article_id)
    query = select(Delivery.id).where(
        Delivery.article_id == article_id,
        Delivery.state == DeliveryState.SENT,
        Delivery.withdrawn_at.is_(None),
    )
    if article.status is not ArticleStatus.WITHDRAWN:
        query = query.where(Delivery.article_version < article.version)
    return list(session.scalars(query.order_by(Delivery.id)))


class Corrector:
    """Brings posted messages in line with their article (uses the Publisher's parts)."""

    def __init__(self, publisher: Publisher):
        self.publisher = publisher
        self.factory: sessionmaker[Session] = publisher.factory

    def fix(self, delivery_id: int, *, now: datetime | None = None) -> FixOutcome:
        """Edit or withdraw one sent delivery as its article now requires.

        A permanent failure is recorded on the row (`last_error`) and not tried
        again, so the reconciler does not repeat a hopeless edit forever.
        """
        outcome = self._fix(delivery_id, now or utcnow())
        if outcome.status == "failed":
            with write_session(self.factory) as session:
                row = session.get_one(Delivery, delivery_id)
                article = session.get_one(Article, row.article_id)
                row.last_error = f"correction failed: {outcome.error}"[:2000]
                row.article_version = article.version
                if article.status is ArticleStatus.WITHDRAWN:
                    row.withdrawn_at = utcnow()
        return outcome

    def _fix(self, delivery_id: int, now: datetime) -> FixOutcome:
        with self.factory() as session:
            row = session.get_one(Delivery, delivery_id)
            article = session.get_one(Article, row.article_id)
            if row.state != DeliveryState.SENT or row.withdrawn_at is not None:
                return FixOutcome(delivery_id, "skipped")
            options = self.publisher.settings.channel_options(row.chat_id)
            if article.status is ArticleStatus.WITHDRAWN:
                if options.on_withdraw == "ignore":
                    return FixOutcome(delivery_id, "skipped")
                deletable = options.on_withdraw == "delete" and row.sent_at is not None
                deletable = deletable and now - row.sent_at < DELETE_WINDOW  # type: ignore[operator]
                return self._withdraw(row, article, deletable)
            if row.article_version >= article.version or options.on_update == "ignore":
                return FixOutcome(delivery_id, "skipped")
            return self._edit(row, article, note=options.on_update == "edit_and_note")

    def _send(self, request: BotRequest, key: str) -> None:
        target = str(request.params.get("chat_id"))
        if self.publisher.limiter is not None:
            self.publisher.limiter.wait_turn(target, max_wait=30)
        self.publisher.sender.send(request, key=key)

    def _edit(self, row: Delivery, article: Article, *, note: bool) -> FixOutcome:
        target = self.publisher.channels.target(row.chat_id)
        opts = render_options(self.publisher.settings, row.chat_id)
        requests = render_edits(
            article, chat_id=target, message_ids=row.message_ids, methods=row.methods, opts=opts
        )
        status = "edited"
        for index, request in enumerate(requests):
            try:
                self._send(request, key=f"delivery-{row.id}-edit-v{article.version}-m{index}")
            except DeliveryError as exc:
                verdict = classify(exc)
                if verdict is Verdict.NOT_MODIFIED:
                    status = "unchanged"
                    continue
                if verdict is Verdict.MESSAGE_GONE:
                    continue  # someone deleted the post by hand: nothing to edit
                return self._failed(row.id, exc, verdict)
        if note and row.message_ids:
            label = html.escape(opts.labels["corrected"])
            self._send(
                BotRequest(
                    "sendMessage",
                    {
                        "chat_id": target,
                        "text": f"<i>{label}:</i> {html.escape(article.title)}",
                        "parse_mode": "HTML",
                        "reply_parameters": {"message_id": row.message_ids[0]},
                    },
                ),
                key=f"delivery-{row.id}-note-v{article.version}",
            )
        with write_session(self.factory) as session:
            session.get_one(Delivery, row.id).article_version = article.version
        return FixOutcome(row.id, status)

    def _withdraw(self, row: Delivery, article: Article, deletable: bool) -> FixOutcome:
        target = self.publisher.channels.target(row.chat_id)
        status = "deleted" if deletable else "marked"
        for index, (message_id, method) in enumerate(
            zip(row.message_ids, row.methods, strict=False)
        ):
            if deletable:
                request = BotRequest("deleteMessage", {"chat_id": target, "message_id": message_id})
            elif index == 0:
                opts = render_options(self.publisher.settings, row.chat_id)
                request = render_withdrawn(
                    article, chat_id=target, message_id=message_id, method=method, opts=opts
                )
            else:
                continue
            try:
                self._send(request, key=f"delivery-{row.id}-withdraw-m{index}")
            except DeliveryError as exc:
                verdict = classify(exc)
                if verdict is Verdict.TOO_OLD_TO_DELETE:
                    return self._withdraw(row, article, deletable=False)
                if verdict not in (Verdict.MESSAGE_GONE, Verdict.NOT_MODIFIED):
                    return self._failed(row.id, exc, verdict)
        with write_session(self.factory) as session:
            session.get_one(Delivery, row.id).withdrawn_at = utcnow()
        return FixOutcome(row.id, status)

    def _failed(self, delivery_id: int, exc: DeliveryError, verdict: Verdict) -> FixOutcome:
        if verdict is Verdict.RATE_LIMITED:
            wait = float(getattr(exc, "retry_after", None) or 1.0)
            return FixOutcome(delivery_id, "retry", str(exc), retry_in=wait)
        if verdict is Verdict.RETRY:
            return FixOutcome(delivery_id, "retry", str(exc), retry_in=30.0)
        log.error("could not fix delivery %s: %s", delivery_id, exc)
        return FixOutcome(delivery_id, "failed", str(exc))
