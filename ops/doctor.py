"""`loa doctor`: is this installation able to do its job? One line per check.

Checks the config, the data directory, the database and its migrations, Redis,
the bot token (getMe), every channel's rights (getChat + getChatMember) and
every source once (its listing, then one article read by the same code a poll
uses). Nothing is written anywhere: doctor may run beside a live Loa.

Each check runs on a daemon thread with its own deadline, so a service that
hangs (a firewalled port, a Bot API that never answers) becomes one ``fail``
line instead of a hung command. The token never appears in the output: every
detail is scrubbed of it before it is returned.
"""

from __future__ import annotations

import enum
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from config.settings import Settings, SourceConfig
from news.errors import LoaError

DEFAULT_TIMEOUT = 10.0
#: Checks run this many at a time (sources can be many; the machine is small).
PARALLEL = 8
REDACTED = "[REDACTED]"


class Verdict(enum.StrEnum):
    """How one check went; only ``fail`` makes `loa doctor` exit non-zero."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Finding:
    """One line of the doctor's table."""

    check: str
    verdict: Verdict
    detail: str


#: A check returns its findings (several for one that covers many things).
Check = Callable[[], list[Finding]]


def examine(
    settings: Settings,
    *,
    config_path: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Finding]:
    """Run every check (each bounded by `timeout` seconds); findings in a stable order."""
    checks: list[tuple[str, Check]] = [
        ("config", lambda: [config_finding(settings, config_path)]),
        ("data directory", lambda: [data_dir_finding(settings.data_dir)]),
        ("database", lambda: [database_finding(settings, timeout)]),
        ("redis", lambda: [redis_finding(settings, timeout)]),
        ("telegram", lambda: telegram_findings(settings)),
    ]
    checks += [
        (f"source {source.name}", _source_check(settings, source))
        for source in settings.effective_sources()
    ]
    findings = run_bounded(checks, timeout=timeout)
    secrets = [s.get_secret_value() for s in (settings.telegram_bot_token,) if s]
    return [Finding(f.check, f.verdict, scrub(f.detail, secrets)) for f in findings]


def run_bounded(checks: Sequence[tuple[str, Check]], *, timeout: float) -> list[Finding]:
    """Run `checks` on daemon threads, PARALLEL at a time; a late one becomes a ``fail``.

    A thread still stuck when the command ends dies with the process (daemon),
    so a hanging service can delay doctor by `timeout`, never hang it.
    """
    results: list[list[Finding]] = [[] for _ in checks]
    for start in range(0, len(checks), PARALLEL):
        batch = list(enumerate(checks))[start : start + PARALLEL]
        threads = []
        for index, (name, check) in batch:
            thread = threading.Thread(
                target=_capture, args=(name, check, results, index), daemon=True
            )
            thread.start()
            threads.append((index, name, thread))
        deadline = time.monotonic() + timeout
        for index, name, thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                results[index] = [
                    Finding(name, Verdict.FAIL, f"no answer within {timeout:g} s (hangs?)")
                ]
    return [finding for found in results for finding in found]


def _capture(name: str, check: Check, results: list[list[Finding]], index: int) -> None:
    """Run one check; an unexpected error is a ``fail`` line, not a traceback."""
    try:
        results[index] = check()
    except LoaError as exc:
        results[index] = [Finding(name, Verdict.FAIL, str(exc))]
    except Exception as exc:  # noqa: BLE001 - doctor reports whatever broke, and goes on
        results[index] = [Finding(name, Verdict.FAIL, f"{type(exc).__name__}: {exc}")]


def scrub(text: str, secrets: Sequence[str]) -> str:
    """`text` without any of `secrets` (the token, also inside a /bot<token>/ URL)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def without_password(url: str) -> str:
    """A service URL fit to print: the password (if any) replaced."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


# ------------------------------------------------------------------ config and disk


def config_finding(settings: Settings, config_path: Path | None) -> Finding:
    """The config parsed (it did, or doctor would not run); what it sets up."""
    where = str(config_path) if config_path else "no file: defaults and environment"
    sources, channels = settings.effective_sources(), settings.effective_channels()
    routes = settings.effective_routes()
    counts = ", ".join(
        f"{n} {word if n == 1 else word + 's'}"
        for n, word in (
            (len(sources), "source"),
            (len(channels), "channel"),
            (len(routes), "route"),
        )
    )
    detail = f"{where}; {counts}"
    if settings.is_demo:
        return Finding("config", Verdict.OK, detail + " (the demo)")
    if not sources:
        return Finding(
            "config",
            Verdict.WARN,
            detail + ": no sources (`loa run` then runs the demo portal; others poll nothing)",
        )
    if not routes:
        return Finding("config", Verdict.WARN, detail + ": no routes, articles reach feeds only")
    return Finding("config", Verdict.OK, detail)


