"""Corrections and withdrawals of articles already posted.

A corrected article (its version went up) gets its posted messages edited in
place: "message is not modified" counts as success, so a repeated edit is
harmless. A withdrawn article's messages are deleted while Telegram still
allows it (48 hours), or edited to say the article was withdrawn after that.
Each channel chooses with `on_update` / `on_withdraw`.

Every edit, note and deletion goes through the publisher's one delivery path
(:class:`bot.delivery.Courier`), so corrections take turns from the same
shared limiter as posts and share its failure policy. Whatever happens is
written on the delivery row, so the reconciler never repeats a hopeless fix:

* done (edited, deleted, marked): the row shows the article's version;
* failed (chat unusable, refused): `last_error` says why and the row is
  treated as done, so it is not tried again;
* deferred or retry (no rate-limit turn, a 429, a transient error): the row's
  `next_attempt_at` says when the fix is due again; until then neither the
  reconciler nor a duplicate task touches it. Transient failures are retried,
  each wait at least as long as the fix has already been pending (capped), and
  given up once the change is :data:`GIVE_UP_AFTER` old.
"""

from __future__ import annotations

import enum
import html
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, sessionmaker

from bot.classify import Verdict
from bot.delivery import MAX_BACKOFF, SendStatus, Sent, backoff
from bot.publisher import Publisher, render_options
from bot.render import BotRequest, render_edits, render_withdrawn
from news.db import utcnow, write_session
from news.models import Article, ArticleStatus, Delivery, DeliveryState
from news.stories.copies import post_links

log = logging.getLogger(__name__)
DELETE_WINDOW = timedelta(hours=48) - timedelta(minutes=5)
#: A fix still failing this long after the article changed is given up.
GIVE_UP_AFTER = timedelta(hours=24)


class FixStatus(enum.StrEnum):
    """What one :meth:`Corrector.fix` call did to a posted delivery."""

    EDITED = "edited"
    UNCHANGED = "unchanged"  # Telegram already showed this text
    DELETED = "deleted"
    MARKED = "marked"  # edited to say the article was withdrawn
    SKIPPED = "skipped"  # nothing to do, or not due yet
    DEFERRED = "deferred"  # no rate-limit turn soon enough; due after retry_in
    RETRY = "retry"  # a 429 or transient failure; due after retry_in
    FAILED = "failed"  # given up; the row keeps the reason


_WAITING = (FixStatus.DEFERRED, FixStatus.RETRY)


@dataclass(frozen=True)
class FixOutcome:
    """What an edit/withdraw pass did to one delivery."""

    delivery_id: int
    status: FixStatus
    error: str | None = None
    retry_in: float | None = None


def _due(now: datetime) -> ColumnElement[bool]:
    """SQL condition: no fix of this row is waiting for a later time."""
    return or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now)


def stale_deliveries(
    session: Session, article_id: int, *, now: datetime | None = None
) -> list[int]:
    """Sent deliveries of `article_id` that show an older version or a withdrawn article.

    Rows whose fix is waiting (deferred or retrying, see the module doc) are
    left out until `now` reaches their `next_attempt_at`.
    """
    article = session.get_one(Article, article_id)
    query = select(Delivery.id).where(
        Delivery.article_id == article_id,
        Delivery.state == DeliveryState.SENT,
        Delivery.bundle.is_(None),  # a digest lists headlines; it is never edited
        Delivery.withdrawn_at.is_(None),
        _due(now or utcnow()),
    )
    if article.status is not ArticleStatus.WITHDRAWN:
        query = query.where(Delivery.article_version < article.version)
    return list(session.scalars(query.order_by(Delivery.id)))


