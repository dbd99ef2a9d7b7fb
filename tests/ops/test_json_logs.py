"""`--log-json` on a real worker: every line is one JSON object naming what it is about.

A worker process polls a portal (the test site server) and publishes what it
found to a channel of the Bot API emulator; every line it writes, on the
console and in its log file, parses as JSON, the poll's lines carry the
source, each delivery's lines its delivery, article and chat, and the token
is nowhere.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.loader import load_settings
from loa.embedded_redis import EmbeddedRedis
from news.models import Delivery, DeliveryState
from tasks.app import create_celery_app
from telegram_emulator import Emulator
from tests.sites.slug_portal import SlugPortal
from tests.workers import stop_worker, wait_for, worker_env

pytestmark = pytest.mark.e2e
TOKEN = "556677:" + "J" * 35


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[str]:
    """A Redis of this test's own: on a shared server other tests' workers take db 0's tasks."""
    server = EmbeddedRedis(tmp_path)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def _lines(text: str) -> list[dict[str, Any]]:
    """Every non-empty line as JSON (a line that is not JSON fails the test here)."""
    out = []
    for line in text.splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                raise AssertionError(f"not a JSON line: {line!r}") from None
    return out


def test_a_worker_logs_json_lines_with_the_ids_they_are_about(
    factory: sessionmaker[Session],
    database_url: str,
    private_redis: str,
    tmp_path: Path,
    telegram_emulator: Emulator,
    slug_portal: SlugPortal,
) -> None:
    channel = telegram_emulator.create_chat("channel", username="kenh_json")
    config = tmp_path / "loa.yaml"
    config.write_text(
        "sources:\n"
        f"  - {{name: slug, url: '{slug_portal.listing_url}', profile: news-modern,"
        " announce_first_poll: 3, respect_robots: false}\n"
        "channels:\n  - chat: '@kenh_json'\nroutes:\n  - channel: '@kenh_json'\n",
        encoding="utf-8",
    )
    data = tmp_path / "data"
    env = worker_env(
        database_url, private_redis, data, LOA_CONFIG=str(config), TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=telegram_emulator.base_url,
    )  # fmt: skip
    app = create_celery_app(load_settings(config, environ=env))
    app.control.purge()
    console = tmp_path / "worker.out"
    with console.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "loa", "--log-json", "worker", "--concurrency", "1"],
            env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def sent() -> list[Delivery]:
        with factory() as session:
            query = select(Delivery).where(Delivery.state == DeliveryState.SENT)
            return list(session.scalars(query))

    try:
        app.send_task("loa.poll_source", args=("slug",))
        wait_for(lambda: len(sent()) == 3, timeout=90, what="3 posts")
    finally:
        stop_worker(worker)
    assert len(telegram_emulator.sent(channel["id"])) == 3

    printed = console.read_text(encoding="utf-8")
    filed = (data / "logs" / "loa.log").read_text(encoding="utf-8")
    lines = _lines(printed)
    assert _lines(filed) and len(lines) >= 4
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line)
    everything = (
        printed
        + filed
        + "".join(
            p.read_text(errors="replace")
            for p in data.rglob("*")
            if p.is_file() and "redis" not in p.parts
        )
    )
    assert TOKEN not in everything and TOKEN.split(":")[1] not in everything

    polled = [line for line in lines if line["message"].startswith("polled slug")]
    assert polled and all(line["source"] == "slug" for line in polled)
    for delivery in sent():
        about = [line for line in lines if line.get("delivery_id") == delivery.id]
        assert any(line["message"] == f"delivery {delivery.id}: sent" for line in about), about
        for line in about:  # every line about this delivery names its article and chat
            assert line["article_id"] == delivery.article_id
            assert line["chat_id"] == delivery.chat_id == "@kenh_json"


def test_each_thread_logs_its_own_context() -> None:
    import io
    import logging
    import threading

    from loa.logs import setup_logging
    from news.log_context import bind, log_context

    stream = io.StringIO()
    handler = setup_logging(json_lines=True, stream=stream, secrets=[TOKEN])
    try:
        log = logging.getLogger("loa.test")

        def work(n: int) -> None:
            with log_context(source=f"s{n}"):
                bind(article_id=n, chat_id=f"@c{n}")
                log.info("about %d via %s", n, TOKEN)
            log.info("after %d", n)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        logging.getLogger().removeHandler(handler)
    lines = _lines(stream.getvalue())
    for n in range(4):
        (about,) = [line for line in lines if line["message"].startswith(f"about {n} ")]
        assert (about["source"], about["article_id"], about["chat_id"]) == (f"s{n}", n, f"@c{n}")
        assert about["message"] == f"about {n} via [REDACTED]"
        (after,) = [line for line in lines if line["message"] == f"after {n}"]
        assert "source" not in after and "article_id" not in after
