"""What follows an editor's action: enqueue its sends and fixes, or poll right now.

The bot, the CLI and the HTTP server call :mod:`news.editorial` for the action
itself and this module for the work that follows, so every entry point
enqueues the same Celery tasks the schedule uses (nothing bypasses the
ledger). Enqueueing needs the broker (`REDIS_URL`); a process without one
enqueues nothing and says so: the rows are in the database, and the
reconciler hands them to a worker within a minute.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from news.announce import Planned, announce_poll, plan_announcements
from news.errors import ConfigError, EditorialError, SourceError
from news.pauses import is_source_paused
from news.poll import PollReport
from news.poll import poll_source as poll_service
from news.recheck import recheck_source as recheck_service

if TYPE_CHECKING:
    from feeds.cache import FeedScope
    from news.stories.split import SplitResult

log = logging.getLogger(__name__)
#: How long poll_now waits for a poll of the same source already running.
POLL_WAIT_SECONDS = 30
#: A fan-out of at least this many rows due at once goes out as ``loa.publish_batch``
#: tasks of PUBLISH_BATCH rows each (one claim, render and record per chunk instead
#: of per message); fewer rows go one ``loa.publish`` task each.
PUBLISH_BATCH_MIN = 10
PUBLISH_BATCH = 100

_connected: Settings | None = None


@dataclass(frozen=True)
class PollSummary:
    """What a poll-now found: new, updated and withdrawn articles, and what went wrong."""

    new: int
    updated: int
    withdrawn: int
    errors: tuple[str, ...]
    source: str = ""
    #: deliveries planned for the new articles
    planned: int = 0


def connect(settings: Settings) -> bool:
    """Make this process able to enqueue Loa's tasks; False without a broker.

    Builds the Celery app from `settings` once (also this process's task
    runtime, see tasks.app). A process that has its app already (a worker,
    or an earlier call) keeps it: it is never built a second time.
    """
    global _connected
    if not settings.redis_url:
        return False
    from celery import current_app

    current = current_app._get_current_object()
    same_broker = current.main == "loa" and current.conf.broker_url == settings.redis_url
    if _connected is not settings and not same_broker:
        from tasks.app import create_celery_app

        create_celery_app(settings)
    _connected = settings
    return True


def _app(settings: Settings | None) -> Celery | None:
    """The Loa Celery app to enqueue on: the one for `settings` (None: no broker), or
    without settings the one this process has (a worker's, or one :func:`connect` built)."""
    from celery import current_app

    if settings is not None and not connect(settings):
        return None
    app: Celery = current_app._get_current_object()
    return app if app.main == "loa" else None


def _send(app: Celery, name: str, args: tuple[Any, ...], countdown: float = 0) -> bool:
    """Enqueue one task; a broker that cannot be reached leaves it to the reconciler."""
    try:
        app.send_task(name, args=args, countdown=countdown or None)
    except Exception as exc:  # noqa: BLE001 - kombu's errors vary by transport
        log.warning("could not enqueue %s%s (%s); the reconciler will", name, args, exc)
        return False
    return True


def dispatch_publish(items: Iterable[int | Planned], *, settings: Settings | None = None) -> int:
    """Enqueue a send for each delivery id (a Planned keeps its delay); returns how many.

    A delay past the broker's safe countdown is not enqueued: the row is due
    in the database and the reconciler sends it then (see tasks.jobs.later).
    """
    from tasks.jobs import MAX_COUNTDOWN

    app = _app(settings)
    if app is None:
        return 0
    by_delay: dict[float, list[int]] = {}
    for item in items:
        delivery_id, delay = (
            (item.delivery_id, item.delay_seconds) if isinstance(item, Planned) else (item, 0.0)
        )
        if delay <= MAX_COUNTDOWN:
            by_delay.setdefault(delay, []).append(delivery_id)
    sent = 0
    for delay, ids in by_delay.items():
        if len(ids) < PUBLISH_BATCH_MIN:
            sent += sum(_send(app, "loa.publish", (delivery_id,), delay) for delivery_id in ids)
            continue
        for chunk in batches(ids):
            sent += len(chunk) * _send(app, "loa.publish_batch", (chunk,), delay)
    return sent


def batches(ids: list[int]) -> list[list[int]]:
    """`ids` in chunks of PUBLISH_BATCH: the rows one ``loa.publish_batch`` task sends."""
    return [ids[start : start + PUBLISH_BATCH] for start in range(0, len(ids), PUBLISH_BATCH)]


def dispatch_fixes(article_ids: Iterable[int], *, settings: Settings | None = None) -> int:
    """Enqueue ``fix_posts`` for articles corrected or withdrawn; returns how many."""
    app = _app(settings)
    if app is None:
        return 0
    return sum(_send(app, "loa.fix_posts", (article_id,)) for article_id in article_ids)


def dispatch_story_edits(delivery_ids: Iterable[int], *, settings: Settings | None = None) -> int:
    """Enqueue ``loa.story_edits`` for posts whose "Also on" line must change; how many."""
    app = _app(settings)
    if app is None:
        return 0
    return sum(_send(app, "loa.story_edits", (delivery_id,)) for delivery_id in delivery_ids)


def _dispatch_copies(
    settings: Settings, factory: sessionmaker[Session], article_ids: list[int]
) -> int:
    """After planning: enqueue the edits of posts the planned articles joined as copies."""
    if not article_ids:
        return 0
    from news.stories.copies import posts_to_edit

    with factory() as session:
        posts = posts_to_edit(session, article_ids=article_ids, limit=10_000)
    return dispatch_story_edits(posts, settings=settings)


def split_story_article(
    settings: Settings,
    article_id: int,
    *,
    by: int | None = None,
    factory: sessionmaker[Session] | None = None,
) -> SplitResult:
    """An editor's split (news.stories.split), then its sends and edits enqueued.

    Without a broker the rows wait in the database and the reconciler
    enqueues them. `factory`: the caller's sessions (one is made from
    `settings.database_url` otherwise).
    """
    from news.stories.split import split_article

    engine = None
    if factory is None:
        from news.db import make_engine, make_session_factory

        engine = make_engine(settings.effective_database_url)
        factory = make_session_factory(engine)
    try:
        result = split_article(factory, settings, article_id, by=by)
        dispatch_publish(result.planned, settings=settings)
        dispatch_story_edits(result.edits, settings=settings)
        _dispatch_copies(settings, factory, result.replanned)
    finally:
        if engine is not None:
            engine.dispose()
    return result


def dispatch_feed_rebuild(
    *,
    settings: Settings | None = None,
    factory: sessionmaker[Session] | None = None,
    scope: FeedScope | None = None,
) -> bool:
    """Rebuild the feeds soon: one debounced task, or right here without a broker.

    `scope`: what changed, when known (a poll), so the task renders only those
    feeds. True when the feeds were rebuilt or a rebuild is queued.
    """
    if _app(settings) is not None:
        from tasks.jobs import schedule_feed_rebuild

        try:
            schedule_feed_rebuild(scope)
            return True
        except Exception as exc:  # noqa: BLE001 - Redis down: rebuild here if we can
            log.warning("could not queue a feed rebuild (%s)", exc)
    if settings is None or factory is None:
        return False
    from feeds.cache import rebuild_all

    rebuild_all(factory, settings)
    return True


def dispatch_withdrawn(
    article_id: int,
    *,
    settings: Settings | None = None,
    factory: sessionmaker[Session] | None = None,
) -> bool:
    """After a withdrawal: fix its posts (delete or mark) and drop it from the feeds.

    True when the fixes are queued. Without a broker the reconciler finds the
    posts (they show a withdrawn article) and the feeds are rebuilt here when
    `settings` and `factory` are given.
    """
    queued = dispatch_fixes([article_id], settings=settings) > 0
    dispatch_feed_rebuild(settings=settings, factory=factory)
    return queued


def announce_report(
    settings: Settings, factory: sessionmaker[Session], report: PollReport
) -> list[Planned]:
    """What follows a poll, in the task and in :func:`poll_now` alike: plan the new
    articles' deliveries, enqueue them, fix corrected posts, rebuild the feeds."""
    planned = announce_poll(
        factory,
        report,
        settings.effective_routes(),
        settings.publish,
        default_tz=settings.timezone,
        dedupe_readers=settings.stories.dedupe_readers,
    )
    dispatch_publish(planned, settings=settings)
    _dispatch_copies(settings, factory, list(report.announce))
    dispatch_fixes(report.updated, settings=settings)
    if report.changed:
        from feeds.cache import FeedScope

        changed = report.new + report.updated + report.moved
        scope = FeedScope(frozenset((report.source,)), frozenset(changed))
        dispatch_feed_rebuild(settings=settings, factory=factory, scope=scope)
    return planned


@dataclass(frozen=True)
class Announced:
    """What :func:`announce_stored` planned and how many publish tasks it queued."""

    planned: list[Planned]
    queued: int


def announce_stored(
    settings: Settings,
    factory: sessionmaker[Session],
    article_id: int,
    outcome: str,
    *,
    only_new: bool = False,
) -> Announced:
    """What follows an article stored outside a poll (/post, the CMS push, ``loa post``).

    The article's deliveries are planned (planning is idempotent: a chat that
    has its post gets nothing new; a copy of a story already posted to a chat
    becomes an "Also on" link there, and its post's edit is queued) and
    enqueued; a corrected article's posts are fixed; the feeds are rebuilt
    when anything changed. `outcome` is news.ingest.IngestResult's. One
    function, so the three ways in plan alike (dedupe settings included).
    `only_new`: plan only for a new article (the HTTP API answers with the
    deliveries a push created, and a repeated push creates none).
    """
    planned: list[Planned] = []
    queued = 0
    if outcome == "new" or not only_new:
        planned = plan_announcements(
            factory,
            [article_id],
            settings.effective_routes(),
            default_tz=settings.timezone,
            dedupe_readers=settings.stories.dedupe_readers,
        )
        queued = dispatch_publish(planned, settings=settings)
        _dispatch_copies(settings, factory, [article_id])
    if outcome == "updated":
        dispatch_fixes([article_id], settings=settings)
    if outcome != "unchanged":
        dispatch_feed_rebuild(settings=settings, factory=factory)
    return Announced(planned, queued)


def poll_now(
    settings: Settings, factory: sessionmaker[Session], source_name: str, *, force: bool = False
) -> PollSummary:
    """Poll one source in this process, announce and enqueue, and say what was found.

    The poll is the beat's (same services, same lock in Redis, so it never runs
    twice at once), followed by a re-check of the source's young articles so a
    withdrawal shows up too. A paused source is refused unless `force`d.
    """
    from tasks.jobs import POLL_LOCK_SECONDS
    from tasks.runtime import Runtime

    try:
        source = settings.source(source_name)
    except ConfigError:
        known = ", ".join(s.name for s in settings.effective_sources()) or "none"
        raise EditorialError(
            f"no source named {source_name[:60]!r} (configured: {known})"
        ) from None
    with factory() as session:
        if is_source_paused(session, source.name) and not force:
            raise EditorialError(f"source {source.name} is paused; resume it, or force the poll")
    runtime = Runtime(settings)
    lock = None
    if settings.redis_url:
        lock = runtime.redis.lock(
            f"loa:poll:{source.name}",
            timeout=POLL_LOCK_SECONDS,
            blocking_timeout=POLL_WAIT_SECONDS,
        )
        if not lock.acquire():
            runtime.close()
            raise EditorialError(f"a poll of {source.name} is still running; try again soon")
    errors: list[str] = []
    try:
        reading = runtime.reading(source)
        try:
            report = poll_service(factory, reading)
        except SourceError as exc:
            report = PollReport(source=source.name)
            errors.append(str(exc))
        errors += report.problems
        recheck = recheck_service(factory, reading)
        errors += recheck.problems
    finally:
        if lock is not None and lock.owned():
            lock.release()
        runtime.close()
    planned = announce_report(settings, factory, report)
    dispatch_fixes(recheck.updated + recheck.withdrawn, settings=settings)
    if recheck.changed and not report.changed:
        dispatch_feed_rebuild(settings=settings, factory=factory)
    return PollSummary(
        new=len(report.new),
        updated=len(set(report.updated) | set(recheck.updated)),
        withdrawn=len(recheck.withdrawn),
        errors=tuple(errors),
        source=source.name,
        planned=len(planned),
    )