def data_dir_finding(directory: Path) -> Finding:
    """The data directory exists and is writable (or can be created)."""
    path = directory.resolve()
    if not path.exists():
        parent = next((p for p in path.parents if p.exists()), None)
        if parent is not None and os.access(parent, os.W_OK):
            return Finding("data directory", Verdict.WARN, f"{path} does not exist yet")
        return Finding("data directory", Verdict.FAIL, f"{path} does not exist, cannot be made")
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        return Finding("data directory", Verdict.FAIL, f"{path} is not a writable directory")
    return Finding("data directory", Verdict.OK, f"{path} is writable")


# ------------------------------------------------------------------ database and Redis


def database_finding(settings: Settings, timeout: float) -> Finding:
    """Reachable, and its schema at this code's head revision (else what to run)."""
    from sqlalchemy import func, select

    from news.db import make_engine
    from news.migrate import current_revision, head_revision
    from news.models import Article

    url = settings.effective_database_url
    name = "database"
    head = head_revision()
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[-1])
        if not path.is_file():
            return Finding(name, Verdict.FAIL, f"no database at {path}: run `loa db upgrade`")
        engine = make_engine(url)
        shown = f"SQLite {path}"
    else:
        engine = make_engine(url, connect_args={"connect_timeout": max(1, int(timeout))})
        shown = engine.url.render_as_string(hide_password=True)
    try:
        current = current_revision(engine)
        if current != head:
            at = current or "no schema"
            return Finding(
                name, Verdict.FAIL, f"{shown} at {at}, code expects {head}: run `loa db upgrade`"
            )
        with engine.connect() as connection:
            articles = connection.scalar(select(func.count()).select_from(Article.__table__))
        return Finding(name, Verdict.OK, f"{shown} at revision {head}, {articles} articles")
    except Exception as exc:  # noqa: BLE001 - any driver error: unreachable, refused, auth
        return Finding(name, Verdict.FAIL, f"{shown} unreachable: {_first_line(exc)}")
    finally:
        engine.dispose()


def redis_finding(settings: Settings, timeout: float) -> Finding:
    """The broker answers PING; without REDIS_URL, the bundled redis-server is there."""
    import redis

    from tasks.runtime import redis_client_url

    url = settings.redis_url
    if not url:
        from loa.embedded_redis import redis_server_binary

        binary = redis_server_binary()
        if not os.access(binary, os.X_OK):
            return Finding("redis", Verdict.FAIL, f"REDIS_URL unset and {binary} is missing")
        return Finding(
            "redis", Verdict.OK, "REDIS_URL unset: `loa run` starts the bundled redis-server"
        )
    shown = without_password(url)
    client = redis.Redis.from_url(
        redis_client_url(url), socket_connect_timeout=timeout, socket_timeout=timeout
    )
    try:
        info: Any = client.info("server")
        return Finding("redis", Verdict.OK, f"{shown} answers (Redis {info['redis_version']})")
    except redis.RedisError as exc:
        return Finding("redis", Verdict.FAIL, f"{shown} unreachable: {_first_line(exc)}")
    finally:
        client.close()


# ------------------------------------------------------------------ Telegram


