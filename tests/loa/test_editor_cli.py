"""The editors' `loa` commands: republish, withdraw, pause, resume, retry, find, post.

Most run in this process through typer's CliRunner (the same `app` the
console script runs), against the test database; two run as real
subprocesses for the exit codes a shell sees. No broker here: the commands
say the worker will send within a minute, and never enqueue onto a shared queue.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from loa.cli import app
from loa.demo_portal import DemoPortal
from news import ledger
from news.models import Article, ArticleStatus, Delivery, DeliveryState, Pause, RenderedFeed
from tests.helpers import extracted, store_article

CONFIG = """
sources:
  - name: portal
    url: http://portal.test/
channels:
  - chat: "@tin_tuc"
  - chat: "@extra"
routes:
  - channel: "@tin_tuc"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "loa.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def loa(config: Path, database_url: str, tmp_path: Path) -> CliRunner:
    return CliRunner(
        env={
            "DATABASE_URL": database_url,
            "LOA_DATA_DIR": str(tmp_path / "data"),
            "REDIS_URL": None,  # no broker: nothing lands on a queue other tests share
            "TELEGRAM_BOT_TOKEN": None,
            "LOA_CONFIG": str(config),
        }
    )


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, list(args))


def _plan(factory: sessionmaker[Session], article_id: int, chats: list[str]) -> list[int]:
    with factory.begin() as session:
        return ledger.plan_deliveries(session, article_id, chats)


def test_republish_plans_a_new_generation_and_refusals_exit_1(
    loa: CliRunner, factory: sessionmaker[Session]
) -> None:
    article_id = store_article(factory, extracted(1)).article_id
    (first,) = _plan(factory, article_id, ["@tin_tuc"])
    ledger.mark_sent(factory, first, [10])

    done = run(loa, "republish", f"#{article_id}")
    assert done.exit_code == 0, done.output
    assert f"article #{article_id}: generation 1 for @tin_tuc;" in done.stdout
    assert "a worker sends it within a minute" in done.stdout
    extra = run(loa, "republish", str(article_id), "--chat", "@extra")  # configured, unrouted
    assert extra.exit_code == 0 and "generation 2 for @extra" in extra.stdout
    with factory() as session:
        rows = session.scalars(select(Delivery).order_by(Delivery.id)).all()
    assert [(r.chat_id, r.generation, r.state) for r in rows] == [
        ("@tin_tuc", 0, DeliveryState.SENT),
        ("@tin_tuc", 1, DeliveryState.PENDING),
        ("@extra", 2, DeliveryState.PENDING),
    ]

    nobody = run(loa, "republish", str(article_id), "--chat", "@nobody")
    assert nobody.exit_code == 1
    assert nobody.stderr.startswith("loa: no route or configured channel names @nobody")
    missing = run(loa, "republish", "999")
    assert missing.exit_code == 1 and missing.stderr == "loa: no article #999\n"
    junk = run(loa, "republish", "bài số một")
    assert junk.exit_code == 1 and "neither an article id nor a URL" in junk.stderr
    usage = run(loa, "republish")
    assert usage.exit_code == 2  # a missing argument is a usage error


def test_withdraw_marks_it_and_rebuilds_the_feeds_here(
    loa: CliRunner, factory: sessionmaker[Session]
) -> None:
    article_id = store_article(factory, extracted(2, title="Tin bị gỡ")).article_id
    store_article(factory, extracted(3, title="Tin còn lại"))
    done = run(loa, "withdraw", "http://portal.test/tin-tuc/bai-2-2.html")
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith(f"article #{article_id} withdrawn;")
    with factory() as session:
        assert session.get_one(Article, article_id).status is ArticleStatus.WITHDRAWN
        bodies = session.scalars(select(RenderedFeed.body)).all()
    assert bodies and not any("Tin bị gỡ".encode() in b for b in bodies)
    assert any("Tin còn lại".encode() in b for b in bodies)
    again = run(loa, "withdraw", str(article_id))
    assert again.exit_code == 0
    republish = run(loa, "republish", str(article_id))
    assert republish.exit_code == 1 and "is withdrawn" in republish.stderr
    assert run(loa, "withdraw", "#424242").exit_code == 1


