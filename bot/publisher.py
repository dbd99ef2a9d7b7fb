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
import queue
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import ChannelRegistry
from bot.classify import Verdict
from bot.delivery import Courier, SendStatus, Sent
from bot.limiter import TelegramLimiter
from bot.render import BotRequest, RenderOptions, links_shown, plain_text_fallback, render_post
from bot.senders import Sender
from config.settings import Settings
from news import ledger, log_context
from news.db import utcnow, write_session
from news.models import Article, Delivery, DeliveryState, Pause, PauseKind
from news.pauses import is_chat_paused
from news.readers import reader_language, reader_languages
from news.stories.copies import StoryLink, mark_shown, post_links

#: How often a paused chat's rows are looked at again (they stay pending meanwhile).
PAUSE_RECHECK_SECONDS = 60.0
#: Most sends in flight at once per worker process in :meth:`Publisher.publish_many`:
#: each still waits for its own turn from the shared limiter, so this only
#: overlaps the round trips (limiter, Telegram), it never raises a rate.
SEND_CONCURRENCY = 8
#: One send in flight per this many messages/s of the global budget: a send
#: takes a few ms, so 30/s needs no overlap at all, and sends booked together
#: but arriving out of order are what meets a 429 at a tight cap (33 of 3,000 at
#: 30/s with 8 in flight per process, against 3 one at a time).
RATE_PER_SEND_IN_FLIGHT = 100


