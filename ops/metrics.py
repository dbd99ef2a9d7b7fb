"""Loa's Prometheus metrics: every series defined here, recorded by small calls that never fail.

The code paths call the ``record_*`` functions below (one line each); a
metrics problem (a full disk under the metrics directory, say) is logged once
and swallowed, so observing a poll or a send can never break it. Every name
starts with ``loa_``; labels are bounded (source names and outcomes, never
chat ids, URLs or error texts).

Several processes (the worker and its pool children, beat, the bot, the web
server) record, and only the web server answers ``/metrics``. So the long-
running entry points call :func:`enable_multiprocess` once, right after
loading settings: prometheus-client's multiprocess mode then keeps every
value in memory-mapped files under ``settings.metrics_dir``, one set per
process (named by host and pid: see :func:`process_id`), and the web
server's scrape adds them all up (see :mod:`ops.scrape`).
``PROMETHEUS_MULTIPROC_DIR`` is set in the environment, so Celery's forked
pool children and any process started from this one inherit it; `loa run`
clears the directory at start (:func:`clear_directory`), and a pool child
that exits is marked dead (:func:`mark_process_dead`).

Series are built on first use, not at import: a module that imports this one
before the entry point enabled multiprocess mode still records into the files.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from news.models import Article, Delivery, Source
from ops import metric_files

log = logging.getLogger(__name__)

#: The variable prometheus-client reads to choose multiprocess mode.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Seconds: a page fetch is usually well under a second; the fetch deadline is 30 s.
FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)
#: Seconds from an article's storage to Telegram accepting its post: bursts are
#: spread over minutes (20 messages a minute per channel), retries wait longer.
PUBLISH_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
#: Label value for an article that no configured source owns (a CMS push).
NO_SOURCE = "none"
_ON_COMMIT = "loa_metrics_on_commit"


class Metrics:
    """Every series Loa records (the scrape-time gauges live in :mod:`ops.scrape`)."""

    def __init__(self, registry: CollectorRegistry):
        self.registry = registry
        self.polls = Counter(
            "loa_polls",
            "Polls of a source, by outcome: changed, unchanged, not_modified (304), error",
            ["source", "outcome"],
            registry=registry,
        )
        self.fetch_seconds = Histogram(
            "loa_fetch_seconds",
            "Duration of one HTTP fetch of a source's page (listing or article), by outcome",
            ["outcome"],
            buckets=FETCH_BUCKETS,
            registry=registry,
        )
        self.articles = Counter(
            "loa_articles",
            "Articles stored, by source and change: new, updated, withdrawn",
            ["source", "change"],
            registry=registry,
        )
        self.deliveries = Counter(
            "loa_deliveries",
            "Delivery ledger rows settled, by outcome: sent, retry (due again later: "
            "a transient error, a 429 or no rate-limit turn soon enough), failed (given up)",
            ["outcome"],
            registry=registry,
        )
        self.telegram_429 = Counter(
            "loa_telegram_429",
            "Bot API answers 429 Too Many Requests",
            registry=registry,
        )
        self.limiter_waits = Counter(
            "loa_limiter_waits",
            "Times a send slept for a turn from the shared rate limiter",
            registry=registry,
        )
        self.limiter_wait_seconds = Counter(
            "loa_limiter_wait_seconds",
            "Seconds sends slept for turns from the shared rate limiter",
            registry=registry,
        )
        self.publish_latency = Histogram(
            "loa_publish_latency_seconds",
            "Seconds from an article's first storage to Telegram accepting its post "
            "(first posts only; republished and corrected ones are not counted)",
            buckets=PUBLISH_BUCKETS,
            registry=registry,
        )


_lock = threading.Lock()
_metrics: Metrics | None = None
_failed: set[str] = set()


def metrics() -> Metrics:
    """This process's series, built on first use (after :func:`enable_multiprocess`, if any)."""
    global _metrics
    with _lock:
        if _metrics is None:
            _metrics = Metrics(CollectorRegistry())
        return _metrics


def multiprocess_dir() -> Path | None:
    """The directory the processes share their values in, or None in single-process mode."""
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def enable_multiprocess(directory: Path) -> None:
    """Record into files under `directory`, shared with the other Loa processes.

    Sets ``PROMETHEUS_MULTIPROC_DIR`` (inherited by forked and started children)
    and switches prometheus-client's value class, which it otherwise chooses
    once, when first imported. Series built before are dropped and rebuilt.
    A directory that cannot be made (a read-only data volume) leaves this
    process in single-process mode, with a warning: metrics never stop Loa.
    """
    global _metrics
    from prometheus_client import values

    directory = directory.resolve()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning(
            "metrics: cannot use %s (%s); this process's metrics stay its own", directory, exc
        )
        return
    with _lock:
        os.environ[MULTIPROC_ENV] = str(directory)
        values.ValueClass = values.MultiProcessValue(process_identifier=process_id)  # type: ignore[no-untyped-call]
        metric_files.install()  # a full disk: an OSError we log, never a SIGBUS
        _metrics = None


def process_id(pid: int | None = None) -> str:
    """This process's name in the metric files' names: host and pid.

    prometheus-client names them by pid alone, but containers sharing the
    metrics volume (docker-compose's worker and web) each have their own pid
    1, 7, ...: the host name (a container's id) keeps their files apart.
    """
    host = socket.gethostname().replace("_", "-") or "host"
    return f"{host}-{os.getpid() if pid is None else pid}"


