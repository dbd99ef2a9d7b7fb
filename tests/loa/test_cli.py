"""The `loa` CLI as a user runs it: real subprocesses, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from news.migrate import head_revision

FIXTURE = Path(__file__).resolve().parents[1] / "news" / "fixtures" / "portal-article.html"


def loa(
    *args: str, cwd: Path, drop: set[str] | frozenset[str] = frozenset()
) -> subprocess.CompletedProcess[str]:
    # Never touch the developer's or CI's real database: SQLite under cwd/var.
    drop = {"LOA_CONFIG", "TELEGRAM_BOT_TOKEN", "DATABASE_URL", *drop}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["LOA_DATA_DIR"] = str(cwd / "var")
    return subprocess.run(
        [sys.executable, "-m", "loa", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )


def test_extract_prints_one_json_object(tmp_path: Path) -> None:
    result = loa(
        "extract",
        str(FIXTURE),
        "--json",
        "--now",
        "2023-06-01T00:00:00+07:00",
        "--url",
        "https://dangbokhoi.example.vn/tin-tuc/bai-1388.html",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    article = json.loads(result.stdout)
    assert article["category"] == "Công tác tuyên giáo"
    assert article["category_slug"] == "cong-tac-tuyen-giao"
    assert article["published_at"] == "2023-03-13T16:56:00+07:00"
    assert article["date_inferred"] is True
    assert article["url"] == "https://dangbokhoi.example.vn/tin-tuc/bai-1388.html"
    # the page's <link rel=canonical> wins, with its utm_* parameters stripped
    assert article["canonical_url"] == (
        "https://portal.example.vn/tin-tuc/thu-nhuan-tu-tuong-hanh-dong-quyet-liet-4567.html"
    )


def test_extract_rejects_junk_and_missing_files_with_exit_2(tmp_path: Path) -> None:
    junk = tmp_path / "junk.html"
    junk.write_bytes(b"\x00\xff\xfe not a page")
    bad = loa("extract", str(junk), "--json", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.startswith("loa: ")
    missing = loa("extract", str(tmp_path / "nope.html"), cwd=tmp_path)
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr
    bad_now = loa("extract", str(FIXTURE), "--now", "yesterday", cwd=tmp_path)
    assert bad_now.returncode == 2 and "--now" in bad_now.stderr


def test_db_upgrade_then_poll_unknown_source(tmp_path: Path) -> None:
    upgraded = loa("db", "upgrade", cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"database at revision {head_revision()}" in upgraded.stdout
    assert (tmp_path / "var" / "loa.db").exists()
    status = loa("status", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "possible duplicates: 0" in status.stdout
    unknown = loa("poll", "nosuch", cwd=tmp_path)
    assert unknown.returncode == 2  # a config mistake: exit 2 with one line
    assert "no source named 'nosuch'" in unknown.stderr


def test_routes_and_preview(tmp_path: Path) -> None:
    config = tmp_path / "loa.yaml"
    config.write_text(
        "channels:\n"
        "  - {chat: '@tuyen_giao', language: en, send_mode: photo}\n"
        "routes:\n"
        "  - {channel: '@tuyen_giao', categories: ['Công tác tuyên giáo'], exclude: [quang cao]}\n",
        encoding="utf-8",
    )
    shown = loa("--config", str(config), "routes", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "@tuyen_giao" in shown.stdout and "quang cao" in shown.stdout
    preview = loa(
        "--config", str(config), "preview", str(FIXTURE), "--chat", "@tuyen_giao", cwd=tmp_path
    )
    assert preview.returncode == 0, preview.stderr
    request = json.loads(preview.stdout)
    assert request["method"] == "sendPhoto"  # the chat's photo mode
    assert "Read more" in json.dumps(request, ensure_ascii=False)
    assert "Lê Văn Dũng" in request["params"]["caption"]


def test_one_shot_commands_see_the_demo_that_loa_run_serves(tmp_path: Path) -> None:
    """`loa routes` / `loa check-source demo` resolve what `loa run` runs in the same data dir."""
    from loa.demo_portal import DemoPortal

    portal = DemoPortal.resume(tmp_path / "var" / "demo-portal.json")
    portal.start()
    try:
        routes = loa("routes", cwd=tmp_path)
        assert routes.returncode == 0, routes.stderr
        assert "@loa_demo" in routes.stdout and "no routes" not in routes.stdout
        checked = loa("check-source", "demo", "--sample", "1", cwd=tmp_path)
        assert "no source named" not in checked.stderr
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "demo: listing" in checked.stdout and "3 article links" in checked.stdout
    finally:
        portal.stop()


def _one_clean_line(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("loa: ")
    return lines[0]


def test_worker_and_beat_without_redis_say_what_to_do(tmp_path: Path) -> None:
    assert loa("db", "upgrade", cwd=tmp_path).returncode == 0
    for command in ("worker", "beat"):
        done = loa(command, cwd=tmp_path, drop={"REDIS_URL"})
        assert done.returncode == 2, done.stderr
        line = _one_clean_line(done)
        assert "REDIS_URL" in line and "loa run" in line


def test_commands_on_a_fresh_data_dir_point_to_db_upgrade(tmp_path: Path) -> None:
    for args in (("poll",), ("status",), ("serve", "--port", "0")):
        done = loa(*args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        assert "loa db upgrade" in _one_clean_line(done)


def test_global_options_after_the_command_and_bad_log_level(tmp_path: Path) -> None:
    assert loa("db", "upgrade", cwd=tmp_path).returncode == 0
    after = loa("status", "--log-json", "--log-level", "warning", cwd=tmp_path)
    assert after.returncode == 0, after.stderr
    assert "possible duplicates: 0" in after.stdout
    bogus = loa("status", "--log-level", "BOGUS", cwd=tmp_path)
    assert bogus.returncode == 2
    assert "BOGUS" in bogus.stderr and "Traceback" not in bogus.stderr


def test_help_shows_flags_without_a_value_type(tmp_path: Path) -> None:
    done = loa("run", "--help", cwd=tmp_path)
    assert done.returncode == 0
    assert "--emulator" in done.stdout
    assert "<bool>" not in done.stdout


def test_loa_serve_refuses_an_oversized_request_head(tmp_path: Path) -> None:
    """`loa serve` runs with the feed server's head limits (not uvicorn's defaults)."""
    import socket
    import time

    from tests.conftest import free_port

    assert loa("db", "upgrade", cwd=tmp_path).returncode == 0
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"LOA_CONFIG", "DATABASE_URL"}}
    env["LOA_DATA_DIR"] = str(tmp_path / "var")
    server = subprocess.Popen(
        [sys.executable, "-m", "loa", "serve", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.2)
        with conn:
            head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n"
            try:
                conn.sendall(head)
            except OSError:
                pass  # the server may close before reading it all
            status_line = conn.recv(64).split(b"\r\n", 1)[0]
        assert status_line.startswith(b"HTTP/1.1 431"), status_line
    finally:
        server.terminate()
        server.wait(10)
