"""The work behind a few `loa` commands, kept out of the CLI wiring."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from config.settings import Settings
from news.db import make_session_factory, utcnow
from news.extraction import ExtractedArticle
from news.models import Article, Category


def read_article(
    settings: Settings,
    target: str,
    *,
    url: str | None = None,
    profile: str | None = None,
    now: datetime | None = None,
) -> ExtractedArticle:
    """Fetch (URL) or read (file) one article page and extract it.

    Raises OSError for an unreadable file and LoaError subclasses for fetch
    failures and non-article pages.
    """
    from news.fetch import Fetcher
    from news.readers import extract_auto, reader_for

    content_type = None
    if target.startswith(("http://", "https://")):
        page = Fetcher().get(target)
        content, address, content_type = page.content, url or page.url, page.content_type
    else:
        content, address = Path(target).read_bytes(), url or Path(target).resolve().as_uri()
    read = extract_auto if profile is None else reader_for(profile, settings.profiles).article
    return read(
        content,
        url=address,
        now=now or utcnow(),
        tz=settings.tz,
        summary_chars=settings.summary_chars,
        content_type=content_type,
    )


def transient_article(found: ExtractedArticle) -> Article:
    """An unsaved Article for rendering a preview."""
    category = Category(name=found.category, slug=found.category_slug) if found.category else None
    return Article(
        url=found.url,
        canonical_url=found.canonical_url,
        title=found.title,
        summary=found.summary,
        body=found.body,
        image=found.image,
        author=found.author,
        published_at=found.published_at,
        first_seen_at=utcnow(),
        version=1,
        category=category,
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


def check_channels(settings: Settings, engine: Engine) -> int:
    """Check every configured chat with Telegram; print one line each; return problems."""
    from bot.channels import ChannelRegistry
    from news.migrate import ensure_current
    from tasks.runtime import Runtime

    ensure_current(engine)
    registry = ChannelRegistry(make_session_factory(engine), Runtime(settings).sender)
    problems = 0
    for channel in settings.effective_channels():
        check = registry.check(channel.chat)
        state = "ok" if check.problem is None else f"PROBLEM: {check.problem}"
        print(f"{channel.chat} -> {check.chat_id or '?'} {check.title or ''}: {state}")
        problems += check.problem is not None
    return problems
