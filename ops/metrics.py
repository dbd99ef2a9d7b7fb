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
value in memory-mapped files under ``settings.metrics_dir`` (one set per
process id), and the web server's scrape adds them all up (see
:mod:`ops.scrape`). ``PROMETHEUS_MULTIPROC_DIR`` is set in the environment,
so Celery's forked pool children and any process started from this one
inherit it; `loa run` clears the directory at start (:func:`clear_directory`),
and a pool child that exits is marked dead (:func:`mark_process_dead`).

Series are built on first use, not at import: a module that imports this one
before the entry point enabled multiprocess mode still records into the files.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from news.models import Source

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
_PENDING_ARTICLES = "loa_metrics_articles"


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
            "Ledger deliveries handled by the publisher, by outcome: "
            "sent, retry, deferred, failed, skipped",
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
    """
    global _metrics
    from prometheus_client import values

    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    with _lock:
        os.environ[MULTIPROC_ENV] = str(directory)
        values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
        _metrics = None


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

        multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
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


def record_article(session: Session, source: str | None, change: str) -> None:
    """Count an article change (new, updated, withdrawn) when `session` commits.

    Counted on commit, not now: a transaction rolled back (a lost race, a
    crash) changed nothing, and counts nothing.
    """

    def remember() -> None:
        session.info.setdefault(_PENDING_ARTICLES, []).append((source or NO_SOURCE, change))

    _guarded("article", remember)


def record_withdrawal(session: Session, source_id: int | None) -> None:
    """Count an article withdrawn (by its source or an editor) when `session` commits."""

    def remember() -> None:
        name = None
        if source_id is not None:
            with session.no_autoflush:
                name = session.scalar(select(Source.name).where(Source.id == source_id))
        session.info.setdefault(_PENDING_ARTICLES, []).append((name or NO_SOURCE, "withdrawn"))

    _guarded("article", remember)


def record_delivery(outcome: str) -> None:
    """The publisher finished with one ledger row: sent, retry, deferred, failed, skipped."""
    _guarded("delivery", lambda: metrics().deliveries.labels(outcome).inc())


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


def record_publish_latency(stored_at: datetime, accepted_at: datetime) -> None:
    """An article stored at `stored_at` had its first post accepted at `accepted_at`."""

    def record() -> None:
        delay = accepted_at - stored_at
        metrics().publish_latency.observe(max(delay, timedelta(0)).total_seconds())

    _guarded("publish latency", record)


# --- articles are counted when their transaction commits -----------------------------


@event.listens_for(Session, "after_commit")
def _count_committed_articles(session: Session) -> None:
    pending = session.info.pop(_PENDING_ARTICLES, None)
    if pending:

        def record() -> None:
            series = metrics().articles
            for source, change in pending:
                series.labels(source, change).inc()

        _guarded("article", record)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back_articles(session: Session) -> None:
    session.info.pop(_PENDING_ARTICLES, None)
