"""The bot token never reaches any output, whatever the Bot API answers.

`loa run` starts with a known fake token against a local server that answers
401, 404 and 502 in turn (and echoes the request path, token included, in its
error descriptions, as a proxy might). Everything Loa writes is then searched
for the token: the console, the log files, file names under the data
directory, the database and the HTTP pages. Polling and feeds must carry on
meanwhile: nothing in them depends on Telegram.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from tests.conftest import free_port

pytestmark = pytest.mark.e2e
TOKEN = "123456:AAFakeTokenThatMustNeverBePrinted_x9"
SECRET_PART = TOKEN.split(":", 1)[1]
STATUS_PASSWORD = "mat-khau-trang-thai"
PAGES = ("/", "/feeds/all.rss", "/feeds/all.json", "/healthz", "/readyz", "/metrics",
         "/status", "/feeds/khong-co.rss", "/api/status", "/api/openapi.json")  # fmt: skip


class _UnhappyBotApi(ThreadingHTTPServer):
    daemon_threads = True
    hits = 0


class _Handler(BaseHTTPRequestHandler):
    server: _UnhappyBotApi

    def _answer(self) -> None:
        self.server.hits += 1
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        status = (401, 404, 502)[self.server.hits % 3]
        if status == 502:
            body = f"<html>502 Bad Gateway for {self.path}</html>".encode()
            kind = "text/html"
        else:
            description = "Unauthorized" if status == 401 else f"Not Found: {self.path}"
            body = json.dumps(
                {"ok": False, "error_code": status, "description": description}
            ).encode()
            kind = "application/json"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def unhappy_api() -> Iterator[_UnhappyBotApi]:
    server = _UnhappyBotApi(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_token_is_never_printed_and_polling_goes_on(
    tmp_path: Path, unhappy_api: _UnhappyBotApi
) -> None:
    port = free_port()
    drop = {"DATABASE_URL", "REDIS_URL", "LOA_CONFIG"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        {
            "LOA_HTTP_PORT": str(port),
            "LOA_DATA_DIR": str(tmp_path / "var"),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{unhappy_api.server_address[1]}/bot",
            "LOA_STATUS_USERNAME": "ops",
            "LOA_STATUS_PASSWORD": STATUS_PASSWORD,
        }
    )
    console = tmp_path / "console.log"
    with console.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "loa", "run"],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    pages: list[str] = []
    try:
        deadline = time.monotonic() + 90
        feed_ok = False
        while time.monotonic() < deadline and not (feed_ok and unhappy_api.hits >= 9):
            assert proc.poll() is None, console.read_text(errors="replace")
            time.sleep(1)
            try:
                feed = requests.get(f"http://127.0.0.1:{port}/feeds/all.rss", timeout=5)
                feed_ok = feed.status_code == 200 and b"<item>" in feed.content
            except requests.ConnectionError:
                continue
        assert feed_ok, "polling and feeds stopped while Telegram was unhappy"
        assert unhappy_api.hits >= 9, "Loa never asked the Bot API"
        for path in PAGES:  # the operator's pages and error answers too
            pages.append(requests.get(f"http://127.0.0.1:{port}{path}", timeout=5).text)
        status = requests.get(
            f"http://127.0.0.1:{port}/status", auth=("ops", STATUS_PASSWORD), timeout=10
        )
        assert status.status_code == 200, status.status_code
        pages.append(status.text)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=40)
    output = console.read_text(errors="replace")
    assert "beat exited" not in output  # beat no longer depends on Telegram
    status = subprocess.run(
        [sys.executable, "-m", "loa", "status"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    everything = [output, status.stdout, status.stderr, *pages]
    data_dir = tmp_path / "var"
    for path in data_dir.rglob("*"):
        everything.append(str(path.relative_to(data_dir)))
        if path.is_file() and not path.is_socket():  # every file: logs, metrics, the database
            everything.append(path.read_bytes().decode("latin-1"))
    with sqlite3.connect(data_dir / "loa.db") as db:
        everything.extend(db.iterdump())
        # Nothing is lost to a refused token or a 502: deliveries wait, channels stay usable.
        states = {row[0] for row in db.execute("SELECT state FROM deliveries")}
        channel_states = {row[0] for row in db.execute("SELECT status FROM channels")}
    assert states and "failed" not in states and "sent" not in states, states
    assert "failed" not in channel_states, channel_states
    leaks = [text for text in everything if SECRET_PART in text]
    assert leaks == [], leaks[0][:2000]
    assert "[REDACTED]" in output or "rejected the bot token" in output
