"""`loa run` as a newcomer runs it: no config, no token, no services.

Starts the real supervisor in demo mode, waits for a demo article to reach
/feeds/all.rss and its message to reach the outbox, then stops it with SIGINT
(Ctrl-C) and checks that every process it started is gone, the bundled
redis-server included.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import feedparser
import psutil
import pytest
import requests

from tests.conftest import free_port

pytestmark = pytest.mark.e2e
FIRST_ARTICLE_DEADLINE = 90.0


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_demo_articles_flow_to_feed_and_outbox_then_ctrl_c_stops_everything(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "TELEGRAM_BOT_TOKEN", "LOA_CONFIG"}
    }
    env.update({"LOA_HTTP_PORT": str(port), "LOA_DATA_DIR": str(tmp_path / "var")})
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "loa", "run"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    started = time.monotonic()
    seen: list[psutil.Process] = []
    try:
        feed_titles: list[str] = []
        outbox_files: list[Path] = []
        while time.monotonic() - started < FIRST_ARTICLE_DEADLINE:
            assert proc.poll() is None, log_path.read_text(errors="replace")
            seen = list({p.pid: p for p in seen + _descendants(proc.pid)}.values())
            try:
                response = requests.get(f"http://127.0.0.1:{port}/feeds/all.rss", timeout=5)
                if response.status_code == 200:
                    parsed = feedparser.parse(response.content)
                    assert parsed.bozo == 0
                    feed_titles = [e.title for e in parsed.entries]
            except requests.ConnectionError:
                pass
            outbox = tmp_path / "var" / "outbox"
            outbox_files = sorted(outbox.glob("delivery-*.json")) if outbox.exists() else []
            if feed_titles and outbox_files:
                break
            time.sleep(1)
        assert feed_titles, "no demo article reached /feeds/all.rss in time"
        assert outbox_files, "no message reached the outbox in time"
        message = json.loads(outbox_files[0].read_text(encoding="utf-8"))
        assert message["method"] == "sendMessage"
        assert message["params"]["chat_id"] == "@loa_demo"
        assert any(title in message["params"]["text"] for title in feed_titles)
        # The operator's page opens with the password `loa run` generated (0600).
        password_file = tmp_path / "var" / "status-password"
        assert password_file.stat().st_mode & 0o777 == 0o600
        status_url = f"http://127.0.0.1:{port}/status"
        assert requests.get(status_url, timeout=5).status_code == 401
        password = password_file.read_text(encoding="ascii").strip()
        page = requests.get(status_url, auth=("loa", password), timeout=10)
        assert page.status_code == 200 and "demo" in page.text
        names = " ".join(" ".join(p.cmdline()) for p in seen if _alive(p))
        assert "redis-server" in names
        for role in ("worker", "beat", "serve"):
            assert f"loa {role}" in names, f"{role} not running: {names}"

        # A crashed child is reported and restarted.
        (server,) = [p for p in seen if _alive(p) and p.cmdline()[-1:] == ["serve"]]
        server.kill()
        deadline = time.monotonic() + 30
        restarted = False
        while time.monotonic() < deadline and not restarted:
            time.sleep(0.5)
            seen = list({p.pid: p for p in seen + _descendants(proc.pid)}.values())
            try:
                ok = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok
            except requests.ConnectionError:
                ok = False
            restarted = ok and any(
                _alive(p) and p.cmdline()[-1:] == ["serve"] and p.pid != server.pid for p in seen
            )
        assert restarted, "the killed HTTP server was not restarted"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    output = log_path.read_text(errors="replace")
    assert code == 0, output
    assert "/feeds/all.rss" in output  # the URLs to open were printed
    assert f"/status  (user loa, password in {password_file}" in output
    assert password not in output
    assert "serve exited with code -9; restarting" in output
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in seen) and time.monotonic() < deadline:
        time.sleep(0.2)
    leftovers = [" ".join(p.cmdline()) for p in seen if _alive(p)]
    assert leftovers == [], leftovers
    assert not (tmp_path / "var" / "redis" / "redis.pid").exists()
    # everything Loa writes lives under the data directory, logs included
    log_file = tmp_path / "var" / "logs" / "loa.log"
    assert "polled demo" in log_file.read_text(encoding="utf-8")
    assert (tmp_path / "var" / "loa.db").exists()


def test_offline_demo_posts_to_the_bundled_emulator_and_runs_the_bot(tmp_path: Path) -> None:
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "TELEGRAM_BOT_TOKEN", "LOA_CONFIG"}
    }
    env.update({"LOA_HTTP_PORT": str(port), "LOA_DATA_DIR": str(tmp_path / "var")})
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "loa", "run", "--emulator"],
            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        messages: list[dict[str, object]] = []
        deadline = time.monotonic() + FIRST_ARTICLE_DEADLINE
        while time.monotonic() < deadline and not messages:
            assert proc.poll() is None, log_path.read_text(errors="replace")
            time.sleep(1)
            found = re.search(r"http://127\.0\.0\.1:\d+/_emulator/messages", log_path.read_text())
            if found:
                messages = requests.get(found.group(0), timeout=5).json()["result"]
        assert messages, "no message reached the emulator in time"
        assert any(str(m.get("text", "")).strip() for m in messages)
        names = " ".join(" ".join(p.cmdline()) for p in _descendants(proc.pid) if _alive(p))
        assert "loa bot" in names  # with a token (the emulator's), the bot runs too
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=40)
    assert code == 0, log_path.read_text(errors="replace")
