"""The base class of every Loa task: retried with backoff while the database is unreachable.

A task that meets a closed port, a restarting PostgreSQL or a locked SQLite
file fails with a connection-level error that says nothing about the task
itself; run again a little later it succeeds. Without a retry, the work waits
for whatever enqueues it next: the reconciler for deliveries and polls, but
nothing at all for a feed rebuild. Every task is idempotent (the ledger,
upserts), so running one again is always safe. The delays double from 2 s up
to a minute (with jitter, so workers do not stampede a database coming back)
for about four minutes; each is far below the broker's visibility timeout.
"""

from __future__ import annotations

from celery import Task
from sqlalchemy.exc import InterfaceError, OperationalError


class LoaTask(Task):  # type: ignore[misc]  # celery ships no type hints
    """Celery's Task, with automatic retries on database connection errors."""

    autoretry_for = (OperationalError, InterfaceError)
    retry_backoff = 2
    retry_backoff_max = 60
    retry_jitter = True
    max_retries = 8
