"""Editors' pauses: stop polling a source, posting to a chat, or everything.

A pause is a row in the database (never only in Redis), so it survives
restarts and every process sees it: the beat's poll task and the reconciler
skip a paused source, the publisher defers a paused chat's rows (they stay
pending, nothing is lost), and `loa status` and the bot's /status show them.
``all`` pauses every source and every chat at once.

This module is the small read/write core that those callers import;
:mod:`news.editorial` re-exports it as part of the editors' service layer.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Insert, delete, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from news.db import utcnow, write_session
from news.errors import EditorialError
from news.models import Channel, Pause, PauseKind

#: The longest name a pause can hold (the column's width).
MAX_NAME = 200
#: A chat as the config and the ledger name it: '@name' or a numeric id.
_CHAT = re.compile(r"@[A-Za-z0-9_]{1,64}|-?[0-9]{1,20}")


@dataclass(frozen=True)
class PauseInfo:
    """One active pause, as /status and `loa status` show it."""

    kind: PauseKind
    name: str
    #: the editor's Telegram user id; None when set from the CLI or the API
    created_by: int | None
    created_at: datetime

    @property
    def label(self) -> str:
        """``source demo``, ``chat @tin_tuc`` or ``all``."""
        return "all" if self.kind is PauseKind.ALL else f"{self.kind.value} {self.name}"


def pause_target(kind: PauseKind | str, name: str = "") -> tuple[PauseKind, str]:
    """Check and normalise what to pause; raises EditorialError with the reason.

    ``all`` takes no name; a source or a chat needs one.
    """
    try:
        kind = PauseKind(kind)
    except ValueError:
        raise EditorialError(
            f"cannot pause {str(kind)[:40]!r}: say source NAME, chat CHAT or all"
        ) from None
    name = (name or "").strip()
    if kind is PauseKind.ALL:
        if name:
            raise EditorialError("'all' pauses everything and takes no name")
        return kind, ""
    if not name:
        raise EditorialError(f"which {kind.value}? say {kind.value} NAME")
    if len(name) > MAX_NAME or any(not c.isprintable() or c.isspace() for c in name):
        raise EditorialError(f"{name[:40]!r} is not a {kind.value} name")
    if kind is PauseKind.CHAT and not _CHAT.fullmatch(name):
        raise EditorialError(f"{name[:40]!r} is not a chat: say @name or its numeric id")
    return kind, name


def pause(
    factory: sessionmaker[Session],
    kind: PauseKind | str,
    name: str = "",
    *,
    by: int | None = None,
    sources: Collection[str] | None = None,
) -> bool:
    """Pause a source, a chat or everything; True if it was not paused already.

    With `sources` (the configured names), a source not among them is refused:
    a typo would otherwise pause nothing and say it did.
    """
    kind, name = pause_target(kind, name)
    if kind is PauseKind.SOURCE and sources is not None and name not in sources:
        known = ", ".join(sorted(sources)) or "none"
        raise EditorialError(f"no source named {name[:60]!r} (configured: {known})")
    row = {"kind": kind, "name": name, "created_by": by, "created_at": utcnow()}
    with write_session(factory) as session:
        # Two editors pausing at once: one row, the second is told it was paused already.
        statement = _insert_ignoring_conflicts(session).values(**row).returning(Pause.id)
        return session.execute(statement).first() is not None


def _insert_ignoring_conflicts(session: Session) -> Insert:
    """INSERT … ON CONFLICT (kind, name) DO NOTHING, in the session's dialect."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return insert(Pause).on_conflict_do_nothing(index_elements=["kind", "name"])


def resume(factory: sessionmaker[Session], kind: PauseKind | str, name: str = "") -> bool:
    """Lift a pause; True if there was one.

    Resuming ``all`` lifts only the ``all`` pause: a source or chat an editor
    paused on its own stays paused until resumed by name.
    """
    kind, name = pause_target(kind, name)
    with write_session(factory) as session:
        statement = delete(Pause).where(Pause.kind == kind, Pause.name == name)
        return session.execute(statement.returning(Pause.id)).first() is not None


def active_pauses(factory: sessionmaker[Session]) -> list[PauseInfo]:
    """Every pause in force, oldest first."""
    with factory() as session:
        return pauses_in(session)


def pauses_in(session: Session) -> list[PauseInfo]:
    """Every pause in force, oldest first, read in the caller's session."""
    rows = session.scalars(select(Pause).order_by(Pause.created_at, Pause.id))
    return [PauseInfo(r.kind, r.name, r.created_by, r.created_at) for r in rows]


def is_source_paused(session: Session, name: str) -> bool:
    """Whether polling the source called `name` is paused (by name or by ``all``)."""
    found = session.scalar(
        select(Pause.id)
        .where(
            or_(
                Pause.kind == PauseKind.ALL,
                (Pause.kind == PauseKind.SOURCE) & (Pause.name == name),
            )
        )
        .limit(1)
    )
    return found is not None


def is_chat_paused(session: Session, chat: str) -> bool:
    """Whether posting to `chat` is paused (by ``all``, or under any name the chat goes by).

    A channel paused as ``@name`` is paused too when a row names it by its
    numeric id, and the other way round (the channels table knows both).
    """
    rows = session.execute(
        select(Pause.kind, Pause.name).where(Pause.kind != PauseKind.SOURCE)
    ).all()
    if not rows:  # the common case costs one small query: no chat is paused
        return False
    if any(kind == PauseKind.ALL for kind, _ in rows):
        return True
    paused = {name for _, name in rows}
    return chat in paused or bool(chat_aliases(session, chat) & paused)


def paused_sources(session: Session, names: list[str]) -> set[str]:
    """Which of `names` are paused (all of them while ``all`` is paused)."""
    rows = {
        (kind, name)
        for kind, name in session.execute(
            select(Pause.kind, Pause.name).where(
                or_(Pause.kind == PauseKind.ALL, Pause.kind == PauseKind.SOURCE)
            )
        )
    }
    if any(kind == PauseKind.ALL for kind, _ in rows):
        return set(names)
    return {name for name in names if (PauseKind.SOURCE, name) in rows}


def chat_aliases(session: Session, chat: str) -> set[str]:
    """`chat` and the other name the channels table knows it by (``@name`` ↔ ``-100…``)."""
    names = {chat}
    rows = session.execute(
        select(Channel.configured, Channel.chat_id).where(
            or_(Channel.configured == chat, Channel.chat_id == chat)
        )
    )
    for configured, chat_id in rows:
        names.add(configured)
        if chat_id:
            names.add(chat_id)
    return names
