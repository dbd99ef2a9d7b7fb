"""Thin Celery tasks: each one calls a service in `news/`, `feeds/` or `bot/`.

Every task is idempotent (upserts, the delivery ledger), so a redelivery after
a crash or a duplicate enqueue by the reconciler does no harm.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

from celery import shared_task
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts import AlertSender
from bot.bundles import BundleSender
from bot.corrections import Corrector, stale_deliveries
from bot.story_edits import EditStatus, StoryEditor
from feeds.cache import FeedScope, rebuild_all, rebuild_scope
from news.alerts import check_backlog
from news.db import utcnow
from news.errors import SourceError, StorageFull
from news.pauses import is_source_paused
from news.poll import poll_source as poll_service
from news.recheck import recheck_source as recheck_service
from news.reconcile import find_due_work
from news.stories.copies import drop_withdrawn
from tasks.actions import PUBLISH_BATCH_MIN, announce_report, batches
from tasks.runtime import get_runtime

log = logging.getLogger(__name__)
FEED_DEBOUNCE_SECONDS = 2
#: Redis keys of the pending feed rebuild: queued, and what it must render.
FEEDS_QUEUED = "loa:feeds:rebuild-queued"
FEEDS_DIRTY_ALL = "loa:feeds:dirty-all"
FEEDS_DIRTY_SOURCES = "loa:feeds:dirty-sources"
FEEDS_DIRTY_ARTICLES = "loa:feeds:dirty-articles"
FEEDS_FULL_RECENT = "loa:feeds:full-recent"
FULL_REBUILD_SECONDS = 900
POLL_LOCK_SECONDS = 120
#: A poll claims its source's slot for this share of the interval (a Redis key):
#: two beats, a beat's start, a takeover or the reconciler never poll it twice.
POLL_MIN_GAP = 0.5
#: Never schedule a countdown past the broker's visibility timeout (see DESIGN):
#: longer waits stay in the database and the reconciler picks them up.
MAX_COUNTDOWN = 300


def later(task: Any, args: tuple[Any, ...], seconds: float | None) -> bool:
    """Enqueue `task(*args)` in `seconds` if that is soon; else leave it to the reconciler.

    The one place the countdown cap is applied: every row that waits longer is
    due in the database, and the reconciler enqueues it when its time comes.
    """
    if seconds is None or seconds > MAX_COUNTDOWN:
        return False
    task.apply_async(args, countdown=max(seconds, 0))
    return True


@shared_task(name="loa.poll_source", ignore_result=True)
def poll_source(source_name: str) -> None:
    """Poll one source; announce what is new and schedule a feed rebuild."""
    rt = get_runtime()
    if _paused(rt.factory, source_name):
        return
    lock = rt.redis.lock(f"loa:poll:{source_name}", timeout=POLL_LOCK_SECONDS, blocking=False)
    if not lock.acquire(blocking=False):
        # Normal around a beat's start or a takeover (its first polls meet the running
        # ones): not news to an operator, like the half-interval slot below.
        log.debug("poll of %s already running; skipped", source_name)
        return
    try:
        source_cfg = rt.settings.source(source_name)
        gap_ms = max(int(source_cfg.poll_interval * POLL_MIN_GAP * 1000), 1)
        if not rt.redis.set(f"loa:poll:slot:{source_name}", "1", nx=True, px=gap_ms):
            log.debug("%s was polled less than half an interval ago; skipped", source_name)
            return
        try:
            report = poll_service(rt.factory, rt.reading(source_cfg))
        except SourceError as exc:
            log.warning("poll of %s failed: %s", source_name, exc)
            return
    finally:
        lock.release()
    # A quiet poll every few seconds is not news to an operator: DEBUG.
    log.log(
        logging.INFO if report.changed or report.problems else logging.DEBUG,
        "polled %s: %d links, %d new, %d updated, %d to announce%s",
        source_name, report.links, len(report.new), len(report.updated),
        len(report.announce), " (not modified)" if report.not_modified else "",
    )  # fmt: skip
    announce_report(rt.settings, rt.factory, report)  # the same follow-up as poll_now's


def _paused(factory: sessionmaker[Session], source_name: str) -> bool:
    """Whether an editor paused this source (or everything): then it is not fetched."""
    with factory() as session:
        paused = is_source_paused(session, source_name)
    if paused:
        log.debug("%s is paused; not polled", source_name)
    return paused


def _follow_up(changed_articles: list[int], *, feeds_changed: bool, source: str) -> None:
    """After a re-check: fix the posts of changed articles, rebuild their feeds once."""
    for article_id in changed_articles:
        fix_posts.delay(article_id)
    if feeds_changed:
        schedule_feed_rebuild(FeedScope(frozenset((source,)), frozenset(changed_articles)))


@shared_task(name="loa.publish", ignore_result=True)
def publish(delivery_id: int) -> None:
    """Send one ledger row (does nothing if it is not due or already sent)."""
    rt = get_runtime()
    try:
        outcome = rt.publisher.publish(delivery_id)
    except StorageFull as exc:  # the row stays as it was: due, and the reconciler retries it
        log.error("delivery %s not sent, the database cannot record it: %s", delivery_id, exc)
        return
    log.info(
        "delivery %s: %s%s",
        delivery_id,
        outcome.status,
        f" ({outcome.error})" if outcome.error else "",
    )
    later(publish, (delivery_id,), outcome.retry_in)


@shared_task(name="loa.publish_batch", ignore_result=True)
def publish_batch(delivery_ids: list[int]) -> None:
    """Send a fan-out's chunk of ledger rows together (see Publisher.publish_many).

    Rows to try again are re-enqueued as batches too, one per second of delay
    they share; a row not due when its batch runs waits for the reconciler.
    """
    rt = get_runtime()
    outcomes = rt.publisher.publish_many(list(delivery_ids))
    statuses = Counter(str(outcome.status) for outcome in outcomes)
    log.info("batch of %d deliveries: %s", len(outcomes),
             ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())))  # fmt: skip
    again: dict[int, list[int]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.error:
            log.info("delivery %s: %s (%s)", outcome.delivery_id, outcome.status, outcome.error)
        if outcome.retry_in is not None:
            again[math.ceil(outcome.retry_in)].append(outcome.delivery_id)
    for seconds, ids in sorted(again.items()):
        later(publish_batch, (ids,), seconds)


@shared_task(name="loa.send_bundle", ignore_result=True)
def send_bundle(chat_id: str) -> None:
    """Send a reader's due held alerts (digest, end of quiet hours) as summary messages."""
    rt = get_runtime()
    outcome = BundleSender(rt.publisher).send_due(chat_id)
    if outcome.batches_sent or outcome.failed:
        log.info("bundle for %s: %d sent%s", chat_id, outcome.batches_sent,
                 ", failed" if outcome.failed else "")  # fmt: skip
    later(send_bundle, (chat_id,), outcome.retry_in)