class Corrector:
    """Brings posted messages in line with their article, through the publisher's courier."""

    def __init__(self, publisher: Publisher):
        self.publisher = publisher
        self.courier = publisher.courier
        self.factory: sessionmaker[Session] = publisher.factory

    def fix(self, delivery_id: int, *, now: datetime | None = None) -> FixOutcome:
        """Edit or withdraw one sent delivery as its article now requires; record the outcome."""
        now = now or utcnow()
        outcome = self._fix(delivery_id, now)
        if outcome.status in _WAITING or outcome.status is FixStatus.FAILED:
            outcome = self._record_unfinished(outcome, now)
        return outcome

    def _fix(self, delivery_id: int, now: datetime) -> FixOutcome:
        with self.factory() as session:
            row = session.get_one(Delivery, delivery_id)
            article = session.get_one(Article, row.article_id)
            if row.state != DeliveryState.SENT or row.withdrawn_at is not None:
                return FixOutcome(delivery_id, FixStatus.SKIPPED)
            if row.next_attempt_at is not None and row.next_attempt_at > now:
                return FixOutcome(delivery_id, FixStatus.SKIPPED)  # a waiting fix, not due
            options = self.publisher.settings.channel_options(row.chat_id)
            if article.status is ArticleStatus.WITHDRAWN:
                if options.on_withdraw == "ignore":
                    return FixOutcome(delivery_id, FixStatus.SKIPPED)
                deletable = options.on_withdraw == "delete" and row.sent_at is not None
                deletable = deletable and now - row.sent_at < DELETE_WINDOW  # type: ignore[operator]
                return self._withdraw(row, article, deletable)
            if row.article_version >= article.version or options.on_update == "ignore":
                return FixOutcome(delivery_id, FixStatus.SKIPPED)
            return self._edit(row, article, note=options.on_update == "edit_and_note")

    def _edit(self, row: Delivery, article: Article, *, note: bool) -> FixOutcome:
        opts = render_options(self.publisher.settings, row.chat_id, self.factory)
        with self.factory() as session:  # a correction keeps the post's "Also on" line
            max_links = self.publisher.settings.stories.max_links
            links = post_links(session, [row.id], max_links=max_links).get(row.id, [])
        requests = render_edits(
            article,
            chat_id=row.chat_id,
            message_ids=row.message_ids,
            methods=row.methods,
            opts=opts,
            also_on=[(link.url, link.name) for link in links],
        )
        status = FixStatus.EDITED
        for index, request in enumerate(requests):
            key = f"delivery-{row.id}-edit-v{article.version}-m{index}"
            sent = self.courier.send(row.chat_id, request, key=key)
            if sent.status is SendStatus.UNCHANGED:
                status = FixStatus.UNCHANGED
            elif sent.status not in (SendStatus.SENT, SendStatus.GONE):
                return _unfinished(row.id, sent)  # GONE: deleted by hand, nothing to edit
        if note and row.message_ids:
            label = html.escape(opts.labels["corrected"])
            request = BotRequest(
                "sendMessage",
                {
                    "chat_id": row.chat_id,
                    "text": f"<i>{label}:</i> {html.escape(article.title)}",
                    "parse_mode": "HTML",
                    "reply_parameters": {"message_id": row.message_ids[0]},
                },
            )
            key = f"delivery-{row.id}-note-v{article.version}"
            sent = self.courier.send(row.chat_id, request, key=key)
            if sent.status is not SendStatus.SENT:
                return _unfinished(row.id, sent)
        self._settle(row.id, version=article.version)
        return FixOutcome(row.id, status)

    def _withdraw(self, row: Delivery, article: Article, deletable: bool) -> FixOutcome:
        status = FixStatus.DELETED if deletable else FixStatus.MARKED
        for index, (message_id, method) in enumerate(
            zip(row.message_ids, row.methods, strict=False)
        ):
            if deletable:
                request = BotRequest(
                    "deleteMessage", {"chat_id": row.chat_id, "message_id": message_id}
                )
            elif index == 0:
                opts = render_options(self.publisher.settings, row.chat_id, self.factory)
                request = render_withdrawn(
                    article, chat_id=row.chat_id, message_id=message_id, method=method, opts=opts
                )
            else:
                continue
            sent = self.courier.send(
                row.chat_id, request, key=f"delivery-{row.id}-withdraw-m{index}"
            )
            if sent.verdict is Verdict.TOO_OLD_TO_DELETE:
                return self._withdraw(row, article, deletable=False)
            if sent.status not in (SendStatus.SENT, SendStatus.GONE, SendStatus.UNCHANGED):
                return _unfinished(row.id, sent)
        self._settle(row.id, withdrawn=True)
        return FixOutcome(row.id, status)

    def _settle(
        self, delivery_id: int, *, version: int | None = None, withdrawn: bool = False
    ) -> None:
        """Record a finished fix: the row shows `version` (or is withdrawn), nothing waits."""
        with write_session(self.factory) as session:
            row = session.get_one(Delivery, delivery_id)
            if version is not None:
                row.article_version = version
            if withdrawn:
                row.withdrawn_at = utcnow()
            row.next_attempt_at = None
            row.last_error = None

    def _record_unfinished(self, outcome: FixOutcome, now: datetime) -> FixOutcome:
        """Write when a waiting fix is due again, or give it up for good (see the module doc)."""
        with write_session(self.factory) as session:
            row = session.get_one(Delivery, outcome.delivery_id)
            article = session.get_one(Article, row.article_id)
            pending_for = now - article.updated_at
            if outcome.status in _WAITING and pending_for > GIVE_UP_AFTER:
                error = f"still failing {GIVE_UP_AFTER} after the change: {outcome.error}"
                outcome = FixOutcome(outcome.delivery_id, FixStatus.FAILED, error)
            if outcome.status in _WAITING:
                wait = outcome.retry_in
                if wait is None:  # transient: wait as long as the fix has been pending
                    wait = min(max(pending_for.total_seconds(), backoff(1)), MAX_BACKOFF)
                row.next_attempt_at = now + timedelta(seconds=wait)
                row.last_error = f"correction waiting: {outcome.error}"[:2000]
                return FixOutcome(outcome.delivery_id, outcome.status, outcome.error, wait)
            # Failed for good: the row counts as done, so nobody tries this fix again.
            log.error("could not fix delivery %s: %s", outcome.delivery_id, outcome.error)
            row.last_error = f"correction failed: {outcome.error}"[:2000]
            row.article_version = article.version
            row.next_attempt_at = None
            if article.status is ArticleStatus.WITHDRAWN:
                row.withdrawn_at = utcnow()
        return outcome


def _unfinished(delivery_id: int, sent: Sent) -> FixOutcome:
    """The fix outcome for a message the courier could not get through."""
    if sent.status is SendStatus.DEFERRED:
        return FixOutcome(delivery_id, FixStatus.DEFERRED, sent.error, sent.retry_in)
    if sent.status is SendStatus.RETRY:
        # A transient failure is spaced by how long the fix has been pending.
        wait = None if sent.verdict is Verdict.RETRY else sent.retry_in
        return FixOutcome(delivery_id, FixStatus.RETRY, sent.error, wait)
    return FixOutcome(delivery_id, FixStatus.FAILED, sent.error or str(sent.status))