def test_pause_resume_and_status_show_what_is_paused(
    loa: CliRunner, factory: sessionmaker[Session]
) -> None:
    assert run(loa, "pause").stdout == "nothing is paused\n"
    assert run(loa, "pause", "source", "portal").stdout == "paused source portal\n"
    assert run(loa, "pause", "source", "portal").stdout == "source portal was paused already\n"
    assert run(loa, "pause", "chat", "@tin_tuc").stdout == "paused chat @tin_tuc\n"
    assert run(loa, "pause", "all").stdout == "paused everything\n"
    listed = run(loa, "pause").stdout.splitlines()
    assert [line.split(" (since")[0] for line in listed] == [
        "paused: source portal",
        "paused: chat @tin_tuc",
        "paused: all",
    ]
    status = run(loa, "status")
    assert status.exit_code == 0, status.output
    assert "paused: source portal (since " in status.stdout
    assert "paused: all (since " in status.stdout
    polled = run(loa, "poll", "portal")  # the pause holds for `loa poll` too
    assert polled.exit_code == 0 and "portal: paused by an editor; skipped" in polled.stdout

    assert run(loa, "resume", "all").stdout == "resumed everything\n"
    assert run(loa, "resume", "all").stdout == "everything was not paused\n"
    assert run(loa, "resume", "source", "portal").stdout == "resumed source portal\n"
    with factory() as session:
        assert [(p.kind, p.name) for p in session.scalars(select(Pause))] == [("chat", "@tin_tuc")]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("pause", "source", "nope"), "loa: no source named 'nope' (configured: portal)"),
        (("pause", "source"), "loa: which source? say source NAME"),
        (("pause", "everything"), "loa: cannot pause 'everything'"),
        (("pause", "all", "portal"), "loa: 'all' pauses everything and takes no name"),
        (("pause", "chat", "tin_tuc"), "is not a chat: say @name or its numeric id"),
        (("resume", "chat", ""), "loa: which chat?"),
    ],
)
def test_pause_refusals_exit_1_with_one_line(
    loa: CliRunner, factory: sessionmaker[Session], args: tuple[str, ...], says: str
) -> None:
    result = run(loa, *args)
    assert result.exit_code == 1
    assert says in result.stderr and result.stderr.count("\n") == 1
    with factory() as session:
        assert session.scalars(select(Pause)).all() == []


def test_retry_puts_failed_deliveries_back(loa: CliRunner, factory: sessionmaker[Session]) -> None:
    article_id = store_article(factory, extracted(4)).article_id
    ids = _plan(factory, article_id, ["@tin_tuc", "@extra"])
    for row_id in ids:
        ledger.mark_failed(factory, row_id, "chat not found")
    assert run(loa, "retry", "--chat", "@nobody").stdout == "no failed deliveries for @nobody\n"
    one = run(loa, "retry", "--chat", "@extra")
    assert one.stdout.startswith("1 failed deliveries back to pending;")
    rest = run(loa, "retry")
    assert rest.exit_code == 0 and rest.stdout.startswith("1 failed deliveries back to pending;")
    assert run(loa, "retry").stdout == "no failed deliveries\n"
    with factory() as session:
        states = {r.state for r in session.scalars(select(Delivery))}
    assert states == {DeliveryState.PENDING}