@shared_task(name="loa.recheck_source", ignore_result=True)
def recheck_source(source_name: str) -> None:
    """Re-fetch a source's young articles to catch corrections and withdrawals."""
    rt = get_runtime()
    if _paused(rt.factory, source_name):
        return
    source_cfg = rt.settings.source(source_name)
    report = recheck_service(rt.factory, rt.reading(source_cfg))
    log.info(
        "rechecked %s: %d checked, %d updated, %d withdrawn, %d problems",
        source_name, report.checked, len(report.updated), len(report.withdrawn),
        len(report.problems),
    )  # fmt: skip
    _follow_up(report.updated + report.withdrawn, feeds_changed=report.changed, source=source_name)


@shared_task(name="loa.fix_posts", ignore_result=True)
def fix_posts(article_id: int) -> None:
    """Edit (corrected) or delete/mark (withdrawn) the posts of one article."""
    rt = get_runtime()
    corrector = Corrector(rt.publisher)
    with rt.factory() as session:
        stale = stale_deliveries(session, article_id)
    waits = []  # a waiting fix is on its row (next_attempt_at); the others go on now
    for delivery_id in stale:
        outcome = corrector.fix(delivery_id)
        log.info("fix delivery %s: %s", delivery_id, outcome.status)
        if outcome.retry_in is not None:
            waits.append(outcome.retry_in)
    later(fix_posts, (article_id,), min(waits) if waits else None)
    for post in drop_withdrawn(rt.factory, article_id):  # a withdrawn copy's "Also on" links
        story_edits.delay(post)


@shared_task(name="loa.story_edits", ignore_result=True)
def story_edits(delivery_id: int) -> None:
    """Edit one sent post's "Also on" line to show (or drop) its story's copies."""
    rt = get_runtime()
    outcome = StoryEditor(rt.publisher).edit(delivery_id)
    if outcome.status is not EditStatus.SKIPPED or outcome.error:
        log.info("story links of delivery %s: %s%s", delivery_id, outcome.status,
                 f" ({outcome.error})" if outcome.error else "")  # fmt: skip
    later(story_edits, (delivery_id,), outcome.retry_in)


def schedule_feed_rebuild(scope: FeedScope | None = None) -> None:
    """Enqueue one rebuild for a burst of changes (a Redis key debounces it).

    `scope` says which feeds changed (None: any of them); the scopes of a
    burst are gathered in Redis and the one rebuild renders their union.
    """
    rt = get_runtime()
    pipe = rt.redis.pipeline()
    if scope is None:
        pipe.set(FEEDS_DIRTY_ALL, "1")
    else:
        if scope.sources:
            pipe.sadd(FEEDS_DIRTY_SOURCES, *scope.sources)
        if scope.article_ids:
            pipe.sadd(FEEDS_DIRTY_ARTICLES, *scope.article_ids)
    pipe.execute()
    if rt.redis.set(FEEDS_QUEUED, "1", nx=True, ex=FEED_DEBOUNCE_SECONDS + 5):
        rebuild_feeds.apply_async(countdown=FEED_DEBOUNCE_SECONDS)


