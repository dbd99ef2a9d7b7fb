"""The `loa` command line: one front door for every Loa process and tool.

Each command loads settings once (a bad config prints one clear line and
exits with code 2 before anything starts), sets up logging, then calls the
same service functions the Celery tasks and the bot use.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from sqlalchemy import Engine

from config.loader import load_settings, resolve_config_path
from config.settings import Settings
from loa.editor_cli import register as register_editor_commands
from loa.entry import exit_code_for
from loa.logs import redact_secrets, setup_logging
from loa.story_cli import story_app
from news.errors import ConfigError, LoaError

if TYPE_CHECKING:
    from tasks.runtime import Runtime

_HELP = """Loa: news sites → feeds and Telegram.

Global options (--config, --log-json, --log-level) may be given before or
after the command name. Exit codes: 0 done, 1 the command failed, 2 Loa
cannot run as configured (the message says what to do)."""
# Plain help (no rich tables): typer's rich help shows flags as taking a <bool>.
# No pretty tracebacks either: they print local variables, the token among them.
app = typer.Typer(
    help=_HELP, no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False
)
db_app = typer.Typer(
    help="Database schema commands.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
app.add_typer(db_app, name="db")
app.add_typer(story_app, name="story")
log = logging.getLogger("loa")
T = TypeVar("T")


@dataclass
class Options:
    """Global flags shared by every command."""

    config: Path | None
    log_json: bool
    log_level: str


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="YAML config file (default: $LOA_CONFIG or ./loa.yaml)"
        ),
    ] = None,
    log_json: Annotated[
        bool, typer.Option("--log-json", help="Log one JSON object per line.")
    ] = False,
    log_level: Annotated[
        str, typer.Option("--log-level", help="DEBUG, INFO, WARNING, ...")
    ] = "INFO",
) -> None:
    """Global options."""
    level = log_level.upper()
    if level not in logging.getLevelNamesMapping():
        raise typer.BadParameter(
            f"{log_level!r} is not a log level (DEBUG, INFO, WARNING, ERROR)",
            param_hint="--log-level",
        )
    ctx.obj = Options(config=config, log_json=log_json, log_level=level)


def _settings(ctx: typer.Context, *, log_to_file: bool = False, **overrides: Any) -> Settings:
    """Load settings (exit 2 on a config error) and set up logging with the token redacted.

    Long-running commands (`log_to_file`) also append to ``<data dir>/logs/loa.log``.
    """
    opts: Options = ctx.obj
    try:
        settings = load_settings(
            opts.config, overrides={k: v for k, v in overrides.items() if v is not None}
        )
    except ConfigError as exc:
        typer.echo(f"loa: {exc}", err=True)
        raise typer.Exit(2) from None
    token = settings.telegram_bot_token
    setup_logging(
        json_lines=opts.log_json,
        level=opts.log_level,
        secrets=[s.get_secret_value() for s in (token, settings.webhook_secret) if s],
        log_file=settings.data_dir / "logs" / "loa.log" if log_to_file else None,
    )
    if log_to_file:  # a long-running process: its metrics reach the web server's /metrics
        from ops.metrics import enable_multiprocess

        enable_multiprocess(settings.metrics_dir)
    return settings


def _fail(exc: LoaError) -> typer.Exit:
    """One line, exit 2 for a set-up problem (config, database, Redis), else 1."""
    typer.echo(f"loa: {redact_secrets(str(exc))}", err=True)
    return typer.Exit(exit_code_for(exc))


def _require_schema(runtime: Runtime) -> None:
    """Long-running processes refuse to start on a database `loa db upgrade` never made."""
    from news.migrate import ensure_current

    ensure_current(runtime.engine)


@contextmanager
def _runtime(settings: Settings) -> Iterator[Runtime]:
    """This command's process runtime (see tasks.runtime); a LoaError becomes one line."""
    from tasks.runtime import Runtime

    runtime = Runtime(settings)
    try:
        yield runtime
    except LoaError as exc:
        raise _fail(exc) from None
    finally:
        runtime.close()


@contextmanager
def _database(settings: Settings) -> Iterator[Engine]:
    """The runtime's engine, for a one-shot command that only needs the database."""
    with _runtime(settings) as runtime:
        yield runtime.engine


