"""The editors' `loa` commands: republish, post, withdraw, pause, resume, retry, find.

Each calls the same service function as the bot's command and the HTTP API
(news.editorial for the action, tasks.actions for what follows), so the three
cannot drift apart. A refusal is one line on stderr and exit 1; a set-up
problem (config, database schema) exit 2, like every other `loa` command.

The commands are added to the `loa` app by :func:`register`, which receives
the CLI's own settings loader and runtime context rather than importing them,
so this module and loa.cli do not import each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from config.settings import Settings

if TYPE_CHECKING:
    from news.editorial import FoundArticle
    from tasks.runtime import Runtime

LoadSettings = Callable[[typer.Context], Settings]
OpenRuntime = Callable[[Settings], AbstractContextManager["Runtime"]]

#: How the work that follows an action reaches a worker, said after each action.
_QUEUED = "sending now"
_NO_BROKER = "a worker sends it within a minute (no REDIS_URL here to queue it at once)"


def register(app: typer.Typer, load_settings: LoadSettings, open_runtime: OpenRuntime) -> None:
    """Add the editors' commands to `app` (see the module docstring)."""

    def prepared(ctx: typer.Context) -> tuple[Settings, AbstractContextManager[Runtime]]:
        settings = load_settings(ctx)
        return settings, _migrated(open_runtime(settings))

    @app.command()
    def republish(
        ctx: typer.Context,
        ref: Annotated[str, typer.Argument(help="Article id (123 or #123) or URL")],
        chat: Annotated[
            str | None, typer.Option("--chat", help="Only this chat (default: every routed one)")
        ] = None,
    ) -> None:
        """Post an article again: a new generation to every routed chat, or one."""
        from news.editorial import republish as republish_article
        from tasks.actions import dispatch_publish

        settings, runtime = prepared(ctx)
        with runtime as rt:
            channels = [c.chat for c in settings.effective_channels()]
            result = republish_article(
                rt.factory, ref, settings.effective_routes(), chat=chat, channels=channels
            )
            queued = dispatch_publish(result.delivery_ids, settings=settings)
        follow = _QUEUED if queued else _NO_BROKER
        typer.echo(
            f"article #{result.article_id}: generation {result.generation} for "
            f"{', '.join(result.chats)}; {follow}"
        )

    @app.command()
    def withdraw(
        ctx: typer.Context,
        ref: Annotated[str, typer.Argument(help="Article id (123 or #123) or URL")],
    ) -> None:
        """Take an article down: delete or mark its posts, drop it from the feeds."""
        from news.editorial import withdraw as withdraw_article
        from tasks.actions import dispatch_withdrawn

        settings, runtime = prepared(ctx)
        with runtime as rt:
            article_id = withdraw_article(rt.factory, ref, by="the command line")
            queued = dispatch_withdrawn(article_id, settings=settings, factory=rt.factory)
        follow = "its posts are being fixed" if queued else f"its posts: {_NO_BROKER}"
        typer.echo(f"article #{article_id} withdrawn; {follow}")

    @app.command()
    def pause(
        ctx: typer.Context,
        kind: Annotated[
            str | None, typer.Argument(help="source, chat or all (none: list the pauses)")
        ] = None,
        name: Annotated[str, typer.Argument(help="The source's name or the chat")] = "",
    ) -> None:
        """Stop polling a source, posting to a chat, or everything (kept across restarts)."""
        from news.editorial import active_pauses
        from news.editorial import pause as pause_target

        settings, runtime = prepared(ctx)
        with runtime as rt:
            if kind is None:
                pauses = active_pauses(rt.factory)
                for paused in pauses:
                    since = f"{paused.created_at:%Y-%m-%d %H:%M} UTC"
                    typer.echo(f"paused: {paused.label} (since {since})")
                if not pauses:
                    typer.echo("nothing is paused")
                return
            sources = [s.name for s in settings.effective_sources()]
            changed = pause_target(rt.factory, kind, name, sources=sources)
        what = _label(kind, name)
        typer.echo(f"paused {what}" if changed else f"{what} was paused already")

    @app.command()
    def resume(
        ctx: typer.Context,
        kind: Annotated[str, typer.Argument(help="source, chat or all")],
        name: Annotated[str, typer.Argument(help="The source's name or the chat")] = "",
    ) -> None:
        """Lift a pause set with `loa pause` (or the bot's /pause)."""
        from news.editorial import resume as resume_target

        _, runtime = prepared(ctx)
        with runtime as rt:
            changed = resume_target(rt.factory, kind, name)
        what = _label(kind, name)
        typer.echo(f"resumed {what}" if changed else f"{what} was not paused")

    @app.command()
    def retry(
        ctx: typer.Context,
        chat: Annotated[str | None, typer.Option("--chat", help="Only this chat's")] = None,
    ) -> None:
        """Put failed deliveries back to pending, due now."""
        from news.editorial import retry_failed
        from tasks.actions import dispatch_publish

        settings, runtime = prepared(ctx)
        with runtime as rt:
            ids = retry_failed(rt.factory, chat=chat)
            queued = dispatch_publish(ids, settings=settings) if ids else 0
        if not ids:
            typer.echo("no failed deliveries" + (f" for {chat}" if chat else ""))
            return
        follow = _QUEUED if queued else _NO_BROKER
        typer.echo(f"{len(ids)} failed deliveries back to pending; {follow}")

    @app.command()
    def find(
        ctx: typer.Context,
        words: Annotated[
            list[str], typer.Argument(help="Words of the title or lead, an id or a URL")
        ],
        limit: Annotated[int, typer.Option(min=1, max=50, help="At most this many")] = 10,
    ) -> None:
        """Articles with their id, state (new, corrected, withdrawn) and where each was posted."""
        from news.editorial import find_articles

        _, runtime = prepared(ctx)
        query = " ".join(words)
        with runtime as rt:
            found = find_articles(rt.factory, query, limit=limit)
        if not found:
            typer.echo(f"no article matches {query[:80]!r}")
            return
        print_found(found)

    @app.command()
    def post(
        ctx: typer.Context,
        url: Annotated[str, typer.Argument(help="The article's address")],
    ) -> None:
        """Fetch, extract, store and publish an article the watcher missed."""
        from news.ingest import fetch_and_store
        from tasks.actions import announce_stored

        settings, runtime = prepared(ctx)
        with runtime as rt:
            stored = fetch_and_store(settings, rt.factory, url)
            announced = announce_stored(settings, rt.factory, stored.article_id, stored.outcome)
            planned, queued = announced.planned, announced.queued
        if not planned:
            typer.echo(
                f"article #{stored.article_id} ({stored.outcome}): nothing new to post "
                "(already posted, or no route sends it anywhere); `loa republish` posts it again"
            )
            return
        typer.echo(
            f"article #{stored.article_id} ({stored.outcome}): {len(planned)} deliveries; "
            f"{_QUEUED if queued else _NO_BROKER}"
        )