def clear_directory(directory: Path) -> None:
    """Remove the files of earlier runs (`loa run` does this before starting its children).

    Counters of dead processes would otherwise be summed into the new run's
    forever, and files would pile up, one set per process id ever started.
    """
    if directory.is_dir():
        for path in directory.glob("*.db"):
            path.unlink(missing_ok=True)
    else:
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True, exist_ok=True)


def mark_process_dead(pid: int) -> None:
    """Drop a dead process's live gauges (Celery calls this as a pool child exits)."""
    directory = multiprocess_dir()
    if directory is None:
        return
    try:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(process_id(pid), str(directory))  # type: ignore[no-untyped-call]
    except Exception as exc:  # noqa: BLE001 - metrics never break a shutdown
        log.warning("metrics: could not mark process %s dead: %s", pid, exc)


def _guarded(what: str, record: Callable[[], None]) -> None:
    """Run `record`; log a failure (once per kind, then at DEBUG) instead of raising."""
    try:
        record()
    except Exception as exc:  # noqa: BLE001 - observing must never break the observed path
        level = logging.DEBUG if what in _failed else logging.WARNING
        _failed.add(what)
        log.log(level, "metrics: could not record %s: %s: %s", what, type(exc).__name__, exc)


# --- what the code paths call ------------------------------------------------------


def record_poll(source: str, outcome: str) -> None:
    """One poll of `source` ended: changed, unchanged, not_modified or error."""
    _guarded("poll", lambda: metrics().polls.labels(source, outcome).inc())


def record_fetch(seconds: float, outcome: str) -> None:
    """One page fetch took `seconds`: ok, not_modified or error."""
    _guarded("fetch", lambda: metrics().fetch_seconds.labels(outcome).observe(seconds))


def _on_commit(session: Session, what: str, record: Callable[[], None]) -> None:
    """Run `record` (guarded) once `session` commits; forget it if it rolls back.

    Database changes are counted on commit, not when made: a transaction
    rolled back (a lost race, a crash) changed nothing, and counts nothing.
    """
    session.info.setdefault(_ON_COMMIT, []).append((what, record))


def record_article(session: Session, source: str | None, change: str) -> None:
    """Count an article change (new, updated, withdrawn) when `session` commits."""

    def remember() -> None:
        label = source or NO_SOURCE
        _on_commit(session, "article", lambda: metrics().articles.labels(label, change).inc())

    _guarded("article", remember)


def record_withdrawal(session: Session, source_id: int | None) -> None:
    """Count an article withdrawn (by its source or an editor) when `session` commits."""

    def remember() -> None:
        name = None
        if source_id is not None:
            with session.no_autoflush:
                name = session.scalar(select(Source.name).where(Source.id == source_id))
        label = name or NO_SOURCE
        _on_commit(session, "article", lambda: metrics().articles.labels(label, "withdrawn").inc())

    _guarded("article", remember)


def record_ledger(session: Session, outcome: str, count: int = 1) -> None:
    """Count ledger rows settled as `outcome` (retry, failed) when `session` commits."""

    def remember() -> None:
        _on_commit(session, "delivery", lambda: metrics().deliveries.labels(outcome).inc(count))

    _guarded("delivery", remember)


def record_sent(session: Session, delivery_ids: list[int], accepted_at: datetime) -> None:
    """Count rows about to be marked sent, and each first post's publish latency, on commit.

    Called before the rows are updated: a row is a first post when it is of
    generation 0 (not a republish) and was never sent before. The latency runs
    from the article's first storage to `accepted_at`. One query per call, so
    a batch of sends costs one query, not one per message.
    """

    def remember() -> None:
        with session.no_autoflush:
            rows = session.execute(
                select(Delivery.generation, Delivery.sent_at, Article.first_seen_at)
                .join(Article, Article.id == Delivery.article_id)
                .where(Delivery.id.in_(delivery_ids))
            ).all()
        latencies = [
            max(accepted_at - stored_at, timedelta(0)).total_seconds()
            for generation, sent_at, stored_at in rows
            if generation == 0 and sent_at is None
        ]

        def record() -> None:
            series = metrics()
            series.deliveries.labels("sent").inc(len(delivery_ids))
            for seconds in latencies:
                series.publish_latency.observe(seconds)

        _on_commit(session, "delivery", record)

    if delivery_ids:
        _guarded("delivery", remember)


def record_telegram_429() -> None:
    """The Bot API answered 429."""
    _guarded("429", lambda: metrics().telegram_429.inc())


def record_limiter_wait(seconds: float) -> None:
    """A send slept `seconds` for a rate-limit turn."""

    def record() -> None:
        series = metrics()
        series.limiter_waits.inc()
        series.limiter_wait_seconds.inc(max(seconds, 0.0))

    _guarded("limiter wait", record)


# --- database changes are counted when their transaction commits ----------------------


@event.listens_for(Session, "after_commit")
def _count_committed(session: Session) -> None:
    for what, record in session.info.pop(_ON_COMMIT, None) or ():
        _guarded(what, record)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_ON_COMMIT, None)
