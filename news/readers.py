"""Readers of the bot: who they are, the language they chose, and their delivery habits.

A reader row is created the first time someone writes to the bot, so /lang,
/digest and /quiet have somewhere to live. Handlers never touch the table;
they call these functions (one write session each).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from news.db import write_session
from news.models import Subscriber

LANGUAGES = ("vi", "en")


def chosen_language(factory: sessionmaker[Session], user_id: int) -> str | None:
    """The language a reader picked with /lang, or None when they never did."""
    with factory() as session:
        row = session.execute(
            select(Subscriber.language, Subscriber.language_chosen).where(
                Subscriber.telegram_user_id == user_id
            )
        ).first()
    if row is None or not row.language_chosen:
        return None
    return str(row.language)


def ensure_reader(session: Session, user_id: int, *, language: str = "vi") -> Subscriber:
    """The reader's row, created on first sight; writing again lifts a 403 block."""
    reader = session.scalar(select(Subscriber).where(Subscriber.telegram_user_id == user_id))
    if reader is None:
        reader = Subscriber(telegram_user_id=user_id, language=language, blocked=False)
        session.add(reader)
        session.flush()
    elif reader.blocked:
        reader.blocked = False
        reader.blocked_at = None
    return reader


def set_language(factory: sessionmaker[Session], user_id: int, language: str) -> None:
    """Remember the reader's language (one of LANGUAGES)."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    with write_session(factory) as session:
        reader = ensure_reader(session, user_id, language=language)
        reader.language = language
        reader.language_chosen = True