def send_concurrency(global_per_second: int) -> int:
    """Sends a worker process keeps in flight for a global budget of `global_per_second`."""
    return max(1, min(SEND_CONCURRENCY, global_per_second // RATE_PER_SEND_IN_FLIGHT))


#: Successful sends recorded per write transaction in a fan-out: bigger is
#: cheaper, smaller leaves fewer rows in `sending` (possible duplicates) at a crash.
RECORD_EVERY = 25
#: ... and no success waits longer than this for its record: at a slow rate (30/s)
#: 25 successes take most of a second, and a kill -9 then would re-send them all.
#: At 1,000/s RECORD_EVERY comes first, so this costs no extra transactions there.
RECORD_WITHIN_SECONDS = 0.2
#: ... and they are recorded at once when no send has finished for this long: the
#: limiter's windows let sends out in bursts (30 at once at 30/s), and the pause
#: after a burst is the cheap moment to record it, before a crash could repeat it.
RECORD_WHEN_IDLE_SECONDS = 0.02


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
        "source_titles": settings.source_titles(),
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
            links = self._links(session, [claimed.id]).get(claimed.id, [])
            requests = render_post(
                article,
                chat_id=claimed.chat_id,
                opts=render_options(self.settings, claimed.chat_id, self.factory),
                also_on=[(link.url, link.name) for link in links],
            )
            version = article.version
        shown = [link.copy_id for link in links[: links_shown(requests)]]
        if claimed.plain_text:
            requests = [plain_text_fallback(r) for r in requests]
        done = self._send_claimed(claimed, requests, version)
        if isinstance(done, PublishOutcome):
            return done
        ledger.mark_sent(
            self.factory, claimed.id, list(done.message_ids), methods=list(done.methods),
            article_version=version,
        )  # fmt: skip
        mark_shown(self.factory, shown)  # a crash before: the story edit finds them unchanged
        return PublishOutcome(claimed.id, PublishStatus.SENT, done.message_ids)

    def _links(self, session: Session, delivery_ids: list[int]) -> dict[int, list[StoryLink]]:
        """The "Also on" links of these posts (a story's copies that joined them)."""
        return post_links(session, delivery_ids, max_links=self.settings.stories.max_links)

    def publish_many(
        self, delivery_ids: list[int], *, now: datetime | None = None
    ) -> list[PublishOutcome]:
        """:meth:`publish` for a fan-out's rows: the same guarantees, a fraction of the work.

        The rows are claimed in one transaction, each (article, rendering
        options) is rendered once, readers and channel ids are looked up once,
        up to :func:`send_concurrency` sends are in flight at a time (each still takes
        its own turn from the shared limiter), and the successes are recorded
        RECORD_EVERY at a time, or sooner once the oldest of them has waited
        RECORD_WITHIN_SECONDS or no send finished for RECORD_WHEN_IDLE_SECONDS
        (fewer possible duplicates at a slow, bursty rate). A
        crash before a record leaves those rows in `sending`, the same state a
        crash between one send and its record leaves: the stuck path retries
        each once, flagged as a possible duplicate.
        """
        now = now or utcnow()
        wanted = list(dict.fromkeys(delivery_ids))
        paused = self._paused_rows(wanted)
        outcomes = [self._defer_paused(delivery_id, now) for delivery_id in paused]
        stuck_after = timedelta(seconds=self.settings.publish.stuck_after_seconds)
        claimed = ledger.claim_many(
            self.factory,
            [delivery_id for delivery_id in wanted if delivery_id not in paused],
            now=now,
            stuck_after=stuck_after,
        )
        taken = {row.id for row in claimed} | paused
        outcomes += [
            PublishOutcome(delivery_id, PublishStatus.SKIPPED)
            for delivery_id in wanted
            if delivery_id not in taken
        ]
        if not claimed:
            return outcomes
        chats = [row.chat_id for row in claimed]
        readers = reader_languages(self.factory, chats)
        targets = self.channels.targets([chat for chat in chats if chat not in readers])
        plans, shown = self._render_many(claimed, readers)
        recorded: list[ledger.SentRecord] = []
        oldest = 0.0  # when the oldest unrecorded success in `recorded` came back
        in_flight = send_concurrency(self.settings.publish.global_per_second)
        # Finished sends land in a queue (one callback each) rather than going
        # through as_completed: the main thread can then also wake on a timer,
        # to record successes that have waited RECORD_WITHIN_SECONDS.
        finished: queue.SimpleQueue[Future[ledger.SentRecord | PublishOutcome]] = (
            queue.SimpleQueue()
        )
        failure: Exception | None = None
        with ThreadPoolExecutor(in_flight, thread_name_prefix="publish") as pool:
            for row, requests, version in plans:
                pool.submit(
                    self._send_claimed,
                    row,
                    requests,
                    version,
                    reader=row.chat_id in readers,
                    target=targets.get(row.chat_id),
                ).add_done_callback(finished.put)
            remaining = len(plans)
            while remaining:
                future = self._next_finished(finished, oldest if recorded else None)
                if future is not None:
                    remaining -= 1
                    try:
                        done = future.result()
                    except Exception as exc:  # noqa: BLE001 - re-raised once the successes are kept
                        # Redis or the database gone mid-fan-out: that row stays in `sending`
                        # (retried once, flagged), but the sends that did succeed must be
                        # recorded, or each would be sent again as a duplicate.
                        failure = failure or exc
                        done = None
                    if isinstance(done, PublishOutcome):
                        outcomes.append(done)
                    elif done is not None:
                        if not recorded:
                            oldest = time.monotonic()
                        recorded.append(done)
                if recorded and (
                    future is None  # idle, or the oldest success is due
                    or len(recorded) >= RECORD_EVERY
                    or time.monotonic() - oldest >= RECORD_WITHIN_SECONDS
                ):
                    outcomes += self._record_sent(recorded, shown)
                    recorded = []
        outcomes += self._record_sent(recorded, shown)
        if failure is not None:
            raise failure
        return outcomes

    @staticmethod
    def _next_finished(
        finished: queue.SimpleQueue[Future[ledger.SentRecord | PublishOutcome]],
        oldest: float | None,
    ) -> Future[ledger.SentRecord | PublishOutcome] | None:
        """The next finished send; None when unrecorded successes (from `oldest`) should be
        recorded first: the sends went idle, or the oldest has waited long enough."""
        if oldest is None:
            return finished.get()
        due = max(0.0, oldest + RECORD_WITHIN_SECONDS - time.monotonic())
        try:
            return finished.get(timeout=min(due, RECORD_WHEN_IDLE_SECONDS))
        except queue.Empty:
            return None

    def _record_sent(
        self, records: list[ledger.SentRecord], shown: dict[int, list[int]]
    ) -> list[PublishOutcome]:
        """Record sent rows, then the "Also on" links (`shown`, per row) they carried."""
        ledger.mark_sent_many(self.factory, records)
        mark_shown(
            self.factory, [c for record in records for c in shown.get(record.delivery_id, ())]
        )
        return [
            PublishOutcome(record.delivery_id, PublishStatus.SENT, record.message_ids)
            for record in records
        ]

    def _render_many(
        self, claimed: list[ledger.ClaimedDelivery], readers: dict[str, str]
    ) -> tuple[list[tuple[ledger.ClaimedDelivery, list[BotRequest], int]], dict[int, list[int]]]:
        """Each row's requests, rendered once per (article, options, plain text, links) and
        shared; and per row, the copies whose "Also on" links it shows.

        The rendered requests name the first chat they were made for: the
        courier puts each row's own chat id in before sending.
        """
        cache: dict[tuple[int, bool, str, tuple[tuple[str, str], ...]], list[BotRequest]] = {}
        plans = []
        shown: dict[int, list[int]] = {}
        with self.factory() as session:
            links = self._links(session, [row.id for row in claimed])
            articles = {
                article.id: article
                for article in session.scalars(
                    select(Article).where(Article.id.in_({row.article_id for row in claimed}))
                )
            }
            for row in claimed:
                article = articles[row.article_id]
                opts = render_options(self.settings, row.chat_id)
                if row.chat_id in readers:  # a reader's chat speaks the reader's language
                    opts = replace(opts, language=readers[row.chat_id])
                also_on = tuple((link.url, link.name) for link in links.get(row.id, ()))
                key = (row.article_id, row.plain_text, repr(opts), also_on)
                if key not in cache:
                    cache[key] = render_post(article, chat_id=row.chat_id, opts=opts,
                                             also_on=also_on)  # fmt: skip
                if also_on:
                    count = links_shown(cache[key])
                    shown[row.id] = [link.copy_id for link in links[row.id][:count]]
                requests = cache[key]
                if row.plain_text:
                    requests = [plain_text_fallback(r) for r in requests]
                plans.append((row, requests, article.version))
        return plans, shown

    def _send_claimed(
        self,
        claimed: ledger.ClaimedDelivery,
        requests: list[BotRequest],
        version: int,
        *,
        reader: bool | None = None,
        target: str | None = None,
    ) -> ledger.SentRecord | PublishOutcome:
        """Send a claimed row's messages not sent yet; what to record, or the recorded failure."""
        # A fan-out sends from pool threads: name the row's article and chat there too.
        log_context.bind(article_id=claimed.article_id, chat_id=claimed.chat_id)
        ids, methods = list(claimed.message_ids), list(claimed.methods)
        for index, request in enumerate(requests[len(ids) :], start=len(ids)):
            key = f"delivery-{claimed.id}-g{claimed.generation}" + (f"-m{index}" if index else "")
            sent = self.courier.send(
                claimed.chat_id,
                request,
                key=key,
                attempt=claimed.attempts,
                reader=reader,
                target=target,
            )
            if sent.status is not SendStatus.SENT:
                return self._record(claimed, sent, ids, methods)
            ids.append(sent.message_id)
            methods.append(request.method)
            if len(requests) > 1:
                ledger.mark_progress(self.factory, claimed.id, ids, methods)
        return ledger.SentRecord(claimed.id, tuple(ids), tuple(methods), version)

    def _paused_rows(self, delivery_ids: list[int]) -> set[int]:
        """Which of `delivery_ids` are to a chat an editor paused (one query when none is)."""
        with self.factory() as session:
            if not session.scalar(select(Pause.id).where(Pause.kind != PauseKind.SOURCE).limit(1)):
                return set()
            rows = session.execute(
                select(Delivery.id, Delivery.chat_id).where(Delivery.id.in_(delivery_ids))
            ).all()
            return {row_id for row_id, chat in rows if is_chat_paused(session, chat)}

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
