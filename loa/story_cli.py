"""`loa story list|show|split`: the story groups, and splitting a wrong one.

Stories are copies of one article published by several sources (news.stories).
`list` shows the recent groups of two or more articles, `show` one group's
articles, `split` takes an article out of its group (the same service as the
editors' Split button: tasks.story_split) and prints what was planned: new
posts for the chats that had only its link, edits dropping it.
An unknown story or article exits 2, like every set-up problem of `loa`.

The `loa` app adds this one with ``app.add_typer(story_app, name="story")``;
the CLI's settings loader and runtime come from loa.cli at call time (it
imports this module, so importing it back at import time would be a cycle).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import tzinfo
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from config.settings import Settings

if TYPE_CHECKING:
    from news.stories.groups import RecentStories, StoryGroup, StoryNotFound
    from tasks.runtime import Runtime

#: news.stories.groups.RECENT_HOURS (not imported here: `loa --help` stays light)
RECENT_HOURS = 72

story_app = typer.Typer(
    help="Stories told by several sources: list the groups, show one, split a wrong one.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


@contextmanager
def _opened(ctx: typer.Context) -> Iterator[tuple[Settings, Runtime]]:
    """Settings and a runtime on a migrated database, as every `loa` command gets them."""
    from loa.cli import _runtime, _settings
    from news.migrate import ensure_current

    settings = _settings(ctx)
    with _runtime(settings) as runtime:
        ensure_current(runtime.engine)
        yield settings, runtime


def _unknown(exc: StoryNotFound) -> typer.Exit:
    """One line on stderr and exit 2: the story or article asked for does not exist."""
    typer.echo(f"loa: {exc}", err=True)
    return typer.Exit(2)


@story_app.command("list")
def list_stories(
    ctx: typer.Context,
    hours: Annotated[
        int, typer.Option(min=1, max=24 * 90, help="Groups with copies first seen this recently")
    ] = RECENT_HOURS,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many groups")] = 20,
) -> None:
    """Stories told by two or more articles lately, the most recently joined first."""
    from news.stories.groups import recent_groups

    with _opened(ctx) as (settings, rt), rt.factory() as session:
        recent = recent_groups(session, hours=hours, limit=limit)
    print_recent(recent, settings.tz, Console())


@story_app.command("show")
def show_story(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Story id (12), article id (a123) or article URL")],
) -> None:
    """One story's articles: id, source, when first seen, title and address."""
    from news.stories.groups import StoryNotFound, resolve_group

    with _opened(ctx) as (settings, rt), rt.factory() as session:
        try:
            found = resolve_group(session, ref)
        except StoryNotFound as exc:
            raise _unknown(exc) from None
    print_group(found, settings.tz, Console())


@story_app.command("split")
def split_story(
    ctx: typer.Context,
    article_id: Annotated[int, typer.Argument(help="The article to take out of its story")],
) -> None:
    """Take an article out of a wrong group: it is posted on its own where it was only a link."""
    from news.stories.groups import StoryNotFound, groups_of_articles
    from tasks.story_split import split_and_follow

    with _opened(ctx) as (settings, rt):
        with rt.factory() as session:
            if groups_of_articles(session, [article_id], min_copies=1) == {}:
                raise _unknown(StoryNotFound(f"no article #{article_id} in any story"))
            if not groups_of_articles(session, [article_id]):
                typer.echo(f"article #{article_id} is the only one in its story: nothing to split")
                raise typer.Exit(1)
        outcome = split_and_follow(settings, rt.factory, article_id, by=None)
    typer.echo(outcome.describe())


def print_recent(recent: RecentStories, tz: tzinfo, console: Console) -> None:
    """The groups of two or more articles: id, first title, sources, copies, latest copy."""
    console.print(
        f"stories with 2+ articles in the last {recent.hours} h: {recent.groups} "
        f"({recent.articles} articles)"
    )
    if not recent.top:
        return
    table = Table("story", "first title", "sources", "copies", "latest copy")
    for group in recent.top:
        last = group.last_seen_at
        table.add_row(
            str(group.story_id),
            _short(group.first_title, 70),
            ", ".join(group.sources),
            str(group.copies),
            last.astimezone(tz).strftime("%Y-%m-%d %H:%M") if last else "",
        )
    console.print(table)


def print_group(group: StoryGroup, tz: tzinfo, console: Console) -> None:
    """One story's articles, the posted copy marked, withdrawn ones said."""
    split = f" (split off by {group.split_by})" if group.split_by else ""
    console.print(f"story {group.story_id}: {group.copies} article(s){split}")
    table = Table("article", "source", "first seen", "title", "address")
    for m in group.members:
        mark = " (posted)" if m.article_id == group.first_article_id else ""
        mark += " (withdrawn)" if m.withdrawn else ""
        table.add_row(
            f"{m.article_id}{mark}",
            m.source or "?",
            m.first_seen_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            _short(m.title, 70),
            m.url,
        )
    console.print(table)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@story_app.command("backfill")
def backfill_stories(
    ctx: typer.Context,
    hours: Annotated[
        float | None,
        typer.Option(min=1, help="Articles first seen this recently (default: the window)"),
    ] = None,
) -> None:
    """Fingerprint and group articles stored before stories existed (or while disabled).

    Only new articles are grouped as they are stored; after an upgrade, the
    window's articles have no fingerprint yet, so a copy of one of them would
    be posted again. Oldest first, in batches that commit on their own.
    """
    from datetime import timedelta

    from news.db import utcnow
    from news.stories.grouping import fingerprint_existing

    with _opened(ctx) as (settings, rt):
        if not settings.stories.enabled:
            typer.echo("loa: stories are disabled (stories.enabled: false)", err=True)
            raise typer.Exit(2)
        since = utcnow() - timedelta(hours=hours or settings.stories.window_hours)
        done = fingerprint_existing(rt.factory, settings.stories, since=since)
    typer.echo(f"fingerprinted {done} articles first seen since {since:%Y-%m-%d %H:%M} UTC")
