"""Things editors should hear about, recorded where they happen.

One function records an event, so every producer (source health, withdrawals,
moves, channel failures) writes the same row shape, and the editors' alerts
(delivered by the bot) read one table. `loa status` shows recent events.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from news.models import Event, EventKind


def record_event(
    session: Session,
    kind: EventKind,
    message: str,
    *,
    source_id: int | None = None,
    article_id: int | None = None,
) -> None:
    """Add an event to `session` (the caller's transaction commits it)."""
    session.add(Event(kind=kind, source_id=source_id, article_id=article_id, message=message))