def _migrated(runtime: AbstractContextManager[Runtime]) -> AbstractContextManager[Runtime]:
    """The runtime context, refusing a database `loa db upgrade` never made (exit 2)."""
    from news.migrate import ensure_current

    @contextmanager
    def checked() -> Iterator[Runtime]:
        with runtime as rt:
            ensure_current(rt.engine)
            yield rt

    return checked()


def _label(kind: str, name: str) -> str:
    """``source demo``, ``chat @tin_tuc`` or ``everything``."""
    return "everything" if kind.strip().lower() == "all" else f"{kind} {name}".strip()


def where_posted(item: FoundArticle) -> str:
    """``@tin_tuc sent, @tin_tuc (again, #1) pending; 3 readers`` (generation 0 is the post)."""
    parts = [
        f"{p.chat}{f' (again, #{p.generation})' if p.generation else ''} {p.state}"
        for p in item.posted
    ]
    if item.readers:
        parts.append(f"{item.readers} reader{'s' if item.readers != 1 else ''}")
    return ", ".join(parts) or "not posted"


def print_found(found: list[FoundArticle], console: Console | None = None) -> None:
    """The `loa find` table: id, state, title, where posted."""
    table = Table("id", "state", "title", "where posted")
    for item in found:
        state = item.state if item.version == 1 else f"{item.state} (v{item.version})"
        table.add_row(str(item.id), state, item.title, where_posted(item))
    (console or Console()).print(table)
