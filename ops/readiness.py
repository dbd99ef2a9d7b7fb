"""Readiness: can this Loa process do its work right now? (``GET /readyz``)

Liveness (``/healthz``) only says the process answers; a load balancer or an
orchestrator asks readiness before sending traffic, and an operator reads its
reasons. Ready means all three of: the database answers, its schema is at the
revision this code ships (a deploy that skipped ``loa db upgrade`` is not
ready), and Redis answers PING (when a Redis is configured: a feeds-only
``loa serve`` without ``REDIS_URL`` needs none). Each check says why it failed
in one line, never with a password or the bot token.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import redis
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from news.migrate import head_revision


@dataclass(frozen=True)
class Check:
    """One readiness check: `detail` is what it found, or why it failed."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Readiness:
    """Every check; ready when all passed."""

    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def reason(self) -> str:
        """The failed checks in one line (empty when ready)."""
        return "; ".join(f"{c.name}: {c.detail}" for c in self.checks if not c.ok)

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {"status": "ready" if self.ready else "not ready"}
        if not self.ready:
            body["reason"] = self.reason
        body["checks"] = {c.name: {"ok": c.ok, "detail": c.detail} for c in self.checks}
        return body


@functools.cache
def _head() -> str | None:
    """The code's newest revision: read from the migration scripts once per process."""
    return head_revision()


def _failure(exc: BaseException) -> str:
    """One line about `exc`: its class and first line (SQLAlchemy appends SQL and links)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}"[:300]


def check_database(factory: sessionmaker[Session]) -> tuple[Check, Check]:
    """The database answers, and its schema revision is the code's head."""
    head = _head()
    try:
        with factory() as session:
            url = session.get_bind().engine.url
            if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
                if not Path(str(url.database)).is_file():  # connecting would create it
                    reason = f"no database file at {url.database} (run `loa db upgrade`)"
                    return Check("database", False, reason), Check(
                        "migrations", False, "unknown: no database"
                    )
            connection = session.connection()
            connection.execute(text("SELECT 1"))
            current = MigrationContext.configure(connection).get_current_revision()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready, with its reason
        return (
            Check("database", False, f"unreachable ({_failure(exc)})"),
            Check("migrations", False, "unknown: database unreachable"),
        )
    database = Check("database", True, url.get_backend_name())
    if current != head:
        detail = f"schema at {current or 'nothing'}, code expects {head}: run `loa db upgrade`"
        return database, Check("migrations", False, detail)
    return database, Check("migrations", True, f"at head {head}")


def check_redis(client: redis.Redis | None) -> Check:
    """Redis answers PING (skipped, and fine, when none is configured)."""
    if client is None:
        return Check("redis", True, "not configured (REDIS_URL unset)")
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready, with its reason
        return Check("redis", False, f"unreachable ({_failure(exc)})")
    return Check("redis", True, "PONG")


def readiness(factory: sessionmaker[Session], client: redis.Redis | None) -> Readiness:
    """Run every check (blocking: call it from a thread in an async server)."""
    return Readiness((*check_database(factory), check_redis(client)))