@shared_task(name="loa.rebuild_feeds", ignore_result=True)
def rebuild_feeds() -> None:
    """Re-render the feeds that changed since the last rebuild (all of them now and then).

    A full rebuild runs when asked for (an editor's action), when nothing says
    what changed, and at least every FULL_REBUILD_SECONDS, so a feed a scoped
    rebuild cannot see (an article moved out of a category) is never stale for long.
    """
    rt = get_runtime()
    pipe = rt.redis.pipeline(transaction=True)
    pipe.delete(FEEDS_QUEUED)
    pipe.get(FEEDS_DIRTY_ALL)
    pipe.smembers(FEEDS_DIRTY_SOURCES)
    pipe.smembers(FEEDS_DIRTY_ARTICLES)
    pipe.delete(FEEDS_DIRTY_ALL, FEEDS_DIRTY_SOURCES, FEEDS_DIRTY_ARTICLES)
    _, everything, sources, article_ids, _ = pipe.execute()
    if not (everything or sources or article_ids):
        return  # an earlier rebuild took this burst's changes (a backlog queued two)
    full_due = rt.redis.set(FEEDS_FULL_RECENT, "1", nx=True, ex=FULL_REBUILD_SECONDS)
    if everything or full_due:
        keys = rebuild_all(rt.factory, rt.settings)
        rt.redis.set(FEEDS_FULL_RECENT, "1", ex=FULL_REBUILD_SECONDS)
    else:
        scope = FeedScope(
            frozenset(s.decode() for s in sources), frozenset(int(i) for i in article_ids)
        )
        keys = rebuild_scope(rt.factory, rt.settings, scope)
    log.info("rebuilt feeds: %s", ", ".join(keys))


@shared_task(name="loa.reconcile", ignore_result=True)
def reconcile() -> None:
    """Re-enqueue what the database says is due: deliveries, and overdue polls."""
    rt = get_runtime()
    with rt.factory() as session:
        due = find_due_work(
            session,
            rt.settings.effective_sources(),
            utcnow(),
            stuck_after=timedelta(seconds=rt.settings.publish.stuck_after_seconds),
        )
    if len(due.delivery_ids) < PUBLISH_BATCH_MIN:
        for delivery_id in due.delivery_ids:
            publish.delay(delivery_id)
    else:
        for chunk in batches(list(due.delivery_ids)):
            publish_batch.delay(chunk)
    for chat_id in due.bundle_chats:
        send_bundle.delay(chat_id)
    for name in due.source_names:
        poll_source.delay(name)
    for article_id in due.stale_article_ids:
        fix_posts.delay(article_id)
    for delivery_id in due.story_posts:
        story_edits.delay(delivery_id)
    for article_id in due.withdrawn_copies:  # fix_posts drops these; its task may be lost
        for post in drop_withdrawn(rt.factory, article_id):
            story_edits.delay(post)
    check_backlog(rt.factory, rt.settings.backlog_alert_threshold)
    send_alerts.delay()
    if due.delivery_ids or due.source_names or due.bundle_chats or due.story_posts:
        log.info(
            "reconcile: re-enqueued %d deliveries, %d polls, %d held-alert chats, %d story edits",
            len(due.delivery_ids),
            len(due.source_names),
            len(due.bundle_chats),
            len(due.story_posts),
        )


@shared_task(name="loa.send_alerts", ignore_result=True)
def send_alerts() -> None:
    """Plan the editors' alerts for new events and send the due ones (see bot.alerts)."""
    rt = get_runtime()
    outcome = AlertSender(rt.publisher).run()
    if outcome.sent or outcome.failed:
        log.info("alerts: %d sent, %d failed", outcome.sent, outcome.failed)
    later(send_alerts, (), outcome.retry_in)


@shared_task(name="loa.check_channels", ignore_result=True)
def check_channels(attempt: int = 0) -> None:
    """May the bot post and edit in every channel? Asked in the background, retried.

    Nothing else waits for it: polling and feeds never depend on Telegram.
    Rights problems are recorded (failed channel plus an event); a check that
    Telegram could not answer (down, throttled, token refused) is tried again
    with backoff, up to every 5 minutes.
    """
    rt = get_runtime()
    if rt.settings.telegram_bot_token is None:
        return  # the dry-run outbox has no rights to check
    chats = [channel.chat for channel in rt.settings.effective_channels()]
    checks = rt.channels.check_all(chats)
    for check in checks:
        if not check.retry and check.problem is None:
            log.info(
                "channel %s (%s) ready: the bot may post and edit", check.configured, check.chat_id
            )
    if any(check.retry for check in checks):
        check_channels.apply_async((attempt + 1,), countdown=min(30 * 2**attempt, MAX_COUNTDOWN))


@shared_task(name="loa.housekeeping", ignore_result=True)
def housekeeping() -> None:
    """Apply the retention settings once (daily from beat; see ops.housekeeping)."""
    from ops.housekeeping import run_housekeeping

    rt = get_runtime()
    run_housekeeping(rt.settings, rt.factory)  # logs what it deleted
