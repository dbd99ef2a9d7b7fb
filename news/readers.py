"""Readers of the bot: who they are, the language they chose, and their delivery habits.

A reader row is created the first time someone writes to the bot, so /lang,
/digest and /quiet have somewhere to live. Handlers never touch the table;
they call these functions (one write session each).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from news.bundles import release_held
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


def set_digest(factory: sessionmaker[Session], user_id: int, clock: str | None) -> str | None:
    """Daily digest at local `clock` ("HH:MM"), or one message per article (None).

    Returns the reader's time zone name (None: the newsroom's). Turning the
    digest off releases what it held, so nothing waits for a digest that
    will not come.
    """
    with write_session(factory) as session:
        reader = ensure_reader(session, user_id)
        reader.digest_at = clock
        zone = reader.timezone
    if clock is None:
        release_held(factory, str(user_id))
    return zone


def set_quiet_hours(
    factory: sessionmaker[Session], user_id: int, hours: tuple[int, int] | None
) -> str | None:
    """Hold alerts between local hours [from, to), or never (None); returns the reader's zone."""
    with write_session(factory) as session:
        reader = ensure_reader(session, user_id)
        reader.quiet_from, reader.quiet_to = hours if hours else (None, None)
        zone = reader.timezone
        digest = reader.digest_at
    if hours is None and digest is None:
        release_held(factory, str(user_id))
    return zone


def set_timezone(factory: sessionmaker[Session], user_id: int, zone: str | None) -> None:
    """The reader's IANA zone for digests and quiet hours (None: the newsroom's)."""
    with write_session(factory) as session:
        ensure_reader(session, user_id).timezone = zone


def is_reader_chat(factory: sessionmaker[Session], chat: str) -> bool:
    """True when `chat` is a reader's private chat (a positive id with a reader row).

    Readers' chats are not channels: they are never resolved or checked, and a
    403 there unsubscribes the reader instead of failing a channel.
    """
    if not chat.isdigit():
        return False
    with factory() as session:
        found = session.scalar(
            select(Subscriber.id).where(Subscriber.telegram_user_id == int(chat))
        )
    return found is not None


def reader_language(factory: sessionmaker[Session], chat: str) -> str | None:
    """The language stored for a reader's chat (None: not a reader)."""
    if not chat.isdigit():
        return None
    with factory() as session:
        found = session.scalar(
            select(Subscriber.language).where(Subscriber.telegram_user_id == int(chat))
        )
    return str(found) if found is not None else None


def reader_languages(factory: sessionmaker[Session], chats: list[str]) -> dict[str, str]:
    """Which of `chats` are readers' chats, with each reader's language (one query).

    A fan-out asks this once per batch instead of :func:`is_reader_chat` and
    :func:`reader_language` once per message; chats not in the answer are not readers.
    """
    ids = list({int(chat) for chat in chats if chat.isdigit()})
    if not ids:
        return {}
    with factory() as session:
        rows = session.execute(
            select(Subscriber.telegram_user_id, Subscriber.language).where(
                Subscriber.telegram_user_id.in_(ids)
            )
        ).all()
    return {str(user_id): str(language) for user_id, language in rows}
