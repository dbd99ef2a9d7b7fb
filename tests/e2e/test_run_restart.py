"""`loa run` stopped and started again on the same data directory posts nothing twice.

The newcomer's path: `make run` with `.env.example`'s empty `TELEGRAM_BOT_TOKEN=`
(the dry-run outbox), Ctrl-C, `make run` again. The demo portal comes back on
the same port with the same articles, so every (article, chat) pair reaches the
outbox exactly once across both runs. Also: a busy HTTP port is refused before
anything starts.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.e2e
DEADLINE = 90.0
#: a demo portal article, or the demo newspaper's copy of one (loa.demo_portal)
ARTICLE_ID = re.compile(r"/(?:tin-tuc|bao/tin)/[a-z0-9-]*-(\d+)\.html")


def _env(tmp_path: Path, port: int) -> dict[str, str]:
    drop = {"DATABASE_URL", "REDIS_URL", "TELEGRAM_BOT_TOKEN", "LOA_CONFIG"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        {
            "LOA_HTTP_PORT": str(port),
            "LOA_DATA_DIR": str(tmp_path / "var"),
            "TELEGRAM_BOT_TOKEN": "",  # as .env.example ships it: means "no token"
        }
    )
    return env


def _posted(outbox: Path) -> Counter[tuple[str, str]]:
    """(chat, demo article id) of every post in the outbox (edits, such as "Also on", aside)."""
    pairs: Counter[tuple[str, str]] = Counter()
    for path in outbox.glob("delivery-*.json"):
        request = json.loads(path.read_text(encoding="utf-8"))
        if request["method"].startswith("edit"):
            continue
        params = request["params"]
        found = ARTICLE_ID.search(json.dumps(params, ensure_ascii=False))
        assert found, params
        pairs[(str(params["chat_id"]), found.group(1))] += 1
    return pairs


def _polls(tmp_path: Path) -> int:
    """Completed polls of the demo source, as the database counts them."""
    with sqlite3.connect(tmp_path / "var" / "loa.db", timeout=10) as db:
        row = db.execute(
            "SELECT polls FROM source_states JOIN sources ON sources.id = source_states.source_id"
            " WHERE sources.name = 'demo'"
        ).fetchone()
    return int(row[0]) if row else 0


def _run_until(tmp_path: Path, port: int, log: Path, done: object) -> str:
    """Start `loa run`, wait until `done()` is true, stop with Ctrl-C; return its output."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "loa", "run"],
            cwd=tmp_path, env=_env(tmp_path, port), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline and not done():  # type: ignore[operator]
            assert proc.poll() is None, log.read_text(errors="replace")
            time.sleep(1)
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=40)
    output = log.read_text(errors="replace")
    assert code == 0, output
    return output


def test_restart_on_the_same_data_dir_posts_nothing_twice(tmp_path: Path) -> None:
    port = free_port()
    outbox = tmp_path / "var" / "outbox"

    def first_posts() -> bool:
        return outbox.exists() and len(_posted(outbox)) >= 3

    first = _run_until(tmp_path, port, tmp_path / "run1.log", first_posts)
    before = _posted(outbox)
    assert before and max(before.values()) == 1, before
    portal = re.search(r"demo portal (http://127\.0\.0\.1:\d+)", first)
    assert portal, first
    assert "started bot" not in first  # an empty token is no token: no bot crash-looping

    polls_before = _polls(tmp_path)

    def polled_twice_more() -> bool:
        return _polls(tmp_path) >= polls_before + 2

    second = _run_until(tmp_path, port, tmp_path / "run2.log", polled_twice_more)
    assert portal.group(1) in second  # the same portal address as before
    after = _posted(outbox)
    duplicated = {pair: n for pair, n in after.items() if n > 1}
    assert duplicated == {}, duplicated
    assert set(before) <= set(after)
    assert "exited with code" not in first + second  # no child crash-looped


def test_busy_http_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "loa", "run"],
            cwd=tmp_path, env=_env(tmp_path, port), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Loa is running" not in done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert str(port) in lines[0] and "LOA_HTTP_PORT" in lines[0]
    assert not (tmp_path / "var" / "redis" / "redis.pid").exists()  # nothing was started


def test_children_stop_when_loa_run_is_killed_with_sigkill(tmp_path: Path) -> None:
    """`kill -9` of `loa run` leaves no worker, beat or server behind to hold the port."""
    import psutil

    port = free_port()
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "loa", "run"],
            cwd=tmp_path, env=_env(tmp_path, port), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + DEADLINE
        children: list[psutil.Process] = []
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text(errors="replace")
            children = [
                c
                for c in psutil.Process(proc.pid).children()
                if "loa" in " ".join(c.cmdline()) and c.name() != "redis-server"
            ]
            if len(children) >= 3 and b"Loa is running" in log.read_bytes():
                break
            time.sleep(0.5)
        assert len(children) >= 3, log.read_text(errors="replace")
        proc.kill()
        proc.wait(timeout=10)
        gone, alive = psutil.wait_procs(children, timeout=30)
        assert alive == [], [p.cmdline() for p in alive]
    finally:
        if proc.poll() is None:
            proc.kill()
        for child in children:  # a failed run leaves no orphans behind either
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        # The bundled redis-server is not a `loa` process: the next `loa run` would
        # stop it through its pidfile; this test stops it the same way.
        pidfile = tmp_path / "var" / "redis" / "redis.pid"
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
            except (ValueError, ProcessLookupError, PermissionError):
                pass
    with socket.socket() as probe:  # the HTTP server let go of the port
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
