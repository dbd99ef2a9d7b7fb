"""The work behind a few `loa` commands, kept out of the CLI wiring."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from config.settings import Settings
from news.db import utcnow
from news.extract import ExtractedArticle
from news.status import Status

if TYPE_CHECKING:
    from tasks.runtime import Runtime

log = logging.getLogger("loa")


def read_article(
    settings: Settings,
    target: str,
    *,
    url: str | None = None,
    profile: str | None = None,
    now: datetime | None = None,
) -> ExtractedArticle:
    """Fetch (URL) or read (file) one article page and extract it.

    The page is read by the same :class:`news.extract.SiteReader` a source with
    that profile (or none) is polled with, so `loa extract` and `loa preview`
    show what a poll would store. Raises OSError for an unreadable file and
    LoaError subclasses for fetch failures and non-article pages.
    """
    from news.extract import reader_for
    from news.fetch import Fetcher, read_local_page

    content_type = None
    if target.startswith(("http://", "https://")):
        page = Fetcher().get(target)
        content, address, content_type = page.content, url or page.url, page.content_type
    else:
        content = read_local_page(Path(target))
        address = url or Path(target).resolve().as_uri()
    return reader_for(profile, settings.profiles).article(
        content,
        url=address,
        now=now or utcnow(),
        tz=settings.tz,
        summary_chars=settings.summary_chars,
        content_type=content_type,
    )


def print_routes(settings: Settings, console: Console | None = None) -> None:
    """A table of the effective routes and each chat's options."""
    table = Table("chat", "categories", "sources", "include", "exclude", "language", "mode")
    for rule in settings.effective_routes():
        options = settings.channel_options(rule.channel)
        table.add_row(
            rule.channel,
            ", ".join(rule.categories) or "(all)",
            ", ".join(rule.sources) or "(all)",
            ", ".join(rule.include) or "—",
            ", ".join(rule.exclude) or "—",
            options.language,
            options.send_mode,
        )
    (console or Console()).print(table)
    if not settings.effective_routes():
        (console or Console()).print("no routes: articles go to the feeds only")


def check_channels(runtime: Runtime) -> int:
    """Check every configured chat with Telegram; print one line each; return problems."""
    from news.migrate import ensure_current

    ensure_current(runtime.engine)
    chats = [channel.chat for channel in runtime.settings.effective_channels()]
    problems = 0
    for check in runtime.channels.check_all(chats):
        state = "ok" if check.problem is None else f"PROBLEM: {check.problem}"
        print(f"{check.configured} -> {check.chat_id or '?'} {check.title or ''}: {state}")
        problems += check.problem is not None
    return problems


def print_status(snapshot: Status) -> None:
    """`loa status` output: one fact per line, problems first named."""
    states = ", ".join(f"{k} {v}" for k, v in snapshot.deliveries.items())
    print(f"articles: {snapshot.articles}")
    print(f"deliveries: {states}; possible duplicates: {snapshot.possible_duplicates}")
    r = snapshot.readers
    print(
        f"bot readers: {r.readers} ({r.subscriptions} subscriptions); "
        f"blocked the bot: {r.blocked}; alerts held for digests or quiet hours: {r.held}"
    )
    for paused in snapshot.pauses:
        by = f" by {paused.created_by}" if paused.created_by is not None else ""
        print(f"paused: {paused.label} (since {paused.created_at:%Y-%m-%d %H:%M} UTC{by})")
    for name, error in snapshot.failed_channels:
        print(f"failed channel {name}: {error}")
    for name, error in snapshot.unhealthy_sources:
        print(f"unhealthy source {name}: {error}")
    for warning in snapshot.source_warnings:
        print(f"warning: {warning}")
    for line in snapshot.recent_events:
        print(f"event {line}")