def test_find_prints_id_state_title_and_where_posted(
    loa: CliRunner, factory: sessionmaker[Session]
) -> None:
    article_id = store_article(factory, extracted(5, title="Hội nghị tuyên giáo")).article_id
    (row,) = _plan(factory, article_id, ["@tin_tuc"])
    ledger.mark_sent(factory, row, [3])
    gone = store_article(factory, extracted(6, title="Tuyên giáo đã gỡ")).article_id
    assert run(loa, "withdraw", str(gone)).exit_code == 0
    found = run(loa, "find", "tuyen", "giao")
    assert found.exit_code == 0, found.output
    lines = found.stdout.splitlines()
    assert any(
        str(article_id) in line and "new" in line and "@tin_tuc sent" in line for line in lines
    )
    assert any(str(gone) in line and "withdrawn" in line and "not posted" in line for line in lines)
    by_id = run(loa, "find", f"#{gone}")
    assert "withdrawn" in by_id.stdout
    none = run(loa, "find", "khong", "co", "gi")
    assert none.exit_code == 0 and none.stdout == "no article matches 'khong co gi'\n"
    assert run(loa, "find").exit_code == 2  # no words: a usage error


def _subprocess(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    drop = {"LOA_CONFIG", "TELEGRAM_BOT_TOKEN", "DATABASE_URL", "REDIS_URL"}
    full = {k: v for k, v in os.environ.items() if k not in drop} | env
    return subprocess.run(
        [sys.executable, "-m", "loa", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=full,
    )


def test_exit_codes_as_a_shell_sees_them(tmp_path: Path, config: Path) -> None:
    env = {"LOA_DATA_DIR": str(tmp_path / "var"), "LOA_CONFIG": str(config)}
    unmigrated = _subprocess("find", "tin", cwd=tmp_path, env=env)
    assert unmigrated.returncode == 2  # set-up problem: the message names the fix
    assert "loa db upgrade" in unmigrated.stderr
    assert _subprocess("db", "upgrade", cwd=tmp_path, env=env).returncode == 0
    refused = _subprocess("withdraw", "123", cwd=tmp_path, env=env)
    assert refused.returncode == 1 and refused.stderr == "loa: no article #123\n"


def test_post_stores_and_plans_an_article_from_a_watched_site(
    tmp_path: Path, database_url: str, factory: sessionmaker[Session]
) -> None:
    portal = DemoPortal(port=0, started_at=time.time(), interval_seconds=3600, initial_articles=3)
    portal.start()
    try:
        config = tmp_path / "post.yaml"
        config.write_text(
            f"sources:\n  - name: demo\n    url: {portal.url}\n    profile: cms-portal\n"
            "    respect_robots: false\nroutes:\n  - channel: '@tin_tuc'\n",
            encoding="utf-8",
        )
        runner = CliRunner(
            env={
                "DATABASE_URL": database_url,
                "LOA_DATA_DIR": str(tmp_path / "data"),
                "REDIS_URL": None,
                "TELEGRAM_BOT_TOKEN": None,
                "LOA_CONFIG": str(config),
            }
        )
        url = portal.url.rstrip("/") + portal.newest()[0].path
        posted = run(runner, "post", url)
        assert posted.exit_code == 0, posted.output
        assert "(new): 1 deliveries;" in posted.stdout
        with factory() as session:
            (row,) = session.scalars(select(Delivery)).all()
            assert row.chat_id == "@tin_tuc" and row.state is DeliveryState.PENDING
        pending = run(runner, "post", url)  # not sent yet: the same row, sent once
        assert pending.exit_code == 0 and "(unchanged): 1 deliveries;" in pending.stdout
        ledger.mark_sent(factory, row.id, [1])
        again = run(runner, "post", url)
        assert again.exit_code == 0 and "nothing new to post" in again.stdout
        refused = run(runner, "post", "http://127.0.0.2:9/tin-tuc/x-1.html")
        assert refused.exit_code == 1  # logged as a refusal, then said in one line
        assert refused.stderr.splitlines()[-1].startswith("loa: ")
        assert "127.0.0.2" in refused.stderr.splitlines()[-1]
        assert run(runner, "post", "ftp://x").exit_code == 1
    finally:
        portal.stop()