@app.command()
def run(
    ctx: typer.Context,
    port: Annotated[
        int | None, typer.Option("--port", "-p", help="HTTP port (default 8080, $LOA_HTTP_PORT)")
    ] = None,
    emulator: Annotated[
        bool, typer.Option("--emulator", help="Offline demo: post to a local Bot API emulator")
    ] = False,
) -> None:
    """Start everything (Redis if needed, migrations, worker, beat, web, bot or outbox)."""
    settings = _settings(ctx, log_to_file=True, http_port=port)
    from loa.supervisor import Supervisor

    opts: Options = ctx.obj
    config_path = resolve_config_path(opts.config, _environ())
    try:
        supervisor = Supervisor(
            settings, config_path=config_path, log_json=opts.log_json, emulator=emulator
        )
        code = supervisor.run()
    except LoaError as exc:
        raise _fail(exc) from None
    raise typer.Exit(code)


@app.command()
def worker(
    ctx: typer.Context,
    concurrency: Annotated[int, typer.Option(help="Pool processes.")] = 2,
) -> None:
    """Run a Celery worker (same as `celery -A worker worker`)."""
    from tasks.app import create_celery_app
    from tasks.runtime import get_runtime

    settings = _settings(ctx, log_to_file=True)
    celery_app = create_celery_app(settings)  # also this process's task runtime
    _require_schema(get_runtime())
    _quiet_root_warning()
    if ctx.obj.log_json:
        _json_only_console()
    celery_app.worker_main(
        [
            "--quiet",  # no banner: `loa run` prints what to open, logs say the rest
            "worker",
            f"--concurrency={concurrency}",
            f"--loglevel={ctx.obj.log_level}",
            "--without-gossip",
            "--without-mingle",
            "-n",
            "loa@%h",
        ]
    )


def _json_only_console() -> None:
    """With --log-json every console line is JSON: Celery's shutdown notice becomes a log line.

    Celery prints "worker: Warm shutdown (MainProcess)" straight to the terminal
    on SIGTERM; its handler is installed again without that print once the
    worker is up, and the shutdown is logged instead.
    """
    from celery.apps import worker as celery_worker
    from celery.signals import worker_ready, worker_shutting_down

    def quiet_term_handler(sender: Any = None, **_: Any) -> None:
        celery_worker.install_worker_term_handler(sender.controller, verbose=False)

    def log_shutdown(how: str = "", **_: Any) -> None:
        log.info("worker: %s shutdown", how.lower())

    worker_ready.connect(quiet_term_handler, weak=False)
    worker_shutting_down.connect(log_shutdown, weak=False)


def _quiet_root_warning() -> None:
    """Celery's multi-line "superuser privileges" warning, said once in one line instead."""
    import os
    import warnings

    if hasattr(os, "geteuid") and os.geteuid() == 0:
        warnings.filterwarnings("ignore", message=".*superuser privileges")
        log.warning("the worker runs as root; the Docker image runs it as user 'loa'")


@app.command()
def beat(ctx: typer.Context) -> None:
    """Run the scheduler; refuses to start while another beat holds the lock."""
    from celery.apps.beat import Beat

    from tasks.app import create_celery_app
    from tasks.beat_lock import BeatLock
    from tasks.runtime import Runtime

    settings = _settings(ctx, log_to_file=True)
    celery_app = create_celery_app(settings)
    runtime = Runtime(settings)  # beat's own: the lock's Redis, the schema check
    lock = BeatLock(runtime.redis)
    if not lock.acquire():
        typer.echo(
            f"loa: another beat is running (lock held by {lock.holder()}); not starting", err=True
        )
        raise typer.Exit(3)
    try:
        _require_schema(runtime)
        # Channel rights are checked by a worker, in the background: beat, polling
        # and feeds never wait for Telegram (or stop when it refuses the token).
        celery_app.send_task("loa.check_channels")
        # Poll once right away instead of waiting a whole interval after a start.
        for source in settings.effective_sources():
            celery_app.send_task("loa.poll_source", args=(source.name,))
        celery_app.send_task("loa.reconcile")
        schedule = settings.data_dir.resolve() / "celerybeat-schedule"
        Beat(app=celery_app, schedule=str(schedule), loglevel=ctx.obj.log_level, quiet=True).run()
    finally:
        lock.release()
        runtime.close()


@app.command()
def serve(
    ctx: typer.Context,
    port: Annotated[int | None, typer.Option("--port", "-p")] = None,
    host: Annotated[str | None, typer.Option("--host")] = None,
) -> None:
    """Serve feeds, the home page and health over HTTP."""
    import uvicorn

    from feeds.server import create_app
    from feeds.serving import uvicorn_options
    from loa.ports import require_free_port
    from tasks.runtime import Runtime

    settings = _settings(ctx, log_to_file=True, http_port=port, http_host=host)
    runtime = Runtime(settings)
    _require_schema(runtime)
    require_free_port(settings.http_host, settings.http_port)
    # Host, port and the request-head limits (414/431) come from one place.
    uvicorn.run(create_app(settings, runtime.factory), **uvicorn_options(settings))


