"""Source health: count failures, flag a source unhealthy, notice recovery.

After `unhealthy_after` consecutive failures a source is marked unhealthy and
an event is recorded for the editors (the bot delivers it); the first success
afterwards marks it healthy again and records a recovery event.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from news.events import record_event
from news.models import EventKind, SourceState


def record_success(
    session: Session,
    state: SourceState,
    now: datetime,
    *,
    etag: str | None,
    last_modified: str | None,
) -> None:
    """A poll worked: store validators, reset failures, recover if needed."""
    state.etag, state.last_modified = etag, last_modified
    state.last_polled_at = state.last_success_at = now
    state.consecutive_failures = 0
    state.last_error = None
    state.polls += 1
    if not state.healthy:
        state.healthy = True
        state.unhealthy_since = None
        record_event(
            session,
            EventKind.SOURCE_RECOVERED,
            f"source {state.source.name} is reachable again",
            source_id=state.source_id,
        )


def record_failure(
    session: Session, state: SourceState, now: datetime, error: Exception, *, unhealthy_after: int
) -> None:
    """A poll failed: count it, keep the error, and flag the source after N in a row."""
    state.last_polled_at = state.last_failure_at = now
    state.consecutive_failures += 1
    state.last_error = f"{error.__class__.__name__}: {error}"[:2000]
    if state.healthy and state.consecutive_failures >= unhealthy_after:
        state.healthy = False
        state.unhealthy_since = now
        record_event(
            session,
            EventKind.SOURCE_UNHEALTHY,
            (
                f"source {state.source.name} failed {state.consecutive_failures} times "
                f"in a row: {state.last_error}"
            ),
            source_id=state.source_id,
        )