def telegram_findings(settings: Settings) -> list[Finding]:
    """getMe for the token, then each channel's rights; a dry run says so and passes."""
    channels = [channel.chat for channel in settings.effective_channels()]
    token = settings.telegram_bot_token
    if token is None:
        outbox = settings.outbox_dir.resolve()
        lines = [
            Finding(
                "telegram",
                Verdict.WARN,
                f"not configured (no TELEGRAM_BOT_TOKEN): dry run, posts go to {outbox}",
            )
        ]
        return lines + [
            Finding(f"channel {chat}", Verdict.WARN, "not checked: no token") for chat in channels
        ]
    from bot.channels import bot_rights
    from bot.errors import DeliveryError
    from bot.render import BotRequest
    from bot.senders import TelegramSender

    base = settings.telegram_api_base_url
    sender = TelegramSender(token.get_secret_value(), base_url=base)
    try:
        try:
            me = sender.send(BotRequest("getMe", {}), key="getMe")
        except DeliveryError as exc:
            failed = [Finding("telegram", Verdict.FAIL, f"getMe via {base}: {exc}")]
            return failed + [
                Finding(f"channel {chat}", Verdict.FAIL, "not checked: the token does not work")
                for chat in channels
            ]
        found = [
            Finding("telegram", Verdict.OK, f"@{me.get('username')} (id {me.get('id')}) via {base}")
        ]
        for chat in channels:
            name = f"channel {chat}"
            try:
                answer = sender.send(BotRequest("getChat", {"chat_id": chat}), key="getChat")
                member = sender.send(
                    BotRequest("getChatMember", {"chat_id": answer["id"], "user_id": me["id"]}),
                    key="getChatMember",
                )
            except DeliveryError as exc:
                found.append(Finding(name, Verdict.FAIL, str(exc)))
                continue
            rights = bot_rights(answer, member)
            flags = ", ".join(
                f"{what} {'yes' if allowed else 'NO'}"
                for what, allowed in (
                    ("post", rights.can_post),
                    ("edit", rights.can_edit),
                    ("delete", rights.can_delete),
                )
            )
            detail = f"{answer.get('title') or chat} ({answer['id']}): {flags}"
            if not rights.can_post:
                found.append(Finding(name, Verdict.FAIL, f"{detail}; {rights.problem}"))
            elif rights.problem or not rights.can_delete:
                why = rights.problem or "withdrawn articles' posts cannot be deleted"
                found.append(Finding(name, Verdict.WARN, f"{detail}; {why}"))
            else:
                found.append(Finding(name, Verdict.OK, detail))
        return found
    finally:
        sender.close()


# ------------------------------------------------------------------ sources


def _source_check(settings: Settings, source: SourceConfig) -> Check:
    return lambda: [source_finding(settings, source)]


def source_finding(settings: Settings, source: SourceConfig) -> Finding:
    """The listing answers and links articles, and the first one reads as an article.

    The same discovery and reader a poll uses, with the poll's fetcher limits,
    but without the shared politeness gate: doctor must not need Redis to
    tell whether a site works.
    """
    from news.db import utcnow
    from news.errors import SourceError
    from news.extract import reader_for
    from news.fetch import Fetcher
    from news.poll import discover, read_candidate
    from news.reading import SourceReading

    name = f"source {source.name}"
    fetcher = Fetcher(respect_robots=source.respect_robots)
    reading = SourceReading(
        source,
        fetcher,
        reader_for(source.profile, settings.profiles),
        tz=settings.tz,
        summary_chars=settings.summary_chars,
    )
    started = time.monotonic()
    try:
        try:
            candidates = discover(reading, fetcher.get(source.url))
        except SourceError as exc:
            return Finding(name, Verdict.FAIL, f"listing: {exc}")
        if not candidates:
            return Finding(name, Verdict.FAIL, f"{source.url}: no article links found")
        try:
            _, article, _ = read_candidate(candidates[0], reading, utcnow())
        except SourceError as exc:
            return Finding(
                name, Verdict.WARN, f"{len(candidates)} links; the first does not read: {exc}"
            )
        took = time.monotonic() - started
        title = article.title if len(article.title) <= 60 else article.title[:59] + "…"
        return Finding(name, Verdict.OK, f"{len(candidates)} links; read «{title}» ({took:.1f} s)")
    finally:
        fetcher.session.close()


# ------------------------------------------------------------------ output


_STYLE = {Verdict.OK: "green", Verdict.WARN: "yellow", Verdict.FAIL: "bold red"}


def print_findings(findings: Sequence[Finding], console: Console) -> None:
    """The table, then a one-line verdict."""
    table = Table("check", "verdict", "detail")
    for finding in findings:
        table.add_row(
            escape(finding.check),
            f"[{_STYLE[finding.verdict]}]{finding.verdict}[/]",
            escape(finding.detail),
        )
    console.print(table, markup=True, highlight=False)
    failed = sum(f.verdict is Verdict.FAIL for f in findings)
    warned = sum(f.verdict is Verdict.WARN for f in findings)
    console.print(f"{len(findings)} checks: {failed} failed, {warned} warnings", highlight=False)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