@app.command()
def bot(ctx: typer.Context) -> None:
    """Run the Telegram bot (long polling, or a webhook with LOA_WEBHOOK_URL); needs the token."""
    from bot.app import run as run_bot

    settings = _settings(ctx, log_to_file=True)
    if settings.telegram_bot_token is None:
        typer.echo("loa: TELEGRAM_BOT_TOKEN is not set; the bot cannot start", err=True)
        raise typer.Exit(2)
    from tasks.runtime import Runtime

    runtime = Runtime(settings)
    _require_schema(runtime)
    if settings.webhook_url:  # a generated secret is learnt only now: redact it too
        from bot.webhook import webhook_secret
        from loa.logs import register_secret

        register_secret(webhook_secret(settings))
    run_bot(settings, runtime.factory)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Migrate the database schema to the newest revision."""
    from news.migrate import current_revision, upgrade

    settings = _settings(ctx)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with _database(settings) as engine:
        upgrade(engine)
        typer.echo(f"database at revision {current_revision(engine)}")


@app.command()
def doctor(
    ctx: typer.Context,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds each check may take.", min=1)
    ] = 10.0,
) -> None:
    """Check config, database, Redis, the bot token, channels and sources; exit 1 on a failure."""
    from rich.console import Console

    from ops.doctor import Verdict, examine, print_findings

    settings = _settings(ctx)
    config_path = resolve_config_path(ctx.obj.config, _environ())
    findings = examine(settings, config_path=config_path, timeout=timeout)
    print_findings(findings, Console())
    raise typer.Exit(1 if any(f.verdict is Verdict.FAIL for f in findings) else 0)


@app.command()
def housekeeping(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be deleted.")
    ] = False,
) -> None:
    """Apply retention: old finished deliveries, events, outbox files, rotated logs."""
    from ops.housekeeping import run_housekeeping

    settings = _settings(ctx)
    with _runtime(settings) as runtime:
        _require_schema(runtime)
        report = run_housekeeping(settings, runtime.factory, dry_run=dry_run, log_summary=False)
    for line in report.lines():
        typer.echo(line)


@db_app.command("backup")
def db_backup(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Where to write the copy")],
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
) -> None:
    """Copy the database to FILE, safely while Loa runs (SQLite backup API, or pg_dump)."""
    from ops.backup import backup

    settings = _settings(ctx)
    try:
        summary = backup(settings, file, force=force)
    except LoaError as exc:
        raise _fail(exc) from None
    typer.echo(summary.line("backed up to"))


@db_app.command("restore")
def db_restore(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A file `loa db backup` wrote")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing database (SQLite keeps a copy).")
    ] = False,
) -> None:
    """Replace the database with a backup; refuses while Loa runs. Then `loa db upgrade`."""
    from ops.backup import restore

    settings = _settings(ctx)
    try:
        summary = restore(settings, file, force=force)
    except LoaError as exc:
        raise _fail(exc) from None
    typer.echo(summary.line(f"restored {file} into"))


@app.command()
def poll(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Source name (default: all)")] = None,
    force: Annotated[bool, typer.Option("--force", help="Poll paused sources too")] = False,
) -> None:
    """Poll sources once, in this process, and print what was found."""
    from news.pauses import paused_sources
    from news.poll import poll_source

    settings = _settings(ctx)
    with _runtime(settings) as runtime:
        _require_schema(runtime)
        targets = [settings.source(name)] if name else settings.effective_sources()
        with runtime.factory() as session:
            paused = paused_sources(session, [source.name for source in targets])
        for source in targets:
            if source.name in paused and not force:
                typer.echo(f"{source.name}: paused by an editor; skipped (--force polls it)")
                continue
            report = poll_source(runtime.factory, runtime.reading(source))
            typer.echo(
                f"{source.name}: {report.links} links, {len(report.new)} new, "
                f"{len(report.updated)} updated, {len(report.problems)} problems"
            )


@app.command()
def routes(ctx: typer.Context) -> None:
    """Show the resolved routing: which articles go to which chat, with what options."""
    from loa.cli_tools import print_routes

    print_routes(_settings(ctx))


@app.command()
def preview(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="Article URL or local HTML file")],
    chat: Annotated[str, typer.Option(help="Render with this chat's options")] = "@preview",
    profile: Annotated[str | None, typer.Option(help="Site profile")] = None,
) -> None:
    """Render the Telegram message(s) Loa would send for an article, without sending."""
    from bot.publisher import preview as render_preview
    from loa.cli_tools import read_article
    from news.store import transient_article

    settings = _settings(ctx)
    found = _or_exit_2(lambda: read_article(settings, target, profile=profile))
    for request in render_preview(transient_article(found), settings, chat):
        typer.echo(json.dumps(request.to_json_dict(), ensure_ascii=False, indent=2))


@app.command()
def channels(ctx: typer.Context) -> None:
    """Check every configured chat: resolve it and verify the bot may post and edit."""
    from loa.cli_tools import check_channels

    settings = _settings(ctx)
    if settings.telegram_bot_token is None:
        typer.echo("loa: TELEGRAM_BOT_TOKEN is not set; nothing to check (dry run)", err=True)
        raise typer.Exit(2)
    with _runtime(settings) as runtime:
        problems = check_channels(runtime)
    raise typer.Exit(1 if problems else 0)


@app.command()
def status(ctx: typer.Context) -> None:
    """Deliveries by state, duplicates, failed channels, unhealthy sources, events, stories."""
    from news.db import make_session_factory
    from news.migrate import ensure_current
    from news.status import current_status

    settings = _settings(ctx)
    with _database(settings) as engine:
        ensure_current(engine)
        snapshot = current_status(make_session_factory(engine))
    from rich.console import Console

    from loa.cli_tools import print_status
    from loa.story_cli import print_recent

    print_status(snapshot)
    print_recent(snapshot.stories, settings.tz, Console())


@app.command("check-source")
def check_source_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Source name from the config")],
    sample: Annotated[int, typer.Option(help="How many articles to extract")] = 5,
) -> None:
    """Fetch a source once and show links, extracted fields, timings and problems."""
    from rich.console import Console

    from loa.check_source import check_source, print_check

    settings = _settings(ctx)
    try:
        source = settings.source(name)
    except LoaError as exc:
        raise _fail(exc) from None
    result = check_source(settings, source, sample=sample)
    print_check(result, Console())
    raise typer.Exit(0 if result.ok and not result.problems else 1)


@app.command("add-source")
def add_source_command(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="Any page of the site: home, category or article")],
    write: Annotated[
        Path | None, typer.Option("--write", help="Append the proposal to this YAML file")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    name: Annotated[str | None, typer.Option("--name", help="Name of the new source")] = None,
    sample: Annotated[int, typer.Option(help="Articles to extract per candidate")] = 3,
) -> None:
    """Find what Loa can watch at a site and propose its config (exit 2: nothing found)."""
    from loa.add_source import run_add_source

    raise typer.Exit(
        run_add_source(_settings(ctx), url, write=write, as_json=as_json, name=name, sample=sample)
    )


@app.command()
def extract(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="Article URL or local HTML file")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    url: Annotated[str | None, typer.Option("--url", help="Address of a local file")] = None,
    now: Annotated[str | None, typer.Option("--now", help="Reference moment, ISO 8601")] = None,
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="Site profile (default: detect, else zero-config)"),
    ] = None,
) -> None:
    """Extract one article page and print its fields."""
    from datetime import datetime

    from loa.cli_tools import read_article

    settings = _settings(ctx)
    try:
        moment = datetime.fromisoformat(now) if now else None
    except ValueError:
        typer.echo(f"loa: --now must be ISO 8601, got {now!r}", err=True)
        raise typer.Exit(2) from None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=settings.tz)
    article = _or_exit_2(
        lambda: read_article(settings, target, url=url, profile=profile, now=moment)
    )
    fields = article.to_json_dict()
    if as_json:
        typer.echo(json.dumps(fields, ensure_ascii=False))
        return
    for key, value in fields.items():
        typer.echo(f"{key:>15}: {value}")


def _or_exit_2(read: Callable[[], T]) -> T:
    """Run a page read; unreadable input or a non-article exits 2 with one clear line."""
    try:
        return read()
    except OSError as exc:
        typer.echo(f"loa: cannot read: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    except LoaError as exc:
        typer.echo(f"loa: {exc}", err=True)
        raise typer.Exit(2) from None


# republish, post, withdraw, pause, resume, retry, find: the editors' commands
register_editor_commands(app, _settings, _runtime)


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)


def main() -> None:
    """Console-script entry point: see loa.entry for argument order and exit codes."""
    import sys

    from loa.entry import run_cli
    from loa.lifeline import follow_supervisor

    follow_supervisor()  # a child of `loa run` stops when `loa run` dies
    raise SystemExit(run_cli(lambda args: app(args=args, prog_name="loa"), sys.argv[1:]))


if __name__ == "__main__":  # pragma: no cover
    main()
