"""Edit a sent post so its "Also on" line shows the story's copies (or drops a split one).

A chat that dedupes stories gets one post per story; a later copy from
another source is a :class:`news.models.StoryCopy` row on that post
(news.stories.copies), and this module edits the post to show it. The edit
goes through the publisher's courier (the shared limiter, one failure policy),
exactly like a correction (bot.corrections), and only the message that holds
the line (the last one of the post) is edited. Whatever happens is written on
the copy rows, never lost and never repeated:

* edited, or "message is not modified": pending copies → SHOWN, dropping → DROPPED;
* the post is older than ``stories.edit_hours``, held (digest), withdrawn, failed
  or deleted by hand: the copies → SKIPPED with the reason, no edit;
* a 429, no rate-limit turn or a transient error: the copies' `next_attempt_at`
  says when to try again (the reconciler's sweep enqueues it then);
* refused (400, 403): SKIPPED with Telegram's answer in `last_error`.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.classify import Verdict
from bot.delivery import MAX_BACKOFF, SendStatus, backoff
from bot.publisher import Publisher, render_options
from bot.render import links_shown, render_edits
from news.db import utcnow, write_session
from news.models import Article, ArticleStatus, Delivery, DeliveryState, StoryCopy, StoryCopyState
from news.stories.copies import TO_EDIT, post_links

log = logging.getLogger(__name__)


class EditStatus(enum.StrEnum):
    """What one :meth:`StoryEditor.edit` call did to a post."""

    EDITED = "edited"
    UNCHANGED = "unchanged"  # Telegram already showed this line
    SKIPPED = "skipped"  # nothing due, or the post cannot be edited (copies skipped)
    RETRY = "retry"  # a 429, no rate-limit turn or a transient failure; due after retry_in
    FAILED = "failed"  # Telegram refused the edit (copies skipped with its answer)


@dataclass(frozen=True)
class EditOutcome:
    """What an "Also on" edit did to one post."""

    delivery_id: int
    status: EditStatus
    error: str | None = None
    retry_in: float | None = None


class StoryEditor:
    """Brings sent posts' "Also on" lines in line with their copies, through the courier."""

    def __init__(self, publisher: Publisher):
        self.publisher = publisher
        self.courier = publisher.courier
        self.factory: sessionmaker[Session] = publisher.factory
        self.stories = publisher.settings.stories

    def edit(self, delivery_id: int, *, now: datetime | None = None) -> EditOutcome:
        """Edit post `delivery_id` if copies are due on it; record the outcome on the copies."""
        now = now or utcnow()
        with self.factory() as session:
            row = session.get(Delivery, delivery_id)
            due = _due_copies(session, delivery_id, now) if row is not None else []
            if row is None or not due:
                return EditOutcome(delivery_id, EditStatus.SKIPPED)
            if row.state in (DeliveryState.PENDING, DeliveryState.SENDING):
                return EditOutcome(delivery_id, EditStatus.SKIPPED)  # its send shows them
            article = session.get_one(Article, row.article_id)
            reason = self._not_editable(row, article, now)
            if reason is not None:
                self._skip(delivery_id, reason)
                return EditOutcome(delivery_id, EditStatus.SKIPPED, reason)
            links = post_links(session, [delivery_id], max_links=self.stories.max_links)
            wanted = links.get(delivery_id, [])
            chat, message_ids, methods = row.chat_id, list(row.message_ids), list(row.methods)
            dropping = [copy_id for copy_id, state in due if state == StoryCopyState.DROPPING]
            pending = [copy_id for copy_id, state in due if state == StoryCopyState.PENDING]
            if not dropping and not {link.copy_id for link in wanted} & set(pending):
                self._settle([], [], pending)  # past max_links: the post would not change
                return EditOutcome(delivery_id, EditStatus.SKIPPED)
            edits = render_edits(
                article,
                chat_id=chat,
                message_ids=message_ids,
                methods=methods,
                opts=render_options(self.publisher.settings, chat, self.factory),
                also_on=[(link.url, link.name) for link in wanted],
            )
        if not edits:
            self._skip(delivery_id, "the post has no message to edit")
            return EditOutcome(delivery_id, EditStatus.SKIPPED)
        # The line is on the post's last message (see bot.render.render_post).
        request = edits[-1]
        shown = links_shown([request])
        key = f"delivery-{delivery_id}-story-{now:%Y%m%d%H%M%S}"  # one outbox file per edit
        sent = self.courier.send(chat, request, key=key)
        if sent.status in (SendStatus.SENT, SendStatus.UNCHANGED):
            self._settle([link.copy_id for link in wanted[:shown]], dropping, pending)
            status = EditStatus.EDITED if sent.status is SendStatus.SENT else EditStatus.UNCHANGED
            return EditOutcome(delivery_id, status)
        if sent.status is SendStatus.GONE:
            self._skip(delivery_id, "the post was deleted")
            return EditOutcome(delivery_id, EditStatus.SKIPPED, sent.error)
        if sent.status in (SendStatus.RETRY, SendStatus.DEFERRED):
            wait = sent.retry_in
            if wait is None or sent.verdict is Verdict.RETRY:
                wait = self._transient_wait(delivery_id, now)
            self._wait(delivery_id, now + timedelta(seconds=wait), sent.error or "retry")
            return EditOutcome(delivery_id, EditStatus.RETRY, sent.error, wait)
        error = sent.error or str(sent.status)
        log.warning("could not edit the story links of delivery %s: %s", delivery_id, error)
        self._skip(delivery_id, f"edit refused: {error}")
        return EditOutcome(delivery_id, EditStatus.FAILED, error)

    def _not_editable(self, row: Delivery, article: Article, now: datetime) -> str | None:
        """Why this post cannot take its copies' links (None: it can)."""
        if row.state is not DeliveryState.SENT:
            return "the post was not sent"
        if row.bundle is not None:
            return "a digest lists headlines and is never edited"
        if row.withdrawn_at is not None or article.status is ArticleStatus.WITHDRAWN:
            return "the post's article was withdrawn"
        limit = timedelta(hours=self.stories.edit_hours)
        if row.sent_at is None or now - row.sent_at > limit:
            return f"the post is older than {self.stories.edit_hours:g} h (stories.edit_hours)"
        return None

    def _settle(
        self, shown: Sequence[int], dropping: Sequence[int], pending: Sequence[int]
    ) -> None:
        """The edit went through: these copies are shown, the dropping ones gone, and the
        `pending` ones that did not fit (max_links, Telegram's length limit) skipped.

        Only copies the edit was made for change: one that joined meanwhile
        stays pending for the next edit.
        """
        with write_session(self.factory) as session:
            done = {"last_error": None, "next_attempt_at": None}
            if shown:
                session.execute(
                    update(StoryCopy)
                    .where(
                        StoryCopy.id.in_(list(shown)),
                        StoryCopy.state == StoryCopyState.PENDING.value,
                    )
                    .values(state=StoryCopyState.SHOWN.value, shown_at=utcnow(), **done)
                )
            if dropping:
                session.execute(
                    update(StoryCopy)
                    .where(
                        StoryCopy.id.in_(list(dropping)),
                        StoryCopy.state == StoryCopyState.DROPPING.value,
                    )
                    .values(state=StoryCopyState.DROPPED.value, **done)
                )
            left_out = [copy_id for copy_id in pending if copy_id not in set(shown)]
            if not left_out:
                return
            session.execute(
                update(StoryCopy)
                .where(
                    StoryCopy.id.in_(left_out),
                    StoryCopy.state == StoryCopyState.PENDING.value,
                )
                .values(
                    state=StoryCopyState.SKIPPED.value,
                    last_error="no room for the link on the post (stories.max_links or "
                    "Telegram's length limit)",
                    next_attempt_at=None,
                )
            )

    def _skip(self, delivery_id: int, reason: str) -> None:
        """The post cannot change: its copies still to show or drop are settled as skipped."""
        with write_session(self.factory) as session:
            session.execute(
                update(StoryCopy)
                .where(StoryCopy.delivery_id == delivery_id, StoryCopy.state.in_(TO_EDIT))
                .values(
                    state=StoryCopyState.SKIPPED.value,
                    last_error=reason[:2000],
                    next_attempt_at=None,
                )
            )

    def _wait(self, delivery_id: int, when: datetime, reason: str) -> None:
        """Try the post's edit again at `when` (the sweep finds it then)."""
        with write_session(self.factory) as session:
            session.execute(
                update(StoryCopy)
                .where(StoryCopy.delivery_id == delivery_id, StoryCopy.state.in_(TO_EDIT))
                .values(next_attempt_at=when, last_error=f"edit waiting: {reason}"[:2000])
            )

    def _transient_wait(self, delivery_id: int, now: datetime) -> float:
        """A transient failure waits as long as the oldest copy has been waiting (capped)."""
        with self.factory() as session:
            oldest = session.scalar(
                select(StoryCopy.created_at)
                .where(StoryCopy.delivery_id == delivery_id, StoryCopy.state.in_(TO_EDIT))
                .order_by(StoryCopy.created_at)
                .limit(1)
            )
        pending = (now - oldest).total_seconds() if oldest is not None else 0.0
        return min(max(pending, backoff(1)), MAX_BACKOFF)


def _due_copies(session: Session, delivery_id: int, now: datetime) -> list[tuple[int, str]]:
    """(id, state) of the post's copies to show or drop whose wait (if any) is over."""
    rows = session.execute(
        select(StoryCopy.id, StoryCopy.state).where(
            StoryCopy.delivery_id == delivery_id,
            StoryCopy.state.in_(TO_EDIT),
            or_(StoryCopy.next_attempt_at.is_(None), StoryCopy.next_attempt_at <= now),
        )
    )
    return [(copy_id, state) for copy_id, state in rows]
