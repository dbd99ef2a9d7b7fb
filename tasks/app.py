"""The Celery application, built from settings by :func:`create_celery_app`.

Reliability settings follow DESIGN.md: late acks and reject-on-worker-lost so
a killed pool child's task is re-queued, prefetch 1 so one slow task does not
hold others hostage, JSON only, no result backend. The database, not Redis,
remembers what is due; ``loa.reconcile`` re-enqueues it.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

from celery import Celery
from celery.schedules import crontab
from celery.signals import (
    setup_logging,
    task_postrun,
    task_prerun,
    worker_process_init,
    worker_process_shutdown,
)

from config.settings import Settings
from news import log_context
from news.errors import ConfigError
from ops.metrics import mark_process_dead
from tasks import broker, runtime
from tasks.runtime import NO_REDIS
from tasks.schedule import PhasedInterval

log = logging.getLogger(__name__)

VISIBILITY_TIMEOUT = 3600
RECONCILE_EVERY = timedelta(seconds=60)
HOUSEKEEPING_AT = crontab(hour=3, minute=30)
TASK_MODULES = ["tasks.jobs"]


def build_beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """One periodic poll and re-check per configured source, the reconciler, housekeeping."""
    schedule: dict[str, dict[str, Any]] = {
        "reconcile": {"task": "loa.reconcile", "schedule": RECONCILE_EVERY},
        # Retention, once a day at a quiet hour of the newsroom's time zone.
        "housekeeping": {"task": "loa.housekeeping", "schedule": HOUSEKEEPING_AT},
    }
    for source in settings.effective_sources():
        schedule[f"poll-{source.name}"] = {
            "task": "loa.poll_source",
            # Each source at its own phase of the interval: 1,000 sources are not
            # all due in the same second (tasks.schedule).
            "schedule": PhasedInterval(timedelta(seconds=source.poll_interval), source.name),
            "args": (source.name,),
            "options": {"expires": max(source.poll_interval, 5)},
        }
        if source.recheck_window_hours > 0:
            schedule[f"recheck-{source.name}"] = {
                "task": "loa.recheck_source",
                "schedule": PhasedInterval(
                    timedelta(seconds=source.recheck_every), f"recheck:{source.name}"
                ),
                "args": (source.name,),
                "options": {"expires": source.recheck_every},
            }
    return schedule


def create_celery_app(settings: Settings) -> Celery:
    """A configured Celery app; also makes `settings` this process's task runtime."""
    if not settings.redis_url:
        raise ConfigError(NO_REDIS)
    runtime.configure(settings)
    broker.install()  # a lost Redis connection must not stop the worker
    app = Celery(
        "loa",
        broker=settings.redis_url,
        include=TASK_MODULES,
        task_cls="tasks.base:LoaTask",  # retried with backoff while the database is down
    )
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        timezone=settings.timezone,
        enable_utc=True,
        beat_schedule=build_beat_schedule(settings),
        beat_scheduler="tasks.schedule:LoaScheduler",
    )
    app.set_default()
    return app


@worker_process_init.connect
def _fresh_runtime_in_child(**_: Any) -> None:
    """A forked pool child gets its own connections, event loop and initialised `Bot`.

    The parent's are not fork-safe, and PTB's HTTP client is bound to the loop
    it was created on: one loop and one Bot per process, made here, once.
    """
    runtime.reset_after_fork()
    try:
        runtime.get_runtime().sender  # noqa: B018 - builds and initialises the Bot now
    except Exception as exc:  # noqa: BLE001 - Telegram unreachable: build it on first use
        log.warning("Telegram sender not ready at worker start (%s); will retry on use", exc)


@worker_process_shutdown.connect
def _metrics_of_exiting_child(pid: int | None = None, **_: Any) -> None:
    """A pool child that exits leaves its metric files behind: its live gauges are dropped."""
    mark_process_dead(pid if pid is not None else os.getpid())


@setup_logging.connect
def _keep_our_logging(**_: Any) -> None:
    """Connected so Celery leaves logging alone: `loa` entry points already set it up."""


#: Which arguments of a task name what its log lines are about (news.log_context).
_LOG_FIELDS: dict[str, tuple[str, ...]] = {
    "loa.poll_source": ("source",),
    "loa.recheck_source": ("source",),
    "loa.publish": ("delivery_id",),
    "loa.fix_posts": ("article_id",),
    "loa.send_bundle": ("chat_id",),
    "loa.story_edits": ("delivery_id",),
}


@task_prerun.connect
def _log_context_of_task(task: Any = None, args: Any = None, **_: Any) -> None:
    """Each task starts a fresh log context naming what it works on (`--log-json` fields)."""
    names = _LOG_FIELDS.get(getattr(task, "name", ""), ())
    log_context.replace(**dict(zip(names, args or (), strict=False)))


@task_postrun.connect
def _end_log_context(**_: Any) -> None:
    """Nothing a task bound outlives it (the next task in this process starts clean)."""
    log_context.replace()
